"""outbox.urgency and outbox.event_at: each chat's messages go most urgent first (a ringing phone
before call records), and merged ringing events are listed in the order they happened

Revision ID: 0004d
Revises: 0004a
Create Date: 2026-12-05 01:00:00.000000

Rows already queued get their kind's urgency, so an upgrade in the middle of a flood already
lets the next ringing event overtake the waiting call records.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0004d'
down_revision = '0004a'
branch_labels = None
depends_on = None

# The kinds' urgencies when this revision was written (bot/delivery/outbox.py URGENCY).
_URGENCY = {'notice': 1, 'ringing': 2, 'call': 3, 'task_card': 4, 'digest': 5, 'summary': 6}
_ROUTINE = 3


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('urgency', sa.SmallInteger(), nullable=False, server_default=str(_ROUTINE))
        )
        batch_op.add_column(
            sa.Column('event_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    outbox = sa.table('outbox', sa.column('kind', sa.String()), sa.column('urgency', sa.SmallInteger()))
    for kind, urgency in _URGENCY.items():
        if urgency != _ROUTINE:
            op.execute(outbox.update().where(outbox.c.kind == kind).values(urgency=urgency))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_chat_status_id')
        batch_op.create_index(
            'ix_outbox_chat_status_urgency_id', ['chat_id', 'status', 'urgency', 'id'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_chat_status_urgency_id')
        batch_op.create_index('ix_outbox_chat_status_id', ['chat_id', 'status', 'id'], unique=False)
        batch_op.drop_column('event_at')
        batch_op.drop_column('urgency')
