"""Task cards and answers, as pure views: data already fetched in, HTML text and buttons out.
The live task card the relay edits in place while a task runs is here too (`live_card_message`).

No platform or database call happens here; the handlers fetch, these render. Every value from
members or the platform goes through `esc` (via `clip`, `code`). A card that has to stay one
message (it is edited in place) is kept under Telegram's limit on purpose: long values are clipped,
and if it is still too long, whole lines are dropped from the end with a note, never cut mid-tag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.i18n import CHOICES, N_, _, n_
from bot.i18n import t as in_language
from bot.laaffic import limits
from bot.laaffic.models import AgentGroup, Task, TaskType
from bot.render import MESSAGE_LIMIT, code, esc
from bot.services import task_actions
from bot.services.task_actions import ActionOutcome, ActionResult, RerunChoice
from bot.services.task_submit import SubmitOutcome, SubmitStatus
from bot.views.counts import percent
from bot.views.keyboards import Keyboard
from bot.views.values import ChatDisplay, clock, in_chat_language
from storage.models import ActionKind, DraftStatus, DraftStep, TaskDraft, UploadPart

GROUPS_PER_PAGE = 6
TYPE_LABEL = {
    TaskType.AUTOMATIC: N_("automatic calling"),
    TaskType.AGENT_GROUP_CALL: N_("group call with transfer to agents"),
}

STALE_BUTTON = N_(
    "This button is no longer valid (its card is out of date, or it was not made for this "
    "chat); nothing was done. Open a fresh card with /tasks or /newtask.",
)


@dataclass(frozen=True)
class Card:
    text: str
    rows: Keyboard | None = None


def clip(value: object, length: int) -> str:
    """`value` escaped, shortened to `length` characters first (with …) when longer."""
    text = "—" if value is None else str(value)
    return esc(text if len(text) <= length else f"{text[: length - 1]}…")


def one_message(lines: Sequence[str], limit: int = MESSAGE_LIMIT) -> str:
    """Join whole lines; drop lines from the end (saying so) rather than exceed one message."""
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    note = _("… (shortened to fit one message)")
    kept: list[str] = []
    size = len(note)
    for line in lines:
        if size + len(line) + 1 > limit:
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join([*kept, note])


def mention(user_id: int, name: str | None) -> str:
    """A link to the member that Telegram counts as a mention (what ForceReply's selective uses)."""
    you = _("you")
    return f'<a href="tg://user?id={int(user_id)}">{clip(name or you, 64)}</a>'


def type_label(task_type: int | None) -> str:
    if task_type is None:
        return "—"
    try:
        return _(TYPE_LABEL[TaskType(task_type)])
    except ValueError:
        return _("type {code}", code=task_type)


# ---- the draft card -----------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupPage:
    """One page of the group picker: the groups this chat may use (admins: all), sorted."""

    groups: Sequence[AgentGroup]
    page: int

    @property
    def pages(self) -> int:
        return max(1, (len(self.groups) + GROUPS_PER_PAGE - 1) // GROUPS_PER_PAGE)

    @property
    def shown(self) -> Sequence[AgentGroup]:
        return self.groups[self.page * GROUPS_PER_PAGE : (self.page + 1) * GROUPS_PER_PAGE]


@dataclass(frozen=True)
class GroupFacts:
    """What the confirmation card says about the chosen group (fetched from the platform)."""

    group: AgentGroup
    agents: int
    enabled: int


def numbers_in(part: UploadPart | None) -> int:
    if part is None:
        return 0
    return part.platform_total if part.platform_total is not None else part.rows


def _head(draft: TaskDraft, part: UploadPart | None) -> list[str]:
    name = clip(part.file_name if part else "?", 64)
    lines = [
        _(
            "<b>New calling task</b> from <code>{name}</code> ({numbers_in} numbers)",
            name=name,
            numbers_in=numbers_in(part),
        )
    ]
    if draft.task_type is not None:
        lines.append(
            _(
                "Type: {type_label}",
                type_label=type_label(draft.task_type),
            )
        )
    return lines


def _nt(draft: TaskDraft, *parts: object) -> str:
    return ":".join(["nt", str(draft.id), *map(str, parts)])


def _cancel_row(draft: TaskDraft) -> list[tuple[str, str]]:
    return [(_("✖ Cancel"), _nt(draft, "cancel"))]


def draft_card(
    draft: TaskDraft,
    part: UploadPart | None,
    *,
    groups: GroupPage | None = None,
    facts: GroupFacts | None = None,
    display_num: str | None = None,
    group_name: str | None = None,
) -> Card:
    """The card for the draft's current step (a *_TEXT step shows its step's buttons: another
    member may still choose with a button). `groups` is needed at the group step; `facts` and
    `display_num` are shown on the confirmation card; `group_name` names the chosen group."""
    step = draft.step
    if step == DraftStep.CONFIRM:
        return confirm_card(draft, part, facts=facts, display_num=display_num)
    lines = _head(draft, part)
    if step == DraftStep.TYPE:
        lines.append(_("How should the numbers be called?"))
        return Card(
            one_message(lines),
            [
                [(_("🤖 Automatic calling"), _nt(draft, "type", int(TaskType.AUTOMATIC)))],
                [(_("👥 Transfer to agents"), _nt(draft, "type", int(TaskType.AGENT_GROUP_CALL)))],
                _cancel_row(draft),
            ],
        )
    if step == DraftStep.GROUP:
        assert groups is not None, "the group step needs the group list"
        return _group_card(draft, lines, groups)
    if draft.voice_group_id:
        lines.append(_group_line(draft.voice_group_id, group_name))
    if step in (DraftStep.RATE, DraftStep.RATE_TEXT):
        lines.append(_("Call-out rate: how many numbers to dial at once per available agent?"))
        rows: list[list[tuple[str, str]]] = [
            [(str(n), _nt(draft, "rate", n)) for n in (1, 2, 3)]
            + [(_("Type…"), _nt(draft, "rate", "typed"))],
            _cancel_row(draft),
        ]
        return Card(one_message(lines), rows)
    if draft.callout_rate and draft.task_type == TaskType.AGENT_GROUP_CALL:
        lines.append(
            _(
                "Call-out rate: {callout_rate}",
                callout_rate=draft.callout_rate,
            )
        )
    if step in (DraftStep.RING, DraftStep.RING_TEXT):
        lines.append(_("Maximum ringing time before giving up on a number?"))
        rows = [
            [(_("{seconds} s", seconds=n), _nt(draft, "ring", n)) for n in (30, 40, 60)]
            + [(_("Type…"), _nt(draft, "ring", "typed"))],
            [(_("Platform default"), _nt(draft, "ring", 0)), *_cancel_row(draft)],
        ]
        return Card(one_message(lines), rows)
    if draft.max_ringing_time:
        lines.append(
            _(
                "Maximum ringing: {max_ringing_time} s",
                max_ringing_time=draft.max_ringing_time,
            )
        )
    lines.append(
        _(
            "Add a remark (shown on the platform, at most {remark_max} characters)?",
            remark_max=limits.REMARK_MAX,
        )
    )
    rows = [
        [
            (_("No remark"), _nt(draft, "remark", "none")),
            (_("Type…"), _nt(draft, "remark", "typed")),
        ],
        _cancel_row(draft),
    ]
    return Card(one_message(lines), rows)


def _agents(count: int) -> str:
    return n_("{count} agent", "{count} agents", count)


def _group_card(draft: TaskDraft, lines: list[str], page: GroupPage) -> Card:
    automatic = draft.task_type == TaskType.AUTOMATIC
    rows: list[list[tuple[str, str]]] = [
        [
            (
                f"{g.group_name[:40]} ({_agents(g.count_seat or 0)})",
                _nt(draft, "grp", g.voice_group_id),
            )
        ]
        for g in page.shown
    ]
    nav: list[tuple[str, str]] = []
    if page.page > 0:
        nav.append((_("◀ Previous"), _nt(draft, "gpage", page.page - 1)))
    if page.page + 1 < page.pages:
        nav.append((_("Next ▶"), _nt(draft, "gpage", page.page + 1)))
    if automatic:
        nav.append((_("No group"), _nt(draft, "grp", 0)))
    if nav:
        rows.append(nav)
    rows.append(_cancel_row(draft))
    if not page.groups:
        lines.append(
            _("This chat has no agent groups; automatic calling works without one. Press No group.")
        )
    elif automatic:
        lines.append(
            _(
                "Which agent group? Optional for automatic calling. (page {value} of {pages})",
                value=page.page + 1,
                pages=page.pages,
            )
        )
    else:
        lines.append(
            _(
                "Which agent group? (page {value} of {pages})",
                value=page.page + 1,
                pages=page.pages,
            )
        )
    return Card(one_message(lines), rows)


def _summary(
    draft: TaskDraft,
    part: UploadPart | None,
    facts: GroupFacts | None,
    display_num: str | None,
    group_name: str | None = None,
) -> list[str]:
    name = clip(part.file_name if part else "?", 64)
    lines = [
        _(
            "Numbers: {numbers_in} from <code>{name}</code>",
            numbers_in=numbers_in(part),
            name=name,
        ),
        _(
            "Type: {type_label}",
            type_label=type_label(draft.task_type),
        ),
    ]
    if facts is not None:
        lines.append(
            _(
                "Agent group: {clip} ({voice_group_id}), {enabled} enabled agent(s) of {agents}",
                clip=clip(facts.group.group_name, 40),
                voice_group_id=code(facts.group.voice_group_id),
                enabled=facts.enabled,
                agents=facts.agents,
            )
        )
    elif draft.voice_group_id:
        lines.append(_group_line(draft.voice_group_id, group_name))
    else:
        lines.append(_("Agent group: none"))
    if draft.task_type == TaskType.AGENT_GROUP_CALL:
        lines.append(
            _(
                "Call-out rate: {callout_rate} number(s) at once per available agent",
                callout_rate=draft.callout_rate,
            )
        )
    ring = f"{draft.max_ringing_time} s" if draft.max_ringing_time else _("platform default")
    lines.append(
        _(
            "Maximum ringing: {ring}",
            ring=ring,
        )
    )
    lines.append(
        _(
            "Remark: {value}",
            value=clip(draft.remark, limits.REMARK_MAX) if draft.remark else "—",
        )
    )
    if display_num:
        lines.append(
            _(
                "Display number: {display_num}",
                display_num=code(display_num),
            )
        )
    return lines


def confirm_card(
    draft: TaskDraft,
    part: UploadPart | None,
    *,
    facts: GroupFacts | None = None,
    display_num: str | None = None,
    group_name: str | None = None,
) -> Card:
    lines = [
        _("<b>Confirm the calling task</b>"),
        *_summary(draft, part, facts, display_num, group_name),
    ]
    if draft.task_type == TaskType.AGENT_GROUP_CALL and facts is not None and facts.enabled == 0:
        lines.append(
            _("⚠ No enabled agents in this group: calls would have nobody to transfer to.")
        )
    lines.append(_("Calls start as soon as you press Submit, and they cost money."))
    if draft.error:
        lines.append(
            _(
                "✗ Last attempt failed: {clip}",
                clip=clip(draft.error, 600),
            )
        )
    rows = [[(_("✅ Submit"), _nt(draft, "submit")), *_cancel_row(draft)]]
    return Card(one_message(lines), rows)


def _group_line(group_id: int, group_name: str | None) -> str:
    if group_name:
        return _(
            "Agent group: {clip} ({group_id})",
            clip=clip(group_name, 40),
            group_id=code(group_id),
        )
    return _(
        "Agent group: {group_id}",
        group_id=code(group_id),
    )


def submitting_card(
    draft: TaskDraft,
    part: UploadPart | None,
    display_num: str | None,
    group_name: str | None = None,
) -> Card:
    lines = [
        _("<b>Submitting the calling task…</b>"),
        *_summary(draft, part, None, display_num, group_name),
    ]
    lines.append(_("⏳ Waiting for the platform's answer."))
    return Card(one_message(lines))


def submit_result_card(
    outcome: SubmitOutcome, display_num: str | None, group_name: str | None = None
) -> Card:
    draft, part = outcome.draft, outcome.part
    if outcome.status == SubmitStatus.SUBMITTED:
        task_id = outcome.task_id
        assert task_id is not None
        lines = [
            _(
                "<b>✓ Task {task_id} submitted</b>",
                task_id=code(task_id),
            ),
            *_summary(draft, part, None, display_num, group_name),
            _(
                "Follow it with /task {task_id}.",
                task_id=task_id,
            ),
        ]
        return Card(one_message(lines), task_buttons_new(task_id, draft.task_type))
    if outcome.status == SubmitStatus.SUBMITTED_WITHOUT_ID:
        return Card(
            _(
                "✓ The platform accepted the task but did not say its id, so the bot could not record "
                "it here. Tasks for this chat's agent groups show in /tasks; a ccbot admin can find it "
                "with /tasks all.",
            )
        )
    if outcome.status == SubmitStatus.OUTCOME_UNKNOWN:
        return Card(
            one_message(
                [
                    f"⚠ {clip(outcome.error, 1500)}",
                    _(
                        "Check /tasks (or the Laaffic console) before creating it again, so nobody is called "
                        "twice.",
                    ),
                ]
            )
        )
    # REFUSED: the draft is open again; the card says why and offers Submit again.
    return confirm_card(draft, part, display_num=display_num, group_name=group_name)


def draft_state(draft: TaskDraft) -> str:
    """Why a draft's buttons do nothing any more (plain text, for a toast)."""
    status = draft.status
    if status == DraftStatus.SUBMITTING:
        return _("This task is being submitted right now; nothing more was done.")
    if status == DraftStatus.SUBMITTED:
        which = (
            _(
                " as task {task_id}",
                task_id=draft.task_id,
            )
            if draft.task_id
            else ""
        )
        return _(
            "Already submitted{which}; nothing more was done.",
            which=which,
        )
    if status == DraftStatus.CANCELLED:
        return _("This draft was cancelled; start again with /newtask.")
    if status == DraftStatus.UNKNOWN:
        return _(
            "The platform's answer to this submit was lost; check /tasks before trying again. "
            "Nothing more was done.",
        )
    return _("This draft is still open.")


CANCELLED_DRAFT = N_("✖ Task draft cancelled; nothing was submitted.")


_PROMPT_LIMITS = {
    "callout_rate_min": limits.CALLOUT_RATE_MIN,
    "callout_rate_max": limits.CALLOUT_RATE_MAX,
    "ringing_time_min": limits.RINGING_TIME_MIN,
    "ringing_time_max": limits.RINGING_TIME_MAX,
    "remark_max": limits.REMARK_MAX,
}
_PROMPTED_FOR = {
    DraftStep.RATE_TEXT: (
        N_(
            "the call-out rate, a whole number from {callout_rate_min} to {callout_rate_max}",
        )
    ),
    DraftStep.RING_TEXT: (
        N_(
            "the maximum ringing time in seconds, from {ringing_time_min} to {ringing_time_max}",
        )
    ),
    DraftStep.REMARK_TEXT: N_(
        "the remark, at most {remark_max} characters",
    ),
}


def typed_prompt(draft: TaskDraft, step: DraftStep, asked: str) -> str:
    """The ForceReply prompt; names the draft (so a reply finds it) and mentions who is asked."""
    return _(
        "⌨ {asked}, reply to this message with {prompted_for} for task draft #{id}.",
        asked=asked,
        prompted_for=_(_PROMPTED_FOR[step], **_PROMPT_LIMITS),
        id=draft.id,
    )


def prompted_step(prompt_text: str) -> DraftStep | None:
    """Which question a prompt (as members see its text) asked, so that a reply to an older
    prompt is not taken as the answer to the draft's newer question."""
    for step, what in _PROMPTED_FOR.items():
        for language in CHOICES:  # a prompt stays answerable after /settings language
            if in_language(language)(what, **_PROMPT_LIMITS) in prompt_text:
                return step
    return None


# ---- the task card ------------------------------------------------------------------------------


def _tk(task_id: int, *parts: object) -> str:
    return ":".join(["tk", str(task_id), *map(str, parts)])


def task_buttons(task: Task) -> Keyboard:
    """Only what the task's state allows (the same checks the commands make)."""
    row: list[tuple[str, str]] = [(_("🔄 Refresh"), _tk(task.task_id, "refresh"))]
    if task_actions.can_cancel(task):
        row.append((_("✖ Cancel"), _tk(task.task_id, "cancel")))
    second: list[tuple[str, str]] = []
    if task_actions.can_change_rate(task):
        second.append((_("⚙ Rate…"), _tk(task.task_id, "rate")))
    if task_actions.can_rerun(task):
        second.append((_("🔁 Re-run failed"), _tk(task.task_id, "rerun")))
    return [row, second] if second else [row]


def task_buttons_new(task_id: int, task_type: int | None) -> Keyboard:
    """A task just submitted: it has not ended, so Cancel (and Rate for agent calls) apply."""
    row = [(_("🔄 Refresh"), _tk(task_id, "refresh")), (_("✖ Cancel"), _tk(task_id, "cancel"))]
    if task_type == TaskType.AGENT_GROUP_CALL:
        return [row, [(_("⚙ Rate…"), _tk(task_id, "rate"))]]
    return [row]


def _progress(task: Task) -> tuple[int, int, int, str]:
    total = task.total_count or 0
    remaining = task.remain_count or 0
    done = max(total - remaining, 0)
    if task.completed_rate is not None:
        rate = f"{task.completed_rate:.0f}%"
    else:
        rate = percent(done, total)
    return done, total, remaining, rate


def task_card(task: Task) -> Card:
    done, total, remaining, rate = _progress(task)
    groups = task.seat_group_name or ", ".join(map(str, task.voice_group_ids or [])) or "—"
    lines = [
        _(
            "<b>Task {task_id}</b> — {clip}",
            task_id=code(task.task_id),
            clip=clip(task.status_label, 40),
        ),
        _(
            "Type: {type_label}",
            type_label=type_label(task.task_type),
        ),
        _(
            "Group: {clip}",
            clip=clip(groups, 300),
        ),
        _(
            "Progress: {done} of {total} called ({rate}), {remaining} remaining",
            done=done,
            total=total,
            rate=rate,
            remaining=remaining,
        ),
        _(
            "Transferred to agents: {value} · lost calls: {value2}",
            value=task.transfers_num or 0,
            value2=task.call_failures_num or 0,
        ),
    ]
    if task.remark:
        lines.append(
            _(
                "Remark: {clip}",
                clip=clip(task.remark, 200),
            )
        )
    return Card(one_message(lines), task_buttons(task))


def all_tasks_title(shown: int, total: int) -> str:
    """The title of `/tasks all` (HTML, for `task_list`)."""
    return _(
        "<b>All tasks of the application</b> (latest {shown} of {total})",
        shown=shown,
        total=total,
    )


def chat_tasks_title(count: int) -> str:
    """The title of `/tasks` (HTML, for `task_list`)."""
    return _(
        "<b>This chat's tasks</b> ({count})",
        count=count,
    )


def task_list(title: str, tasks: Sequence[Task]) -> str:
    lines = [title]
    for t in tasks:
        done, total, *_unused = _progress(t)
        remark = f" · {clip(t.remark, 60)}" if t.remark else ""
        lines.append(
            _(
                "• {task} {state} — {done}/{total} called{remark}",
                task=code(t.task_id),
                state=clip(t.status_label, 40),
                done=done,
                total=total,
                remark=remark,
            )
        )
    lines.append(_("Details: /task &lt;id&gt;"))
    return "\n".join(lines)


def rate_picker(task_id: int) -> Card:
    values = range(limits.CALLOUT_RATE_MIN, limits.CALLOUT_RATE_MAX + 1)
    buttons = [(str(n), _tk(task_id, "setrate", n)) for n in values]
    rows = [buttons[i : i + 5] for i in range(0, len(buttons), 5)]
    return Card(
        _(
            "New call-out rate for task {task_id}:",
            task_id=code(task_id),
        ),
        rows,
    )


# ---- confirmation questions and their outcome ---------------------------------------------------


def question(
    action_id: int,
    task: Task,
    kind: ActionKind,
    *,
    rate: int | None = None,
    which: RerunChoice | None = None,
) -> Card:
    tid = code(task.task_id)
    if kind == ActionKind.CANCEL:
        text = _(
            "Cancel task {tid}? {value} number(s) not yet called will not be called. This can't be "
            "undone (a re-run can call them later).",
            tid=tid,
            value=task.remain_count or 0,
        )
        yes = _("Yes, cancel the task")
    elif kind == ActionKind.RATE:
        text = _(
            "Change the call-out rate of task {tid} to {rate}?",
            tid=tid,
            rate=rate,
        )
        yes = _(
            "Yes, set rate {rate}",
            rate=rate,
        )
    else:
        choice = which or RerunChoice.FAILED
        text = _(
            "Re-run task {tid}: {asking}? The calls cost money.",
            tid=tid,
            asking=choice.asking,
        )
        yes = _(
            "Yes, re-run {value}",
            value=choice.value,
        )
    return Card(
        text, [[(yes, f"pa:{action_id}:yes"), (_("Keep it as it is"), f"pa:{action_id}:no")]]
    )


def action_result(outcome: ActionOutcome) -> str:
    tid = code(outcome.task_id)
    if outcome.result == ActionResult.DECLINED:
        return _("Left as it is; nothing was changed.")
    if outcome.result == ActionResult.ALREADY_ANSWERED:
        return _("This question was already answered; nothing more was done.")
    if outcome.result == ActionResult.FAILED:
        # The question's buttons are gone with this edit: say where to see the task now.
        return _(
            "✗ {clip}\n/task {task_id} shows the task as it is now.",
            clip=clip(outcome.error, 1500),
            task_id=outcome.task_id,
        )
    if outcome.kind == ActionKind.CANCEL:
        return _(
            "✓ Task {tid} cancelled.",
            tid=tid,
        )
    if outcome.kind == ActionKind.RATE:
        return _(
            "✓ Task {tid} now calls at rate {rate}.",
            tid=tid,
            rate=outcome.payload.rate,
        )
    return _(
        "✓ Task {tid}: {queued}.",
        tid=tid,
        queued=outcome.rerun.queued,
    )


# ---- the live task card -------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskProgress:
    """A task's counters as the live card shows them (`bot.relay.task_card` polls them)."""

    task_id: int
    state: str  # "calling", "completed", "cancelled", … (TaskStatus labels)
    status: int | None
    total: int
    remaining: int
    transferred: int
    lost: int
    answered: int | None = None  # None when the detail query could not tell
    failed: int | None = None
    remark: str | None = None
    final: bool = False
    updated_at: datetime | None = None

    @property
    def called(self) -> int:
        return max(self.total - self.remaining, 0)


@in_chat_language
def live_card_message(progress: TaskProgress, display: ChatDisplay) -> str:
    """The live task card, edited in place until the task is completed or cancelled."""
    icon = {"completed": "✅", "cancelled": "✖", "submission failed": "⚠"}.get(progress.state, "📋")
    lines = [
        _(
            "{icon} <b>Task {task_id}</b> — {state}",
            icon=icon,
            task_id=code(progress.task_id),
            state=esc(_(progress.state)),
        )
    ]
    if progress.remark:
        lines[0] += f" · {esc(progress.remark)}"
    total = progress.total
    share = f" ({percent(progress.called, total)})" if total else ""
    lines.append(
        _(
            "Called {called} of {total}{share} · remaining {remaining}",
            called=progress.called,
            total=total,
            share=share,
            remaining=progress.remaining,
        )
    )
    counters = [
        _("answered {count}", count=progress.answered) if progress.answered is not None else None,
        _("transferred {count}", count=progress.transferred),
        _("failed {count}", count=progress.failed) if progress.failed is not None else None,
        _(
            "lost waiting for an agent {lost}",
            lost=progress.lost,
        )
        if progress.lost
        else None,
    ]
    lines.append(" · ".join(c for c in counters if c).capitalize())
    when = clock(progress.updated_at, display.zone)
    if progress.final:
        lines.append(
            _(
                "Final counters, {when}.",
                when=when,
            )
            if when
            else _("Final counters.")
        )
    elif when:
        lines.append(
            _(
                "Updated {when}; this card updates itself.",
                when=when,
            )
        )
    return "\n".join(lines)
