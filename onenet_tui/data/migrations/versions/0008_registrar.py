"""the registrar's view of desk phone credentials (SPEC section 13, R24)

Revision ID: 0008_registrar
Revises: 0005_group_names_per_site
Create Date: 2026-12-01 16:00:00

Kamailio's auth_db reads ``registrar_subscriber`` (PostgreSQL only: SQLite
has no registrar). A view, not a copy: it is always what the console last
committed, so a new password works, and the old one stops working, the
moment the console's transaction commits (R9, R24). Users who may not
register are absent from it: failed users (R3), users without a desk phone,
deleted users (their credentials go with them). A pending user registers but
is not reachable: the status column lets the registrar route by it.

The view runs with its owner's rights, so the registrar's role needs SELECT
on it alone, never on ``users`` (emails and all). The lookup
``WHERE username = $1 AND domain = $2`` uses the unique index on
``desk_phone_credentials.sip_username``.
"""

from alembic import op

revision = "0008_registrar"
down_revision = "0005_group_names_per_site"
branch_labels = None
depends_on = None

VIEW = "registrar_subscriber"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE VIEW {VIEW} AS
        SELECT c.sip_username AS username,
               c.realm AS domain,
               c.ha1_md5 AS ha1,
               c.ha1_sha256 AS ha1_sha256,
               u.status AS status
          FROM desk_phone_credentials AS c
          JOIN users AS u ON u.id = c.user_id
         WHERE u.device_type = 'desk_phone'
           AND u.status IN ('pending', 'activated')
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP VIEW IF EXISTS {VIEW}")
