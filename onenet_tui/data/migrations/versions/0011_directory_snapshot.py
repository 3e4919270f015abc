"""a snapshot of the loaded directory per operator scope (issue 20.2)

Revision ID: 0011_directory_snapshot
Revises: 0010_audit_speed
Create Date: 2026-12-01 23:00:00

``directory_snapshots``: the columns of the directory as a console loaded
them, one row per operator scope (R25), so the next console reads one row
and catches up with the audit trail instead of reading a million users
(onenet_tui/data/directory/snapshot.py). In the database, not a cache file:
the same access control as the data, no personal data left in a home
directory. A cache: dropping the table's rows costs one slow load.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_directory_snapshot"
down_revision = "0010_audit_speed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "directory_snapshots",
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("stamp", sa.Integer(), nullable=False),
        sa.Column("format", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("scope"),
    )


def downgrade() -> None:
    op.drop_table("directory_snapshots")
