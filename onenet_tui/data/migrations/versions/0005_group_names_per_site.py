"""group names unique per site and kind (SPEC R22), not in the whole tenant

Revision ID: 0005_group_names_per_site
Revises: 0004_tenant_setup
Create Date: 2026-12-01 15:00:00

The baseline made a group's name unique in the tenant, because the command
line named a group by its name alone. Groups are now named with their site
and kind when the name alone is ambiguous, so R22's own rule holds: two
sites may each have a group called Empfang, as may one site's pickup and
hunt group.
"""

from alembic import op

revision = "0005_group_names_per_site"
down_revision = "0004_tenant_setup"
branch_labels = None
depends_on = None

NEW = "uq_groups_site_kind_name"
# The baseline's constraint had no name: PostgreSQL called it groups_name_key;
# SQLite keeps none, so batch mode reflects it under this naming convention.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _old_name() -> str:
    return "groups_name_key" if op.get_bind().dialect.name == "postgresql" else "uq_groups_name"


def upgrade() -> None:
    with op.batch_alter_table("groups", schema=None, naming_convention=NAMING, recreate="auto") as batch_op:
        batch_op.drop_constraint(_old_name(), type_="unique")
        batch_op.create_unique_constraint(NEW, ["site_id", "kind", "name"])


def downgrade() -> None:
    # Fails, as it should, while two groups share a name.
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_constraint(NEW, type_="unique")
        batch_op.create_unique_constraint(_old_name(), ["name"])
