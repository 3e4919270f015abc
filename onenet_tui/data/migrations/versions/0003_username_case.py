"""usernames unique whatever their case (R19)

Adds a unique index on ``lower(username)``. Usernames that differ only in
case (``bjoern.boehm`` and ``BJOERN.BOEHM``) could be stored before; the
index cannot be built over them, so the upgrade first renames every such
clash but the oldest (lowest id, the one created first, which keeps its
name): the next free name with a number appended, as R19 proposes names
(``BJOERN.BOEHM2``). Each rename is written to the audit trail (operator
``migration``, action ``user.rename_case_clash``, old and new name), so the
administrator can find and tell those users. Nothing else changes; without
clashes the upgrade only adds the index.

Revision ID: 0003_username_case
Revises: 0002_listing_indexes
"""

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0003_username_case"
down_revision = "0002_listing_indexes"
branch_labels = None
depends_on = None

INDEX = "uq_users_username_lower"
USERNAME_MAX = 40  # validation.USERNAME_MAX, fixed as it was when this ran


def _free_name(name: str, taken: set[str]) -> str:
    n = 2
    while True:
        suffix = str(n)
        candidate = name[: USERNAME_MAX - len(suffix)] + suffix
        if candidate.lower() not in taken:
            return candidate
        n += 1


def rename_case_clashes(conn: sa.Connection) -> list[tuple[str, str]]:
    """Rename all but the oldest of each set of usernames equal but for
    case; returns (old, new) pairs, in id order."""
    rows = conn.execute(sa.text("SELECT id, username FROM users ORDER BY id")).all()
    # Lowered by the database, as the index will be.
    lowered: dict[int, str] = {
        user_id: key for user_id, key in conn.execute(sa.text("SELECT id, lower(username) FROM users"))
    }
    taken: set[str] = set()
    renames: list[tuple[int, str, str]] = []
    for user_id, username in rows:
        key = lowered[user_id]
        if key not in taken:
            taken.add(key)
            continue
        new = _free_name(username, taken | set(lowered.values()))
        taken.add(new.lower())
        renames.append((user_id, username, new))
    now = datetime.now(UTC)
    for user_id, old, new in renames:
        conn.execute(
            sa.text("UPDATE users SET username = :new, version = version + 1 WHERE id = :id"),
            {"new": new, "id": user_id},
        )
        conn.execute(
            sa.text(
                "INSERT INTO audit_events (at, operator, action, target, details)"
                " VALUES (:at, 'migration', 'user.rename_case_clash', :target, :details)"
            ),
            {
                "at": now,
                "target": new,
                "details": json.dumps({"user_id": user_id, "changed": {"username": [old, new]}, "rule": "R19"}),
            },
        )
    return [(old, new) for _, old, new in renames]


def upgrade() -> None:
    rename_case_clashes(op.get_bind())
    op.create_index(INDEX, "users", [sa.text("lower(username)")], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="users")
