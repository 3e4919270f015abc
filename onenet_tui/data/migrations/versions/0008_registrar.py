"""the registrar's view of desk phone credentials (SPEC section 13, R24)

Revision ID: 0008_registrar
Revises: 0007_site_admins
Create Date: 2026-12-01 16:00:00

Kamailio's auth_db reads ``registrar_subscriber`` (PostgreSQL; SQLite has no
registrar and gets only the column, always empty). It is always what the
console last committed, so a new password works, and the old one stops
working, the moment the console's transaction commits (R9, R24). Users who
may not register are absent: failed users (R3), users without a desk phone,
deleted users (their credentials go with them). A pending user registers but
is not reachable: the status column lets the registrar route by it.

Who may register is decided once, by ``onenet_registrar_status()``, and kept
on the credentials row itself (``registrar_status``) by triggers in the same
transaction as every change of a credential or of a user's status or device
type. The view then reads one table by its unique index on the SIP username,
exactly as Kamailio reads its own ``subscriber`` table: a join in the view
made every REGISTER's lookup about twice as dear (its planning time), which
benchmarks/registrar.py showed as a registrar 25-35 % slower.

The view runs with its owner's rights, so the registrar's role needs SELECT
on it alone, never on ``users`` (emails and all) or the credentials table.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_registrar"
down_revision = "0007_site_admins"
branch_labels = None
depends_on = None

VIEW = "registrar_subscriber"

_STATUS_FUNCTION = """
CREATE FUNCTION onenet_registrar_status(status text, device_type text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    -- R24: desk phone users who are pending or activated may register; nobody else.
    SELECT CASE WHEN device_type = 'desk_phone' AND status IN ('pending', 'activated') THEN status END
$$
"""

# On a new row (and, never done, a row moved to another user) only: a new
# password leaves the status as it was, so a bulk reset pays nothing for it.
_CREDENTIAL_TRIGGER = """
CREATE FUNCTION onenet_credentials_registrar_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    SELECT onenet_registrar_status(u.status, u.device_type) INTO NEW.registrar_status
      FROM users AS u WHERE u.id = NEW.user_id;
    RETURN NEW;
END
$$;
CREATE TRIGGER credentials_registrar_status
    BEFORE INSERT OR UPDATE OF user_id ON desk_phone_credentials
    FOR EACH ROW EXECUTE FUNCTION onenet_credentials_registrar_status();
"""

_USER_TRIGGER = """
CREATE FUNCTION onenet_users_registrar_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE desk_phone_credentials
       SET registrar_status = onenet_registrar_status(NEW.status, NEW.device_type)
     WHERE user_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_registrar_status
    AFTER UPDATE OF status, device_type ON users
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.device_type IS DISTINCT FROM NEW.device_type)
    EXECUTE FUNCTION onenet_users_registrar_status();
"""

_VIEW = f"""
CREATE VIEW {VIEW} AS
SELECT sip_username AS username,
       realm AS domain,
       ha1_md5 AS ha1,
       ha1_sha256,
       registrar_status AS status
  FROM desk_phone_credentials
 WHERE registrar_status IS NOT NULL
"""


def upgrade() -> None:
    with op.batch_alter_table("desk_phone_credentials") as batch_op:
        batch_op.add_column(sa.Column("registrar_status", sa.String(), nullable=True))
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_STATUS_FUNCTION)
    op.execute(_CREDENTIAL_TRIGGER)
    op.execute(_USER_TRIGGER)
    op.execute(
        "UPDATE desk_phone_credentials AS c SET registrar_status = onenet_registrar_status(u.status, u.device_type)"
        " FROM users AS u WHERE u.id = c.user_id"
    )
    op.execute(_VIEW)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP VIEW IF EXISTS {VIEW}")
        op.execute("DROP TRIGGER IF EXISTS users_registrar_status ON users")
        op.execute("DROP TRIGGER IF EXISTS credentials_registrar_status ON desk_phone_credentials")
        op.execute("DROP FUNCTION IF EXISTS onenet_users_registrar_status()")
        op.execute("DROP FUNCTION IF EXISTS onenet_credentials_registrar_status()")
        op.execute("DROP FUNCTION IF EXISTS onenet_registrar_status(text, text)")
    with op.batch_alter_table("desk_phone_credentials") as batch_op:
        batch_op.drop_column("registrar_status")
