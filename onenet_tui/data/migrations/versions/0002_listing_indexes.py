"""listing indexes

Revision ID: 0002_listing_indexes
Revises: 0001_baseline
Create Date: 2026-11-27 23:08:16.799448
"""

from alembic import op

revision = "0002_listing_indexes"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_at", ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_operator"), ["operator"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("ix_users_name", ["last_name", "first_name"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_name")

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_operator"))
        batch_op.drop_index("ix_audit_events_at")
