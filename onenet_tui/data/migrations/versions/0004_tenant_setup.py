"""tenant setup (SPEC section 11): unique SIP domains, group versions

Revision ID: 0004_tenant_setup
Revises: 0003_username_case
Create Date: 2026-12-01 13:00:00

R20 makes a site's SIP domain unique; R22 refuses a stale membership save,
so a group gets a version, 1 for every existing group.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_tenant_setup"
down_revision = "0003_username_case"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))

    with op.batch_alter_table("sites", schema=None) as batch_op:
        # An index, not a constraint: SQLite adds it without rebuilding the table.
        batch_op.create_index("uq_sites_sip_domain", ["sip_domain"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_index("uq_sites_sip_domain")

    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_column("version")
