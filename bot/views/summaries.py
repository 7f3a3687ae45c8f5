"""The daily summary's text: pure functions of figures already counted (HTML, every value escaped)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.render import esc
from bot.reports.figures import DayFigures, Tally
from bot.reports.words import duration, hangup_reason

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
    return f"{day:%a} {day.day} {day:%b %Y}"


def _n(value: int) -> str:
    return f"{value:,}"


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def change(now: float, before: float) -> str:
    """▲ 12% / ▼ 3% / = against the day before."""
    if now == before:
        return "= same as the day before"
    if not before:
        return "▲ up from 0 the day before"
    delta = (now - before) / before * 100
    arrow = "▲" if delta > 0 else "▼"
    return f"{arrow} {abs(delta):.0f}% vs {before:,.0f}" if abs(delta) >= 0.5 else "≈ same as the day before"


def _tally(name: str, t: Tally) -> str:
    return (
        f"• {esc(name)}: {_n(t.calls)} calls, {_n(t.answered)} answered "
        f"({_pct(t.answered, t.calls)}), talk {duration(t.talk_seconds)}"
    )


def empty_day(day: date, groups: list[str], zone_name: str, title: str = "Daily summary") -> str:
    """The one line a day without calls gets."""
    shown = ", ".join(esc(g) for g in groups[:5]) + (" …" if len(groups) > 5 else "")
    return (
        f"<b>{esc(title)} · {day_label(day)}</b> ({esc(zone_name)}): no calls in this chat's "
        f"agent groups ({shown})."
    )


def summary_text(
    figures: DayFigures,
    previous: DayFigures,
    *,
    zone_name: str,
    groups: list[str],
    tasks: list[TaskLine] = (),  # type: ignore[assignment]
    late: bool = False,
    title: str = "Daily summary",
) -> str:
    """The whole summary; essential lines first so a caption cut would lose only the details."""
    head = f"<b>{esc(title)} · {day_label(figures.day)}</b> ({esc(zone_name)})"
    late_note = "<i>Sent late: it was due earlier, when the bot was not running.</i>"
    if not figures.calls:
        lines = [empty_day(figures.day, groups, zone_name, title)]
        lines += [late_note] if late else []
        lines += _task_lines(tasks)
        return "\n".join(lines)
    if late:
        head += "\n" + late_note
    f, p = figures, previous
    lines = [
        head,
        f"Calls: <b>{_n(f.calls)}</b> ({change(f.calls, p.calls)})",
        f"Answered: <b>{_n(f.answered)}</b> · {_pct(f.answered, f.calls)} "
        f"({change(f.answered, p.answered)})",
        f"Talk time: {duration(f.talk_seconds)} total · "
        f"{duration(f.average_talk)} average per answered call",
        f"Transfers to agents: {_n(f.transfers)} · failed calls: {_n(f.failures)}",
    ]
    if f.costed:
        lines.append(f"Cost: {f.cost:,.2f} USD ({_n(f.costed)} calls priced)")
    if len(f.by_group) > 1:
        lines.append("\n<b>By agent group</b>")
        ranked = sorted(f.by_group.items(), key=lambda kv: (-kv[1].calls, kv[0]))
        lines += [_tally(name, t) for name, t in ranked]
    if f.by_agent:
        lines.append("\n<b>Top agents</b> (answered calls · talk time)")
        ranked_agents = sorted(
            f.by_agent.items(), key=lambda kv: (-kv[1].answered, -kv[1].talk_seconds, kv[0])
        )
        lines += [
            f"• {esc(name)}: {_n(t.answered)} · {duration(t.talk_seconds)}"
            for name, t in ranked_agents[:TOP]
        ]
    if f.missed_rings:
        lines.append("\n<b>Missed the most rings</b>")
        lines += [
            f"• {esc(sip)}: {_n(count)}"
            for sip, count in sorted(f.missed_rings.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
        ]
    if f.hangup_reasons:
        lines.append("\n<b>How calls ended</b>")
        lines += [
            f"• {esc(hangup_reason(code))}: {_n(count)}"
            for code, count in sorted(f.hangup_reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
    lines += _task_lines(tasks)
    return "\n".join(lines)


def _task_lines(tasks: list[TaskLine]) -> list[str]:
    if not tasks:
        return []
    lines = ["\n<b>Tasks</b>"]
    for t in tasks:
        remark = f" “{esc(t.remark)}”" if t.remark else ""
        progress = ""
        if t.total:
            done = t.total - (t.remaining or 0)
            progress = f", {_n(done)} of {_n(t.total)} numbers called ({_pct(done, t.total)})"
        lines.append(f"• {t.task_id}{remark}: {esc(t.state)}{progress}")
    return lines
