"""credentials say whether they were ever handed over (SPEC R8-R10)

Revision ID: 0009_handed_over
Revises: 0008_registrar
Create Date: 2026-12-01 19:00:00

Which users hold credentials nobody received was decided by reading every
issuing audit event (0.8 s at a million events, asked by each directory
load). The credentials row now says it: ``handed_over``, written in the same
transaction as every issue (False) and every hand-over (True), and
``reset_event``, the bulk reset that issued the row (its export receipt hands
over exactly those rows). A partial index holds the rows never handed over.

Backfill with the audit trail's rule as it stood: a user's latest issue
(``user.add`` with a desk phone, ``user.change_configuration`` that changed
the number or gave a desk phone, ``credentials.regenerate``, a
``credentials.bulk_reset`` naming them by id or, before ids were recorded,
by username) with no ``credentials.handed_over`` of theirs after it and, for
a bulk reset, no ``credentials.exported`` naming that reset. Every other row
was handed over. The rule is copied here, not imported: a migration must
keep meaning what it meant when the code it came with has moved on.

The 0008 triggers fire on INSERT and on UPDATE OF user_id alone, so setting
these columns leaves ``registrar_status`` and the registrar's view alone.
"""

from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009_handed_over"
down_revision = "0008_registrar"
branch_labels = None
depends_on = None

INDEX = "ix_desk_phone_credentials_unhanded"
# As SQLAlchemy renders ``~handed_over`` on each backend (models.py says why).
WHERE_SQLITE = "handed_over = 0"
WHERE_PG = "NOT handed_over"
_CHUNK = 500

_events = sa.table(
    "audit_events",
    sa.column("id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("user_id", sa.Integer),
    sa.column("details", sa.JSON),
)
_credentials = sa.table(
    "desk_phone_credentials",
    sa.column("user_id", sa.Integer),
    sa.column("handed_over", sa.Boolean),
    sa.column("reset_event", sa.Integer),
)
_users = sa.table("users", sa.column("id", sa.Integer), sa.column("username", sa.String))


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    # Existing rows start as handed over; on PostgreSQL a constant default
    # fills them without rewriting the table, then new rows default to False.
    # SQLite cannot change a column's default in place: it gets False and
    # one UPDATE.
    op.add_column(
        "desk_phone_credentials",
        sa.Column("handed_over", sa.Boolean(), nullable=False, server_default=sa.true() if postgres else sa.false()),
    )
    op.add_column("desk_phone_credentials", sa.Column("reset_event", sa.Integer(), nullable=True))
    if postgres:
        op.alter_column("desk_phone_credentials", "handed_over", server_default=sa.false())
    else:
        op.execute(sa.update(_credentials).values(handed_over=True))
    unhanded = _unhanded(bind)
    singles = sorted(uid for uid, (_, bulk) in unhanded.items() if not bulk)
    for chunk in _chunks(singles):
        op.execute(sa.update(_credentials).where(_credentials.c.user_id.in_(chunk)).values(handed_over=False))
    by_reset: dict[int, list[int]] = {}
    for uid, (event_id, bulk) in unhanded.items():
        if bulk:
            by_reset.setdefault(event_id, []).append(uid)
    for event_id, uids in sorted(by_reset.items()):
        for chunk in _chunks(sorted(uids)):
            op.execute(
                sa.update(_credentials)
                .where(_credentials.c.user_id.in_(chunk))
                .values(handed_over=False, reset_event=event_id)
            )
    op.create_index(
        INDEX,
        "desk_phone_credentials",
        ["user_id", "reset_event"],
        sqlite_where=sa.text(WHERE_SQLITE),
        postgresql_where=sa.text(WHERE_PG),
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="desk_phone_credentials")
    with op.batch_alter_table("desk_phone_credentials") as batch_op:
        batch_op.drop_column("reset_event")
        batch_op.drop_column("handed_over")


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


_ISSUES = ("credentials.regenerate", "user.add", "user.change_configuration")


def _single_issues() -> Any:
    details = _events.c.details
    return sa.or_(
        _events.c.action == "credentials.regenerate",
        sa.and_(_events.c.action == "user.add", details["device_type"].as_string() == "desk_phone"),
        sa.and_(
            _events.c.action == "user.change_configuration",
            sa.or_(
                details[("changed", "number", 1)].as_string().is_not(None),
                details[("changed", "device_type", 1)].as_string() == "desk_phone",
            ),
        ),
    )


def _newest_per_user(bind: sa.Connection, actions: tuple[str, ...], condition: Any) -> dict[int, int]:
    # The column, not the details: 0006 filled it from the details' user_id
    # where that is an integer, and casting every event's value instead
    # fails on PostgreSQL at the first one that is not (hostile or old data).
    # Reduced here, not by GROUP BY: SQLite then walks the user index over
    # every event (16 s at a million) instead of the action index's few.
    query = sa.select(_events.c.user_id, _events.c.id).where(_events.c.action.in_(actions), condition)
    newest: dict[int, int] = {}
    for user, event_id in bind.execute(query):
        if user is not None and newest.get(user, 0) < event_id:
            newest[user] = event_id
    return newest


def _unhanded(bind: sa.Connection) -> dict[int, tuple[int, bool]]:
    """User id -> (the issue never handed over, whether a bulk reset made it)."""
    issues = _newest_per_user(bind, _ISSUES, _single_issues())
    latest = {uid: (event_id, False) for uid, event_id in issues.items()}
    handed = _newest_per_user(bind, ("credentials.handed_over",), sa.true())
    exported: set[int] = set()
    bulk: list[tuple[int, dict[str, Any]]] = []
    rows = bind.execute(
        sa.select(_events.c.id, _events.c.action, _events.c.details)
        .where(_events.c.action.in_(("credentials.bulk_reset", "credentials.exported")))
        .order_by(_events.c.id)
    )
    for event_id, action, details in rows:
        if not isinstance(details, dict):
            continue  # no event of ours: nothing it could say
        if action == "credentials.exported":
            if isinstance(details.get("reset_event"), int):
                exported.add(details["reset_event"])
        else:
            bulk.append((event_id, details))
    for uid, event_id in _bulk_issues(bind, bulk):
        if latest.get(uid, (0, False))[0] < event_id:
            latest[uid] = (event_id, True)
    return {
        uid: (event_id, is_bulk)
        for uid, (event_id, is_bulk) in latest.items()
        if handed.get(uid, 0) < event_id and event_id not in exported
    }


def _bulk_issues(bind: sa.Connection, bulk: list[tuple[int, dict[str, Any]]]) -> Iterable[tuple[int, int]]:
    """(user, reset) for every user each bulk reset named, oldest first."""
    names = sorted({n for _, d in bulk if d.get("user_ids") is None for n in _list(d.get("usernames")) if _text(n)})
    ids: dict[str, int] = {}
    for chunk in _chunks(names):
        query = sa.select(_users.c.username, _users.c.id).where(_users.c.username.in_(chunk))
        ids.update({name: uid for name, uid in bind.execute(query)})
    for event_id, details in bulk:
        named = details.get("user_ids")
        if named is None:
            # Events written before the ids were recorded name the users.
            named = [ids[name] for name in _list(details.get("usernames")) if _text(name) and name in ids]
        for uid in _list(named):
            if isinstance(uid, int) and not isinstance(uid, bool):
                yield uid, event_id


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> bool:
    return isinstance(value, str)
