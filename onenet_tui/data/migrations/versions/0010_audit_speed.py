"""audit events about several sites (SPEC R25); free words of the audit log indexed (R26)

Revision ID: 0010_audit_speed
Revises: 0009_handed_over
Create Date: 2026-12-01 19:30:00

``audit_event_sites``: an event about users of several sites (a bulk reset
over Berlin and Hamburg) has no ``site_id``, so only enterprise
administrators saw it; it now lists its sites, and a site administrator
of all of them sees it (R25). Backfill, best effort as in 0006: the sites
of the users such an event is about (``audit_event_users``) as they are
today; when that is one site it becomes the event's ``site_id``. Users
deleted before this migration count for no site.

Free words (``porting``, a name) were found by reading every event's text;
a word in none read the million events of a large trail (2 s). Now a
trigram index answers any part of a word of three characters or more
(onenet_tui/data/audit_words.py): on SQLite the FTS5 table ``audit_words``
over operator, action, target and details, its text kept in
``audit_events`` (external content), which events hold each
three-character piece but not where (detail=none: about 100 MB for a
million events), filled by triggers and here for the events there are
(20-40 s for a million); on
PostgreSQL a GIN index with ``pg_trgm`` on the same text, if the extension
is there or may be installed in ``public`` (else the audit log reads as
before).
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_audit_speed"
down_revision = "0009_handed_over"
branch_labels = None
depends_on = None

_WORDS = "audit_words"
_PG_INDEX = "ix_audit_events_words"
# As audit_words.searchable() writes it: the planner matches the expression.
_PG_TEXT = "lower(operator || ' ' || action || ' ' || target || ' ' || CAST(details AS TEXT))"
_COLUMNS = "operator, action, target, details"
_SINGLE = "SELECT event_id FROM audit_event_sites GROUP BY event_id HAVING COUNT(*) = 1"


def upgrade() -> None:
    op.create_table(
        "audit_event_sites",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["audit_events.id"]),
        sa.PrimaryKeyConstraint("event_id", "site_id"),
    )
    op.create_index("ix_audit_event_sites_site_id_event_id", "audit_event_sites", ["site_id", "event_id"], unique=False)
    op.execute(
        "INSERT INTO audit_event_sites (event_id, site_id)"
        " SELECT DISTINCT about.event_id, users.site_id FROM audit_event_users AS about"
        " JOIN users ON users.id = about.user_id"
        " JOIN audit_events ON audit_events.id = about.event_id"
        " WHERE audit_events.site_id IS NULL AND users.site_id IS NOT NULL"
    )
    op.execute(
        "UPDATE audit_events SET site_id ="
        " (SELECT MIN(site_id) FROM audit_event_sites WHERE audit_event_sites.event_id = audit_events.id)"
        f" WHERE site_id IS NULL AND id IN ({_SINGLE})"
    )
    op.execute(f"DELETE FROM audit_event_sites WHERE event_id IN ({_SINGLE})")
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_words()
    elif op.get_bind().dialect.name == "postgresql":
        _postgresql_words()


def _sqlite_words() -> None:
    if not _has_fts5_trigram():
        return  # the audit log reads for free words, as before
    op.execute(
        f"CREATE VIRTUAL TABLE {_WORDS} USING fts5({_COLUMNS},"
        " content='audit_events', content_rowid='id', tokenize='trigram', detail='none')"
    )
    new = ", ".join(f"new.{c}" for c in _COLUMNS.split(", "))
    old = ", ".join(f"old.{c}" for c in _COLUMNS.split(", "))
    op.execute(
        f"CREATE TRIGGER {_WORDS}_insert AFTER INSERT ON audit_events BEGIN"
        f" INSERT INTO {_WORDS} (rowid, {_COLUMNS}) VALUES (new.id, {new}); END"
    )
    # Events are never changed or removed; should one be, its words go with it.
    op.execute(
        f"CREATE TRIGGER {_WORDS}_delete AFTER DELETE ON audit_events BEGIN"
        f" INSERT INTO {_WORDS} ({_WORDS}, rowid, {_COLUMNS}) VALUES ('delete', old.id, {old}); END"
    )
    op.execute(
        f"CREATE TRIGGER {_WORDS}_update AFTER UPDATE OF {_COLUMNS} ON audit_events BEGIN"
        f" INSERT INTO {_WORDS} ({_WORDS}, rowid, {_COLUMNS}) VALUES ('delete', old.id, {old});"
        f" INSERT INTO {_WORDS} (rowid, {_COLUMNS}) VALUES (new.id, {new}); END"
    )
    op.execute(f"INSERT INTO {_WORDS} ({_WORDS}) VALUES ('rebuild')")


def _has_fts5_trigram() -> bool:
    """Whether this SQLite has FTS5 and its trigram tokenizer (3.34 on)."""
    bind = op.get_bind()
    version = tuple(int(part) for part in str(bind.exec_driver_sql("SELECT sqlite_version()").scalar()).split("."))
    fts5 = bind.exec_driver_sql("SELECT sqlite_compileoption_used('ENABLE_FTS5')").scalar()
    return version >= (3, 34, 0) and fts5 == 1


_TRGM_SCHEMA = (
    "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
)


def _postgresql_words() -> None:
    """The trigram index where pg_trgm is installed or this role may
    install it; in a savepoint, so that a refusal leaves the rest done.
    Installed in ``public``, not the console's schema: the extension is one
    per database, and a schema dropped with it would take along the index of
    every other schema's audit log (the tests' schemas, say)."""
    bind = op.get_bind()
    attempt = bind.begin_nested()
    try:
        schema = bind.exec_driver_sql(_TRGM_SCHEMA).scalar_one_or_none()
        if schema is None:
            bind.exec_driver_sql("CREATE EXTENSION pg_trgm SCHEMA public")
            schema = "public"
        quoted = bind.dialect.identifier_preparer.quote_schema(schema)
        bind.exec_driver_sql(f"CREATE INDEX {_PG_INDEX} ON audit_events USING gin (({_PG_TEXT}) {quoted}.gin_trgm_ops)")
    except sa.exc.DBAPIError:
        attempt.rollback()
    else:
        attempt.commit()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {_WORDS}_{trigger}")
        op.execute(f"DROP TABLE IF EXISTS {_WORDS}")
    elif op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {_PG_INDEX}")
    # Events of one site keep the site_id found for them: it is true.
    op.drop_index("ix_audit_event_sites_site_id_event_id", table_name="audit_event_sites")
    op.drop_table("audit_event_sites")
