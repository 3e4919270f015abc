"""site administrators (SPEC R25): the sites each one administers

Revision ID: 0007_site_admins
Revises: 0006_audit_history
Create Date: 2026-12-01 16:00:00

A new table only: existing operators keep their roles (admin, helpdesk,
carrier), none of which is bound to sites, so no row is needed for them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_site_admins"
down_revision = "0006_audit_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operator_sites",
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["operator_id"], ["operators.id"]),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"]),
        sa.PrimaryKeyConstraint("operator_id", "site_id"),
    )
    op.create_index("ix_operator_sites_site_id", "operator_sites", ["site_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_operator_sites_site_id", table_name="operator_sites")
    op.drop_table("operator_sites")
