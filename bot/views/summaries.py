"""The figures of a chat's calls as text: the daily summary (the digest, bot/views/digests.py, uses its counters). Pure functions of
figures already counted (HTML, every value escaped).

The counters carry the task card's words (bot/views/relayed.py `task_card_message`): called,
answered, transferred, failed, lost waiting for an agent. Every share is written by `percent` and
every count of things by `ngettext` with whole sentences and named placeholders, so that a
translation catalogue can take them over as they are.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from bot import i18n
from bot.i18n import _
from bot.laaffic.codes import hangup_reason
from bot.render import esc
from bot.views.counts import count_text, percent
from bot.views.values import duration

if TYPE_CHECKING:
    from bot.reports.figures import DayFigures, Tally

TOP = 5  # rows per ranking; enough to act on, short enough for a phone screen


@dataclass(frozen=True)
class TaskLine:
    """A task that ran that day, as the summary shows it."""

    task_id: int
    remark: str | None
    state: str
    total: int | None
    remaining: int | None


def day_label(day: date) -> str:
    return i18n.day_label(day)


def _n(value: int) -> str:
    return i18n.number(value)


def change(now: float, before: float) -> str:
    """▲ 12% / ▼ 3% / = against the day before."""
    if now == before:
        return _("= same as the day before")
    if not before:
        return _("▲ up from 0 the day before")
    delta = (now - before) / before * 100
    arrow = "▲" if delta > 0 else "▼"
    return (
        _(
            "{arrow} {change}% vs {before}",
            arrow=arrow,
            change=f"{abs(delta):.0f}",
            before=f"{before:,.0f}",
        )
        if abs(delta) >= 0.5
        else _("≈ same as the day before")
    )


def counters_line(calls: int, answered: int, transfers: int, failures: int, lost: int) -> str:
    """The task card's counters of a set of calls, in the card's words and order."""
    line = _(
        "Called <b>{calls}</b> · answered {answered} ({rate}) · transferred {transfers} · "
        "failed {failures}",
        calls=_n(calls),
        answered=_n(answered),
        rate=percent(answered, calls),
        transfers=_n(transfers),
        failures=_n(failures),
    )
    if lost:
        line += _(" · lost waiting for an agent {lost}", lost=_n(lost))
    return line


def talk_time_line(talk_seconds: int, average_s: float | None) -> str:
    return _(
        "Talk time: {total} total · {average} average per answered call",
        total=duration(talk_seconds),
        average=duration(average_s),
    )


def cost_line(cost: float, costed: int) -> str:
    """What the priced calls cost (records without a cost are not priced)."""
    priced = count_text(costed, "{n} call priced", "{n} calls priced")
    return _(
        "Cost: {cost} USD ({priced})",
        cost=f"{cost:,.2f}",
        priced=priced,
    )


def failure_reasons_line(reasons: Counter[int]) -> str | None:
    """ "Failed: no answer 6 · busy 3", most first; None when nothing failed."""
    if not reasons:
        return None
    ranked = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    return _("Failed: ") + " · ".join(f"{esc(hangup_reason(code))} {_n(n)}" for code, n in ranked)


def _tally(name: str, t: Tally) -> str:
    calls = count_text(t.calls, "{n} call", "{n} calls")
    return _(
        "• {name}: {calls}, {answered} answered ({rate}), talk {talk}",
        name=esc(name),
        calls=calls,
        answered=_n(t.answered),
        rate=percent(t.answered, t.calls),
        talk=duration(t.talk_seconds),
    )


def empty_day(day: date, zone_name: str, title: str | None = None) -> str:
    """The one line a day without calls gets (`title`: "Daily summary")."""
    title = title or _("Daily summary")
    return _(
        "<b>{title} · {day_label}</b> ({zone_name}): no calls counted in this chat.",
        title=esc(title),
        day_label=day_label(day),
        zone_name=esc(zone_name),
    )


def summary_text(
    figures: DayFigures,
    previous: DayFigures,
    *,
    zone_name: str,
    tasks: list[TaskLine] = (),  # type: ignore[assignment]
    late: bool = False,
    title: str | None = None,
) -> str:
    """The whole summary; essential lines first so a caption cut would lose only the details."""
    title = title or _("Daily summary")
    head = f"<b>{esc(title)} · {day_label(figures.day)}</b> ({esc(zone_name)})"
    late_note = _("<i>Sent late: it was due earlier, when the bot was not running.</i>")
    if not figures.calls:
        lines = [empty_day(figures.day, zone_name, title)]
        lines += [late_note] if late else []
        lines += _task_lines(tasks)
        return "\n".join(lines)
    if late:
        head += "\n" + late_note
    f, p = figures, previous
    lines = [
        head,
        counters_line(f.calls, f.answered, f.transfers, f.failures, f.lost),
        _(
            "Against the day before: called {calls}; answered {answered}",
            calls=change(f.calls, p.calls),
            answered=change(f.answered, p.answered),
        ),
        talk_time_line(f.talk_seconds, f.average_talk),
    ]
    reasons = failure_reasons_line(f.failure_reasons)
    if reasons:
        lines.append(reasons)
    if f.costed:
        lines.append(cost_line(f.cost, f.costed))
    if len(f.by_group) > 1:
        lines.append(_("\n<b>By agent group</b>"))
        ranked = sorted(f.by_group.items(), key=lambda kv: (-kv[1].calls, kv[0]))
        lines += [_tally(name or _("no agent group"), t) for name, t in ranked]
    if f.by_agent:
        lines.append(_("\n<b>Top agents</b> (answered calls · talk time)"))
        ranked_agents = sorted(
            f.by_agent.items(), key=lambda kv: (-kv[1].answered, -kv[1].talk_seconds, kv[0])
        )
        lines += [
            f"• {esc(name)}: {_n(t.answered)} · {duration(t.talk_seconds)}"
            for name, t in ranked_agents[:TOP]
        ]
    if f.missed_rings:
        lines.append(_("\n<b>Missed the most rings</b>"))
        lines += [
            f"• {esc(sip)}: {_n(count)}"
            for sip, count in sorted(f.missed_rings.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
        ]
    if f.hangup_reasons:
        lines.append(_("\n<b>How calls ended</b>"))
        lines += [
            f"• {esc(hangup_reason(code))}: {_n(count)}"
            for code, count in sorted(f.hangup_reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
    lines += _task_lines(tasks)
    return "\n".join(lines)


def _task_lines(tasks: list[TaskLine]) -> list[str]:
    if not tasks:
        return []
    lines = [_("\n<b>Tasks</b>")]
    for t in tasks:
        remark = f" “{esc(t.remark)}”" if t.remark else ""
        progress = ""
        if t.total:
            done = t.total - (t.remaining or 0)
            progress = _(
                ", {done} of {total} numbers called ({share})",
                done=_n(done),
                total=_n(t.total),
                share=percent(done, t.total),
            )
        lines.append(f"• {t.task_id}{remark}: {esc(t.state)}{progress}")
    return lines
