"""The call engine: places the simulated calls of running tasks over (simulated) time.

Every call draws its random outcome from its own Random, seeded by (seed, task, number, attempt), so a
run with the same seed gives the same customers the same fates whatever the interleaving of calls.
Event times are the platform clock when the call starts, plus simulated seconds.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from bot.laaffic.simulator.config import SimulatorConfig
from bot.laaffic.simulator.pushes import Background, PushSender
from bot.laaffic.simulator.state import (
    AGENT_BUSY,
    AGENT_IDLE,
    AGENT_WRAP_UP,
    NUMBER_ABNORMAL,
    NUMBER_CALLED,
    NUMBER_CALLING,
    NUMBER_NOT_CALLED,
    TASK_CALLING,
    TASK_COMPLETED,
    TASK_SUBMITTING,
    Agent,
    CallRecord,
    PlatformState,
    Task,
    TaskNumber,
    country_code_of,
    format_time,
)

log = logging.getLogger(__name__)

# Why an unanswered call ended (hangupReason, §3.19), how often, its SIP code and the detail-row text.
_FAILURES: list[tuple[int, int, str, str]] = [
    (0, 60, "480", "no answer"),
    (7, 15, "486", "callee busy"),
    (6, 10, "404", "callee out of service area"),
    (5, 8, "503", "callee operator has no service"),
    (4, 7, "500", "call failed"),
]
HANGUP_OUTBOUND_HUNG_UP, HANGUP_TRANSFER_RINGING, HANGUP_AFTER_TRANSFER = 1, 2, 3
DIRECTION_CUSTOMER, DIRECTION_AGENT, DIRECTION_SYSTEM = 0, 1, 3
CALL_TYPE_GROUP_TO_AGENT, CALL_TYPE_OUTBOUND = 1, 3
RINGING_GROUP_CALL, RINGING_CALL_CENTER = 1, 2


@dataclass
class _Outcome:
    """How a call ended, filled in as it goes."""

    hangup_reason: int = 0
    hangup_code: str = ""
    direction: int = DIRECTION_SYSTEM
    answer: datetime | None = None
    duration: int = 0
    agent: Agent | None = None
    group_name: str | None = None
    labels: list[str] = field(default_factory=list)


class _Timeline:
    """Simulated seconds since the call started, mapped onto the platform clock."""

    def __init__(self, start: datetime, speed: float) -> None:
        self.start = start
        self.elapsed = 0.0
        self._speed = speed

    async def wait(self, seconds: float) -> None:
        self.elapsed += seconds
        await asyncio.sleep(max(0.0, seconds) / self._speed)

    @property
    def now(self) -> datetime:
        return self.start + timedelta(seconds=round(self.elapsed))


class CallEngine:
    def __init__(
        self,
        state: PlatformState,
        config: SimulatorConfig,
        pushes: PushSender,
        background: Background,
        clock: Callable[[], datetime],
    ) -> None:
        self._state = state
        self._config = config
        self._pushes = pushes
        self._background = background
        self._clock = clock
        # Set when a test ends a task's "submitting" early (end_submitting), by task id.
        self._submit_ended: dict[int, asyncio.Event] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- tasks -----------------------------------------------------------------------------------

    def start(self, task: Task) -> None:
        task.status = TASK_SUBMITTING
        self._loop = asyncio.get_running_loop()
        self._submit_ended[task.task_id] = asyncio.Event()
        task.runner = self._background.spawn(self._run(task), name=f"task-{task.task_id}")

    def concurrency(self, task: Task) -> int:
        if task.task_type == 1:
            enabled = sum(1 for a in self._agents_of(task) if a.enable == 0)
            return max(1, task.callout_rate * enabled)
        return max(1, self._config.auto_call_concurrency)

    async def _sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self._config.speed)

    def end_submitting(self, task_id: int) -> None:
        """The task leaves "submitting" now, whatever `submit_delay_s` says: tests that must see
        a task submitting set a long delay and end it here, instead of racing the clock. May be
        called from any thread."""
        ended = self._submit_ended.get(task_id)
        if ended is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(ended.set)

    async def _stay_submitting(self, task: Task) -> None:
        ended = self._submit_ended.setdefault(task.task_id, asyncio.Event())
        try:
            await asyncio.wait_for(ended.wait(), self._config.submit_delay_s / self._config.speed)
        except TimeoutError:
            pass
        finally:
            self._submit_ended.pop(task.task_id, None)

    async def _run(self, task: Task) -> None:
        # Poll often enough to notice a changed callout rate or a cancel within a simulated second.
        poll_s = max(0.02, 1.0 / self._config.speed)
        in_flight: set[asyncio.Task[None]] = set()
        try:
            await self._stay_submitting(task)
            if task.status == TASK_SUBMITTING:
                task.status = TASK_CALLING
            pending: Iterator[TaskNumber] = (
                n for n in task.numbers if n.status == NUMBER_NOT_CALLED
            )
            next_number = next(pending, None)
            while True:
                if task.status == TASK_CALLING:
                    limit = self.concurrency(task)
                    while next_number is not None and len(in_flight) < limit:
                        next_number.status = NUMBER_CALLING
                        in_flight.add(asyncio.create_task(self._call(task, next_number)))
                        next_number = next(pending, None)
                if not in_flight:
                    break
                done, in_flight = await asyncio.wait(
                    in_flight, timeout=poll_s, return_when=asyncio.FIRST_COMPLETED
                )
                for call in done:
                    if call.exception() is not None:
                        log.error("simulated call failed", exc_info=call.exception())
            if task.status == TASK_CALLING:
                task.status = TASK_COMPLETED
        finally:
            for call in in_flight:
                call.cancel()
            task.runner = None

    def _agents_of(self, task: Task) -> list[Agent]:
        groups = set(task.voice_group_ids)
        return [a for a in self._state.agents.values() if a.voice_group_id in groups]

    # --- one call --------------------------------------------------------------------------------

    async def _call(self, task: Task, number: TaskNumber) -> None:
        cfg = self._config
        rng = random.Random(f"{cfg.seed}:{task.task_id}:{number.called}:{number.call_count}")
        number.call_count += 1
        line = _Timeline(self._clock(), cfg.speed)
        seq = self._state.next_call_seq()
        start = line.start.astimezone(cfg.zone)
        call_id = f"{start:%y%m%d%H%M%S}{start.microsecond // 1000:03d}{seq:06d}"
        number.call_id = call_id
        number.seat_name = number.group_name = None
        number.labels = []
        ccode = task.ccode or country_code_of(number.called)
        called_info = ",".join(v for v in number.info if v) or None

        outcome = _Outcome()
        if rng.random() >= cfg.answer_rate:
            reason, _, sip, text = rng.choices(_FAILURES, weights=[f[1] for f in _FAILURES])[0]
            max_ring = task.max_ringing_time or cfg.default_max_ringing_time_s
            ring = {0: max_ring, 7: rng.uniform(2, 8), 4: rng.uniform(0.5, 2)}.get(
                reason, rng.uniform(1, 4)
            )
            await line.wait(ring)
            outcome.hangup_reason, outcome.hangup_code = reason, sip
            number.status, number.error_reason = NUMBER_ABNORMAL, text
        else:
            await line.wait(rng.uniform(3, 20))
            outcome.answer, outcome.hangup_code, outcome.direction = (
                line.now,
                "200",
                DIRECTION_CUSTOMER,
            )
            answered_at = line.elapsed
            early_hangup = rng.random() < cfg.early_hangup_rate
            talk = int(rng.triangular(8, 300, 40))
            agent_side_hangup = rng.random() >= 0.55
            agent_picks = [
                (rng.random() < cfg.agent_answer_rate, rng.uniform(2, 8))
                for _ in range(max(1, cfg.max_agents_rung_per_call))
            ]
            label_draw = (rng.random(), rng.randrange(1 << 16))
            if early_hangup:
                await line.wait(rng.randint(1, 6))
                outcome.hangup_reason = HANGUP_OUTBOUND_HUNG_UP
            elif task.task_type == 0 and not task.voice_group_ids:
                await line.wait(talk)  # automatic call: the prompt plays, nobody transfers
                outcome.hangup_reason = HANGUP_OUTBOUND_HUNG_UP
            else:
                agent = await self._transfer(task, number, call_id, called_info, line, agent_picks)
                if agent is None:
                    task.call_failures += 1
                    outcome.hangup_reason = HANGUP_TRANSFER_RINGING
                else:
                    task.transfers += 1
                    group = self._state.groups.get(agent.voice_group_id)
                    outcome.agent, outcome.group_name = agent, group.name if group else None
                    if group and group.label_names and label_draw[0] < 0.4:
                        outcome.labels = [group.label_names[label_draw[1] % len(group.label_names)]]
                    await line.wait(talk)
                    outcome.hangup_reason = HANGUP_AFTER_TRANSFER
                    if agent_side_hangup:
                        outcome.direction = DIRECTION_AGENT
                    self._release(agent, group.wrap_up_time if group else None)
            outcome.duration = int(line.elapsed - answered_at)
            number.status, number.error_reason = NUMBER_CALLED, None
        self._finish(task, number, call_id, ccode, called_info, line, outcome)

    async def _transfer(
        self,
        task: Task,
        number: TaskNumber,
        call_id: str,
        called_info: str | None,
        line: _Timeline,
        agent_picks: list[tuple[bool, float]],
    ) -> Agent | None:
        """Ring idle agents one after another; every ring is a ringing push. The agent who answers, or None."""
        cfg = self._config
        missed: list[Agent] = []
        waited = 0.0
        wait_limit = max(
            (
                self._state.groups[g].timeout_wait_sec or 0
                for g in task.voice_group_ids
                if g in self._state.groups
            ),
            default=0,
        )
        for picks_up, ring_s in agent_picks:
            agent = self._idle_agent(task, missed)
            while agent is None:
                if not any(a.enable == 0 for a in self._agents_of(task)) or waited >= wait_limit:
                    return None
                await line.wait(1.0)  # the customer waits in the queue for a free agent
                waited += 1.0
                agent = self._idle_agent(task, missed)
            agent.status = AGENT_BUSY
            group = self._state.groups.get(agent.voice_group_id)
            self._pushes.ringing(
                [
                    {
                        "callId": call_id,
                        "type": RINGING_GROUP_CALL if task.task_type == 1 else RINGING_CALL_CENTER,
                        "taskId": task.task_id,
                        "called": number.called,
                        "calledInfo": called_info,
                        "seatGroupName": group.name if group else None,
                        "noAnswerSipList": [a.account for a in missed],
                        "sipAccount": agent.account,
                        "callinEventTime": format_time(line.now, cfg.zone),
                    }
                ]
            )
            agent.rings.append((line.now, picks_up))
            if picks_up:
                await line.wait(ring_s)
                if self._state.agents.get(agent.key_id) is agent:
                    return agent
            else:
                await line.wait(cfg.agent_ring_timeout_s)
                self._release(agent, None)
            missed.append(agent)
        return None

    def _idle_agent(self, task: Task, exclude: list[Agent]) -> Agent | None:
        candidates = [a for a in self._agents_of(task) if a.available and a not in exclude]
        return min(candidates, key=lambda a: (a.idle_since, a.key_id), default=None)

    def _release(self, agent: Agent, wrap_up_s: int | None) -> None:
        if self._state.agents.get(agent.key_id) is not agent or agent.status != AGENT_BUSY:
            return
        if not wrap_up_s:
            agent.status, agent.idle_since = AGENT_IDLE, asyncio.get_running_loop().time()
            return
        agent.status = AGENT_WRAP_UP

        async def wrap_up() -> None:
            await self._sleep(wrap_up_s)
            if agent.status == AGENT_WRAP_UP:
                agent.status, agent.idle_since = AGENT_IDLE, asyncio.get_running_loop().time()

        self._background.spawn(wrap_up(), name=f"wrap-up-{agent.key_id}")

    def _finish(
        self,
        task: Task,
        number: TaskNumber,
        call_id: str,
        ccode: str,
        called_info: str | None,
        line: _Timeline,
        outcome: _Outcome,
    ) -> None:
        agent = outcome.agent
        duration = outcome.duration
        rate = Decimal(self._config.rate_per_minute)
        # Billed per started minute of an answered call.
        cost = rate * math.ceil(duration / 60) if outcome.answer is not None else Decimal(0)
        self._state.balance -= cost
        start = line.start.astimezone(self._config.zone)
        session_id = f"{start:%y%m%d%H%M%S}{self._state.next_call_seq() % 100000:05d}"
        record = CallRecord(
            call_id=call_id,
            call_session_id=session_id,
            called=number.called,
            called_info=called_info,
            caller=task.display_num
            or (agent.display_num if agent else None)
            or self._config.default_display_num,
            ccode=ccode,
            agent_name=agent.name if agent else None,
            agent_group_name=outcome.group_name,
            agent_account=agent.account if agent else None,
            call_duration=duration,
            call_type=CALL_TYPE_GROUP_TO_AGENT if task.task_type == 1 else CALL_TYPE_OUTBOUND,
            hangup_code=outcome.hangup_code,
            hangup_reason=outcome.hangup_reason,
            hanging_direction=outcome.direction,
            labels=outcome.labels,
            base_cost=cost,
            cost=cost,
            remark="",
            call_start=line.start,
            answer=outcome.answer,
            call_end=line.now,
            voice_url=(f"https://recordings.simulator.invalid/{session_id}.mp3" if agent else None),
            task_id=task.task_id,
            voice_group_id=agent.voice_group_id if agent else None,
            seat_id=agent.key_id if agent else None,
        )
        number.seat_name = record.agent_name
        number.group_name = record.agent_group_name
        number.labels = list(record.labels)
        self._state.records.append(record)
        self._pushes.record(record.push_body(self._config.zone))
