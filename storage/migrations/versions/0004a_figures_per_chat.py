"""figures per chat: call records attributed to chats, rollups keyed by chat, one zone per chat

Revision ID: 0004a
Revises: 0003t
Create Date: 2026-12-05 01:30:00.000000

- `call_chat`: the chats each call record counts in. Filled from the stored records with what is
  known now: the active routes of the record's agent group (exact name, else the same name
  without invisible characters and case) and the chat of its task (a ringing event of the same
  callId that carried a taskId). The number index (`task_callee`) starts empty: older tasks'
  records that named neither stay unattributed.
- `call_rollup` and `agent_rollup` are keyed by chat, and re-derived from the stored records and
  their `call_chat` rows (with the new counters: lost, failures = not answered by the callee).
  `ring_rollup` rows are re-keyed by the routes of their group (their task chats are not known).
- `task_callee`: the callees of each submitted task, by task and by number.
- `call_task.display_num`: the calling number a task was submitted with.
- One zone per chat: `bound_chat.summary_timezone` (the zone /schedule kept for summaries alone)
  moves into `timezone` when that was not set. When both were set and differ, the chat keeps its
  /settings zone and the summary time is moved to the same moment in that zone, so the summary
  comes when it came; summary_timezone is cleared.
"""

import json
import unicodedata
from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0004a'
down_revision = '0003t'
branch_labels = None
depends_on = None

_PAGE = 5_000
_CHUNK = 1_000  # rows per INSERT, well under either backend's bound parameters
FAILED_TO_REACH = frozenset({2})
TRANSFERRED = frozenset({3})

_dt = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table('call_chat',
    sa.Column('call_record_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('call_start_at', _dt(), nullable=True),
    sa.Column('relayed_at', _dt(), nullable=False),
    sa.PrimaryKeyConstraint('call_record_id', 'chat_id')
    )
    with op.batch_alter_table('call_chat', schema=None) as batch_op:
        batch_op.create_index('ix_call_chat_chat_start', ['chat_id', 'call_start_at'], unique=False)
        batch_op.create_index('ix_call_chat_chat_relayed', ['chat_id', 'relayed_at'], unique=False)
    op.create_table('task_callee',
    sa.Column('task_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('callee_digits', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('row', sa.Integer(), nullable=False),
    sa.Column('info', sa.Text(), nullable=False),
    sa.Column('created_at', _dt(), nullable=False),
    sa.PrimaryKeyConstraint('task_id', 'callee_digits')
    )
    with op.batch_alter_table('task_callee', schema=None) as batch_op:
        batch_op.create_index('ix_task_callee_digits', ['callee_digits', 'task_id'], unique=False)
    with op.batch_alter_table('call_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('display_num', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))

    old_rings = _read_all('ring_rollup', ('bucket_start', 'group_name', 'sip_account', 'rings', 'missed'))
    for name in ('call_rollup', 'agent_rollup', 'ring_rollup'):
        op.drop_table(name)
    call_rollup = op.create_table('call_rollup',
    sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('bucket_start', _dt(), nullable=False),
    sa.Column('group_name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('hangup_reason', sa.Integer(), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.Column('answered', sa.Integer(), nullable=False),
    sa.Column('talk_seconds', sa.BigInteger(), nullable=False),
    sa.Column('transfers', sa.Integer(), nullable=False),
    sa.Column('lost', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('cost', sa.Float(), nullable=False),
    sa.Column('costed', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('chat_id', 'bucket_start', 'group_name', 'hangup_reason')
    )
    agent_rollup = op.create_table('agent_rollup',
    sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('bucket_start', _dt(), nullable=False),
    sa.Column('group_name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('agent_name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.Column('answered', sa.Integer(), nullable=False),
    sa.Column('talk_seconds', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('chat_id', 'bucket_start', 'group_name', 'agent_name')
    )
    ring_rollup = op.create_table('ring_rollup',
    sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('bucket_start', _dt(), nullable=False),
    sa.Column('group_name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('sip_account', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('rings', sa.Integer(), nullable=False),
    sa.Column('missed', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('chat_id', 'bucket_start', 'group_name', 'sip_account')
    )
    routes = _Routes()
    _attribute_calls(routes, call_rollup, agent_rollup)
    rings: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for row in old_rings:
        for chat_id in routes.chats(row.group_name):
            total = rings[(chat_id, row.bucket_start, row.group_name, row.sip_account)]
            total[0] += row.rings
            total[1] += row.missed
    _insert(ring_rollup, [
        {'chat_id': k[0], 'bucket_start': k[1], 'group_name': k[2], 'sip_account': k[3],
         'rings': v[0], 'missed': v[1]}
        for k, v in sorted(rings.items())
    ])
    _one_zone_per_chat()


def _read_all(name: str, columns: tuple[str, ...]) -> list:
    table = sa.table(name, *(sa.column(c) for c in columns))
    return list(op.get_bind().execute(sa.select(*table.c)).all())


def _insert(table: sa.Table, rows: list[dict]) -> None:
    bind = op.get_bind()
    for start in range(0, len(rows), _CHUNK):
        bind.execute(table.insert().values(rows[start:start + _CHUNK]))


def _visible_key(name: str) -> str:
    """The group-name rule of bot/services/groups.py, as it stands at this revision."""
    kept = ''.join(ch for ch in name if ch.isascii() or unicodedata.category(ch) != 'Cf')
    return kept.strip().casefold()


class _Routes:
    """Active routes of bound, active chats, matched exactly first, else by `_visible_key`."""

    def __init__(self) -> None:
        bind = op.get_bind()
        routes = sa.table('group_route', sa.column('group_name'), sa.column('chat_id'),
                          sa.column('active'), sa.column('id'))
        chats = sa.table('bound_chat', sa.column('chat_id'), sa.column('active'))
        active = {c for (c,) in bind.execute(
            sa.select(chats.c.chat_id).where(chats.c.active == sa.true()))}
        self.exact: dict[str, list[int]] = defaultdict(list)
        self.folded: dict[str, list[int]] = defaultdict(list)
        for name, chat_id in bind.execute(
            sa.select(routes.c.group_name, routes.c.chat_id)
            .where(routes.c.active == sa.true()).order_by(routes.c.id)
        ):
            if chat_id in active:
                self.exact[name].append(chat_id)
                self.folded[_visible_key(name)].append(chat_id)
        tasks = sa.table('call_task', sa.column('task_id'), sa.column('chat_id'))
        self.task_chat = {
            t: c for t, c in bind.execute(sa.select(tasks.c.task_id, tasks.c.chat_id)) if c in active
        }

    def chats(self, name: str | None) -> list[int]:
        if not name:
            return []
        return list(self.exact.get(name) or self.folded.get(_visible_key(name), []))


def _bucket(moment: datetime) -> datetime:
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def _attribute_calls(routes: _Routes, call_rollup: sa.Table, agent_rollup: sa.Table) -> None:
    bind = op.get_bind()
    records = sa.table(
        'call_record', *(sa.column(c) for c in (
            'id', 'call_id', 'agent_group_name', 'agent_name', 'call_type', 'answered',
            'call_duration', 'hangup_reason', 'cost', 'call_start_at', 'received_at')))
    events = sa.table('ringing_event', sa.column('id'), sa.column('call_id'), sa.column('task_id'))
    call_chat = sa.table('call_chat', sa.column('call_record_id'), sa.column('chat_id'),
                         sa.column('call_start_at'), sa.column('relayed_at'))
    calls: dict[tuple, list] = {}
    agents: dict[tuple, list] = {}
    last = 0
    while True:
        page = bind.execute(
            sa.select(*records.c).where(records.c.id > last).order_by(records.c.id).limit(_PAGE)
        ).all()
        if not page:
            break
        last = page[-1].id
        call_ids = sorted({r.call_id for r in page if r.call_id})
        task_of: dict[str, int] = {}
        for start in range(0, len(call_ids), _CHUNK):
            for call_id, task_id in bind.execute(
                sa.select(events.c.call_id, events.c.task_id)
                .where(events.c.call_id.in_(call_ids[start:start + _CHUNK]),
                       events.c.task_id.is_not(None))
                .order_by(events.c.id.desc())
            ):
                task_of[call_id] = task_id  # the lowest id wins
        links = []
        for r in page:
            chats = routes.chats(r.agent_group_name)
            task_chat = routes.task_chat.get(task_of.get(r.call_id)) if r.call_id else None
            if task_chat is not None:
                chats.append(task_chat)
            chats = list(dict.fromkeys(chats))
            if not chats:
                continue
            answered = bool(r.answered)
            talk = max(r.call_duration or 0, 0)
            reason = -1 if r.hangup_reason is None else r.hangup_reason
            transfer = reason in TRANSFERRED or (
                r.call_type == 1 and bool(r.agent_name) and answered)
            counts = [1, int(answered), talk, int(transfer),
                      int(not transfer and reason in FAILED_TO_REACH), int(not answered),
                      float(r.cost) if r.cost is not None else 0.0, int(r.cost is not None)]
            bucket = _bucket(r.call_start_at or r.received_at)
            group = r.agent_group_name or ''
            for chat_id in chats:
                links.append({'call_record_id': r.id, 'chat_id': chat_id,
                              'call_start_at': r.call_start_at, 'relayed_at': r.received_at})
                total = calls.setdefault((chat_id, bucket, group, reason), [0] * 8)
                for i, value in enumerate(counts):
                    total[i] += value
                if r.agent_name:
                    a = agents.setdefault((chat_id, bucket, group, r.agent_name), [0, 0, 0])
                    a[0] += 1
                    a[1] += int(answered)
                    a[2] += talk
        _insert(call_chat, links)
    names = ('calls', 'answered', 'talk_seconds', 'transfers', 'lost', 'failures', 'cost', 'costed')
    _insert(call_rollup, [
        {'chat_id': k[0], 'bucket_start': k[1], 'group_name': k[2], 'hangup_reason': k[3],
         **dict(zip(names, v))}
        for k, v in sorted(calls.items())
    ])
    _insert(agent_rollup, [
        {'chat_id': k[0], 'bucket_start': k[1], 'group_name': k[2], 'agent_name': k[3],
         'calls': v[0], 'answered': v[1], 'talk_seconds': v[2]}
        for k, v in sorted(agents.items())
    ])


def _zone(name: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ValueError, KeyError, OSError):
        return None


def _one_zone_per_chat() -> None:
    bind = op.get_bind()
    chats = sa.table('bound_chat', sa.column('chat_id'), sa.column('timezone'),
                     sa.column('summary_timezone'), sa.column('summary_time'))
    now = datetime.now(UTC)
    for chat_id, zone_name, summary_zone_name, at in bind.execute(
        sa.select(chats.c.chat_id, chats.c.timezone, chats.c.summary_timezone,
                  chats.c.summary_time).where(chats.c.summary_timezone.is_not(None))
    ).all():
        values: dict = {'summary_timezone': None}
        summary_zone, zone = _zone(summary_zone_name), _zone(zone_name)
        if zone is None and summary_zone is not None:
            values['timezone'] = summary_zone_name
        elif zone is not None and summary_zone is not None and zone.key != summary_zone.key:
            try:
                hour, minute = (int(x) for x in (at or '09:00').split(':'))
                local = datetime.combine(now.astimezone(summary_zone).date(), time(hour, minute),
                                         tzinfo=summary_zone)
                values['summary_time'] = f'{local.astimezone(zone):%H:%M}'
            except ValueError:
                pass
        bind.execute(chats.update().where(chats.c.chat_id == chat_id).values(**values))


def downgrade() -> None:
    # The rollups go back to their per-group shape, re-derived from the records of every chat
    # once (a record in two chats is counted once again).
    bind = op.get_bind()
    for name in ('call_rollup', 'agent_rollup', 'ring_rollup'):
        op.drop_table(name)
    op.create_table('agent_rollup',
    sa.Column('bucket_start', _dt(), nullable=False),
    sa.Column('group_name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('agent_name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.Column('answered', sa.Integer(), nullable=False),
    sa.Column('talk_seconds', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('bucket_start', 'group_name', 'agent_name')
    )
    call_rollup = op.create_table('call_rollup',
    sa.Column('bucket_start', _dt(), nullable=False),
    sa.Column('group_name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('hangup_reason', sa.Integer(), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.Column('answered', sa.Integer(), nullable=False),
    sa.Column('talk_seconds', sa.BigInteger(), nullable=False),
    sa.Column('transfers', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('cost', sa.Float(), nullable=False),
    sa.Column('costed', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('bucket_start', 'group_name', 'hangup_reason')
    )
    op.create_table('ring_rollup',
    sa.Column('bucket_start', _dt(), nullable=False),
    sa.Column('group_name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('sip_account', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('rings', sa.Integer(), nullable=False),
    sa.Column('missed', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('bucket_start', 'group_name', 'sip_account')
    )
    records = sa.table('call_record', *(sa.column(c) for c in (
        'hangup_reason', 'agent_group_name', 'answered', 'call_duration', 'cost',
        'call_start_at', 'received_at')))
    calls: dict[tuple, list] = {}
    for r in bind.execute(sa.select(*records.c)):
        reason = -1 if r.hangup_reason is None else r.hangup_reason
        key = (_bucket(r.call_start_at or r.received_at), r.agent_group_name or '', reason)
        total = calls.setdefault(key, [0, 0, 0, 0, 0, 0.0, 0])
        for i, v in enumerate((1, int(bool(r.answered)), max(r.call_duration or 0, 0),
                               int(reason == 3), int(reason in (4, 5, 6, 7)),
                               float(r.cost or 0.0), int(r.cost is not None))):
            total[i] += v
    names = ('calls', 'answered', 'talk_seconds', 'transfers', 'failures', 'cost', 'costed')
    _insert(call_rollup, [
        {'bucket_start': k[0], 'group_name': k[1], 'hangup_reason': k[2], **dict(zip(names, v))}
        for k, v in sorted(calls.items())
    ])
    with op.batch_alter_table('call_task', schema=None) as batch_op:
        batch_op.drop_column('display_num')
    with op.batch_alter_table('task_callee', schema=None) as batch_op:
        batch_op.drop_index('ix_task_callee_digits')
    op.drop_table('task_callee')
    with op.batch_alter_table('call_chat', schema=None) as batch_op:
        batch_op.drop_index('ix_call_chat_chat_relayed')
        batch_op.drop_index('ix_call_chat_chat_start')
    op.drop_table('call_chat')
