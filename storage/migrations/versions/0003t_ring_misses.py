"""ring_miss: one row per (call, agent) miss, claimed before a missed ring is counted

Revision ID: 0003t
Revises: 0003s
Create Date: 2026-12-03 10:00:00.000000

Filled from the stored ringing events, so an event of a call stored before this revision and one
stored after it count the call's misses once (the first event listing the agent, by id, gives
the moment).
"""

import json

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql, sqlite

revision = '0003t'
down_revision = '0003s'
branch_labels = None
depends_on = None

_PAGE = 5_000


def upgrade() -> None:
    ring_miss = op.create_table('ring_miss',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('sip_account', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('missed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('call_id', 'sip_account', name='uq_ring_miss_call_sip')
    )
    with op.batch_alter_table('ring_miss', schema=None) as batch_op:
        batch_op.create_index('ix_ring_miss_missed_at', ['missed_at'], unique=False)
    _fill(ring_miss)


def _fill(ring_miss: sa.Table) -> None:
    """Every (call, agent) already in a stored event's noAnswerSipList, in pages of ids."""
    bind = op.get_bind()
    insert = postgresql.insert if bind.dialect.name == 'postgresql' else sqlite.insert
    events = sa.table(
        'ringing_event',
        sa.column('id', sa.Integer()),
        sa.column('call_id', sa.String()),
        sa.column('no_answer_sip_list', sa.Text()),
        sa.column('event_at', sqlmodel.sql.sqltypes.UTCDateTime()),
        sa.column('received_at', sqlmodel.sql.sqltypes.UTCDateTime()),
    )
    last = 0
    while True:
        page = bind.execute(
            sa.select(events.c.id, events.c.call_id, events.c.no_answer_sip_list,
                      events.c.event_at, events.c.received_at)
            .where(events.c.id > last, events.c.call_id.is_not(None),
                   events.c.no_answer_sip_list != '[]')
            .order_by(events.c.id)
            .limit(_PAGE)
        ).all()
        if not page:
            return
        last = page[-1].id
        rows: dict[tuple[str, str], dict] = {}
        for event in page:
            try:
                listed = json.loads(event.no_answer_sip_list or '[]')
            except ValueError:
                continue
            if not isinstance(listed, list):
                continue
            for sip in (str(x) for x in listed if x):
                rows.setdefault((event.call_id, sip), {
                    'call_id': event.call_id,
                    'sip_account': sip,
                    'missed_at': event.event_at or event.received_at,
                })
        found = list(rows.values())
        for start in range(0, len(found), 1_000):  # well under either backend's bound parameters
            chunk = found[start:start + 1_000]
            bind.execute(insert(ring_miss).values(chunk).on_conflict_do_nothing())


def downgrade() -> None:
    with op.batch_alter_table('ring_miss', schema=None) as batch_op:
        batch_op.drop_index('ix_ring_miss_missed_at')
    op.drop_table('ring_miss')
