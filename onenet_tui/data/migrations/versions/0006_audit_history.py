"""audit events name the user and the site they are about (SPEC R26, R25)

Revision ID: 0006_audit_history
Revises: 0005_group_names_per_site
Create Date: 2026-12-01 16:00:00

A user's history and a site administrator's audit log are read by column,
not by searching a million events' JSON: ``user_id`` (the user the event is
about) and ``site_id`` (the site of the change), both nullable and without
foreign keys (a deleted user's history stays). Each filter of the audit log
gets an index ending in the id, the order pages are read in (keyset), and
``target`` one for finding a deleted user's id by name; the single-column
indexes on operator and action are replaced by those. A change of many users
at once (a bulk reset, a group's members saved or the group deleted) stays
one event; ``audit_event_users`` names its users, for their histories.

Backfill, best effort: ``user_id`` from the details where they carry an
integer ``user_id`` (every user event since the baseline does); ``site_id``
from the details' ``site_id`` (site and number events), else from the
group's site (``group_id``), else from the user's site today. Events of
users and groups deleted before this migration keep no site; a user's
history still finds them by ``user_id``. Bulk resets get their users from
the details' ``user_ids``; earlier group saves named users only by name and
are left out of the users' histories (the audit log still lists them).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_audit_history"
down_revision = "0005_group_names_per_site"
branch_labels = None
depends_on = None

_NEW_INDEXES = {
    "ix_audit_events_operator_id": ["operator", "id"],
    "ix_audit_events_action_id": ["action", "id"],
    "ix_audit_events_user_id_id": ["user_id", "id"],
    "ix_audit_events_site_id_id": ["site_id", "id"],
    "ix_audit_events_target": ["target"],
}


def _details_int(key: str) -> tuple[str, str]:
    """The SQL for an integer in the details, and the condition that it is one."""
    if op.get_bind().dialect.name == "sqlite":
        return f"json_extract(details, '$.{key}')", f"json_type(details, '$.{key}') = 'integer'"
    return f"CAST(details->>'{key}' AS INTEGER)", f"json_typeof(details->'{key}') = 'number'"


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("user_id", sa.Integer(), nullable=True))
    op.add_column("audit_events", sa.Column("site_id", sa.Integer(), nullable=True))
    value, is_int = _details_int("user_id")
    op.execute(f"UPDATE audit_events SET user_id = {value} WHERE {is_int}")
    value, is_int = _details_int("site_id")
    op.execute(f"UPDATE audit_events SET site_id = {value} WHERE {is_int}")
    value, is_int = _details_int("group_id")
    op.execute(
        f"UPDATE audit_events SET site_id = (SELECT site_id FROM groups WHERE groups.id = {value})"
        f" WHERE site_id IS NULL AND {is_int}"
    )
    op.execute(
        "UPDATE audit_events SET site_id = (SELECT site_id FROM users WHERE users.id = audit_events.user_id)"
        " WHERE site_id IS NULL AND user_id IS NOT NULL"
    )
    op.create_table(
        "audit_event_users",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["audit_events.id"]),
        sa.PrimaryKeyConstraint("user_id", "event_id"),
    )
    _backfill_bulk_resets()
    op.drop_index("ix_audit_events_operator", table_name="audit_events")
    op.drop_index("ix_audit_events_action", table_name="audit_events")
    for name, columns in _NEW_INDEXES.items():
        op.create_index(name, "audit_events", columns, unique=False)


def _backfill_bulk_resets() -> None:
    """A bulk reset lists its users' ids in the details: each one's history
    finds it. Few events (one per bulk reset), read here in Python."""
    bind = op.get_bind()
    events = sa.table(
        "audit_events", sa.column("id", sa.Integer()), sa.column("action"), sa.column("details", sa.JSON())
    )
    about = sa.table("audit_event_users", sa.column("user_id", sa.Integer()), sa.column("event_id", sa.Integer()))
    rows = []
    for event_id, details in bind.execute(
        sa.select(events.c.id, events.c.details).where(events.c.action == "credentials.bulk_reset")
    ):
        ids = (details or {}).get("user_ids") or []
        rows += [{"user_id": uid, "event_id": event_id} for uid in dict.fromkeys(ids) if isinstance(uid, int)]
    if rows:
        bind.execute(sa.insert(about), rows)


def downgrade() -> None:
    op.drop_table("audit_event_users")
    for name in _NEW_INDEXES:
        op.drop_index(name, table_name="audit_events")
    op.create_index("ix_audit_events_action", "audit_events", ["action"], unique=False)
    op.create_index("ix_audit_events_operator", "audit_events", ["operator"], unique=False)
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.drop_column("site_id")
        batch_op.drop_column("user_id")
