"""drop task_draft.idempotency_key

Nothing ever read the key: the compare-and-set on task_draft.status is what makes a double submit
create one task. The column goes, with its unique constraint.

Revision ID: 0003a
Revises: 0003o
Create Date: 2026-11-28
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003a"
down_revision = "0003o"
branch_labels = None
depends_on = None

# SQLite keeps 0002's unique constraint without a name; a naming convention lets batch mode
# (which rebuilds the table) find it and leave it out. PostgreSQL named it itself.
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
_SQLITE_NAME = "uq_task_draft_idempotency_key"
_POSTGRES_NAME = "task_draft_idempotency_key_key"


def _constraint_name() -> str:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        return _SQLITE_NAME
    for unique in sa.inspect(bind).get_unique_constraints("task_draft"):
        if unique["column_names"] == ["idempotency_key"] and unique["name"]:
            return unique["name"]
    return _POSTGRES_NAME


def upgrade() -> None:
    name = _constraint_name()
    with op.batch_alter_table("task_draft", naming_convention=_NAMING) as batch_op:
        batch_op.drop_constraint(name, type_="unique")
        batch_op.drop_column("idempotency_key")


def downgrade() -> None:
    with op.batch_alter_table("task_draft") as batch_op:
        batch_op.add_column(
            sa.Column(
                "idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True
            )
        )
    # Drafts made since have no key: give each a unique one so the old NOT NULL UNIQUE holds.
    op.execute("UPDATE task_draft SET idempotency_key = 'draft-' || id")
    name = _SQLITE_NAME if op.get_bind().dialect.name == "sqlite" else _POSTGRES_NAME
    with op.batch_alter_table("task_draft") as batch_op:
        batch_op.alter_column(
            "idempotency_key",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=64),
            nullable=False,
        )
        batch_op.create_unique_constraint(name, ["idempotency_key"])
