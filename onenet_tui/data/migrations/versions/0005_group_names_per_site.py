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

from collections.abc import Iterator
from contextlib import contextmanager

from alembic import op

revision = "0005_group_names_per_site"
down_revision = "0004_tenant_setup"
branch_labels = None
depends_on = None

NEW = "uq_groups_site_kind_name"
# The baseline's constraint had no name: PostgreSQL called it groups_name_key;
# SQLite keeps none, so batch mode reflects it under this naming convention.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _sqlite() -> bool:
    return bool(op.get_bind().dialect.name == "sqlite")


def _old_name() -> str:
    return "uq_groups_name" if _sqlite() else "groups_name_key"


@contextmanager
def _members_set_aside() -> Iterator[None]:
    """SQLite drops a unique constraint only by rebuilding the table, and
    refuses to drop a table that memberships point at (foreign keys are on,
    and cannot be turned off inside the migration's transaction): the
    memberships wait in a temporary table meanwhile, unchanged."""
    if not _sqlite():
        yield
        return
    op.execute("CREATE TEMPORARY TABLE r22_members AS SELECT group_id, user_id, role FROM group_members")
    op.execute("DELETE FROM group_members")
    yield
    op.execute("INSERT INTO group_members (group_id, user_id, role) SELECT group_id, user_id, role FROM r22_members")
    op.execute("DROP TABLE r22_members")


def upgrade() -> None:
    with _members_set_aside(), op.batch_alter_table("groups", naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint(_old_name(), type_="unique")
        batch_op.create_unique_constraint(NEW, ["site_id", "kind", "name"])


def downgrade() -> None:
    # Fails, as it should, while two groups share a name.
    with _members_set_aside(), op.batch_alter_table("groups", naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint(NEW, type_="unique")
        batch_op.create_unique_constraint(_old_name(), ["name"])
