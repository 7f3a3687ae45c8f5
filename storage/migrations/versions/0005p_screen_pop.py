"""screen pops: agent_link, link_request, pop_recipient, screen_pop, pop_ring

Revision ID: 0005p
Revises: 0004d
Create Date: 2026-12-05 04:10:00.000000

A SIP account linked to the Telegram user who answers it, the agents' own link requests, who may
get pops, and the pops sent with the rings they show.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0005p'
down_revision = '0004d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agent_link',
    sa.Column('sip_account', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('voice_group_id', sa.BigInteger(), nullable=False),
    sa.Column('group_name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('linked_by', sa.BigInteger(), nullable=False),
    sa.Column('linked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('sip_account')
    )
    with op.batch_alter_table('agent_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_link_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agent_link_chat_id'), ['chat_id'], unique=False)
    op.create_table('link_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sip_account', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('voice_group_id', sa.BigInteger(), nullable=False),
    sa.Column('group_name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('decided_by', sa.BigInteger(), nullable=True),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('pop_recipient',
    sa.Column('user_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('started', sa.Boolean(), nullable=False),
    sa.Column('blocked', sa.Boolean(), nullable=False),
    sa.Column('pops_on', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('user_id')
    )
    op.create_table('screen_pop',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('screen_pop', schema=None) as batch_op:
        batch_op.create_index('ix_screen_pop_user_id', ['user_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_screen_pop_created_at'), ['created_at'], unique=False)
    op.create_table('pop_ring',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pop_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('call_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('sip_account', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('event_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('call_id', 'sip_account', 'user_id', name='uq_pop_ring_call_sip_user')
    )
    with op.batch_alter_table('pop_ring', schema=None) as batch_op:
        batch_op.create_index('ix_pop_ring_pop', ['pop_id'], unique=False)
        batch_op.create_index('ix_pop_ring_received_at', ['received_at'], unique=False)


def downgrade() -> None:
    op.drop_table('pop_ring')
    op.drop_table('screen_pop')
    op.drop_table('pop_recipient')
    op.drop_table('link_request')
    op.drop_table('agent_link')
