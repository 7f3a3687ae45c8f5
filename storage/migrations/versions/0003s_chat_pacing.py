"""sender: per-chat pacing shared by replicas; outbox progress of multi-part messages

Revision ID: 0003s
Revises: 0003a
Create Date: 2026-12-02 10:00:00.000000
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0003s'
down_revision = '0003a'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('chat_pacing',
    sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('next_send_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('chat_id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        # server default fills rows queued before this revision; the model sets the same.
        batch_op.add_column(sa.Column('parts_sent', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('failed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('failed_at')
        batch_op.drop_column('parts_sent')
    op.drop_table('chat_pacing')
