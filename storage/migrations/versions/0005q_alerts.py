"""alerts: rules per chat, alert episodes, snoozes, per-kind topics and sounds, outbox keyboards

Revision ID: 0005q
Revises: 0005p
Create Date: 2026-12-05 04:30:00.000000

An alert episode is unique by (chat, rule, subject, start), and only one per (chat, rule, subject)
may be open (a partial unique index, which SQLite and PostgreSQL both have): that is what makes an
alert exactly once across restarts and replicas.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0005q'
down_revision = '0005p'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'alert_rule',
        sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('thresholds', sa.Text(), nullable=False),
        sa.Column('updated_by', sa.BigInteger(), nullable=True),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('chat_id', 'rule'),
    )
    op.create_table(
        'alert_episode',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('chat_id', sa.BigInteger(), nullable=False),
        sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('raised_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('cleared_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('figures', sa.Text(), nullable=False),
        sa.Column('taken_by', sa.BigInteger(), nullable=True),
        sa.Column('taken_by_name', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=True),
        sa.Column('taken_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('chat_id', 'rule', 'subject', 'started_at', name='uq_alert_episode'),
    )
    op.create_index(
        'uq_alert_episode_open',
        'alert_episode',
        ['chat_id', 'rule', 'subject'],
        unique=True,
        sqlite_where=sa.text('cleared_at IS NULL'),
        postgresql_where=sa.text('cleared_at IS NULL'),
    )
    op.create_index('ix_alert_episode_rule_open', 'alert_episode', ['rule', 'cleared_at'])
    op.create_table(
        'alert_snooze',
        sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column('until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('by_user', sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint('chat_id', 'rule', 'subject'),
    )
    op.create_table(
        'chat_kind_setting',
        sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('thread_id', sa.Integer(), nullable=True),
        sa.Column('loud', sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint('chat_id', 'kind'),
    )
    op.create_index(
        'ix_ringing_event_sip_event_at', 'ringing_event', ['sip_account', 'event_at']
    )
    op.create_index('ix_call_record_call', 'call_record', ['call_id'])
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_markup', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('reply_markup')
    op.drop_index('ix_call_record_call', table_name='call_record')
    op.drop_index('ix_ringing_event_sip_event_at', table_name='ringing_event')
    op.drop_table('chat_kind_setting')
    op.drop_table('alert_snooze')
    op.drop_index('ix_alert_episode_rule_open', table_name='alert_episode')
    op.drop_index('uq_alert_episode_open', table_name='alert_episode')
    op.drop_table('alert_episode')
    op.drop_table('alert_rule')
