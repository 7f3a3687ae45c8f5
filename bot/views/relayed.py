"""The relay's messages: pure functions of typed rows and the chat's display settings → HTML.

This is the one renderer for relayed text: every value that came from the platform or a user goes
through `bot.render.esc` here, and nowhere else builds relay HTML. A recording link is made only for
http(s) URLs, percent-encoded and then escaped, so no pushed value can add markup or a script link.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

import phonenumbers

from bot.laaffic.codes import CALL_TYPES, HANGING_DIRECTIONS, HANGUP_REASONS
from bot.render import code, esc
from bot.views.counts import percent
from storage.models import CallRecord, RingingEvent

if TYPE_CHECKING:
    from bot.relay.task_card import TaskProgress

MASK = "•"
_NON_DIGITS = re.compile(r"\D+")
# One event is one message: values the platform may send at any length are cut when shown (the
# stored row keeps them whole). Without this a 60 KB calledInfo became 15 messages in the chat,
# and each one took a relay slot the chat's other events were waiting for.
CALLED_INFO_SHOWN = 200  # characters of the callee information
MISSED_SHOWN = 10  # agents named in "Already missed by"
# A longer recording address is not linked: no real one is that long, and the splitter would
# repeat the whole <a href> tag in every part of the message.
RECORDING_URL_MAX = 2048

@dataclass(frozen=True)
class ChatDisplay:
    """How one chat wants values shown."""

    mask_numbers: bool = False
    zone: tzinfo | None = None  # the chat's time zone (None: UTC)


# ---- values --------------------------------------------------------------------------------------


def mask_digits(digits: str) -> str:
    """Keep the first 2 and last 3 digits of a national number: 9812345210 → 98•••••210."""
    n = len(digits)
    if n >= 7:
        return digits[:2] + MASK * (n - 5) + digits[-3:]
    if n >= 4:
        return digits[:1] + MASK * (n - 3) + digits[-2:]
    return MASK * n


def _split_country(digits: str, ccode: str | None) -> tuple[str | None, str]:
    if ccode and ccode.isdigit() and digits.startswith(ccode) and len(digits) > len(ccode) + 4:
        return ccode, digits[len(ccode) :]
    try:
        number = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return None, digits
    if not number.country_code or not phonenumbers.is_possible_number(number):
        return None, digits
    country = str(number.country_code)
    return country, digits[len(country) :]


# A callee number as the ringing and call renderers below show it: after "Callee: " or
# "<kind> call · ", in a <code> span, "+<country> <national>" or the national digits alone.
_SHOWN_CALLEE = re.compile(r"(Callee: |call · )<code>(\+\d+ )?(\d+)</code>")


def mask_shown_numbers(html: str) -> str:
    """A rendered ringing or call message with its callee number masked, as if it had been
    rendered for a masked chat (for messages still waiting when a chat turns masking on)."""
    return _SHOWN_CALLEE.sub(
        lambda m: f"{m.group(1)}<code>{m.group(2) or ''}{mask_digits(m.group(3))}</code>", html
    )


def show_number(number: str | None, *, ccode: str | None = None, mask: bool = False) -> str:
    """A callee number as plain text: "+91 9812345210", or masked "+91 98•••••210"."""
    if not number:
        return "unknown number"
    digits = _NON_DIGITS.sub("", number)
    if not digits:
        return MASK * len(number) if mask else number
    country, national = _split_country(digits, ccode)
    national = mask_digits(national) if mask else national
    return f"+{country} {national}" if country else national


def duration(seconds: float | None) -> str:
    """Seconds as m:ss, h:mm:ss from an hour on: 12 → 0:12, 754 → 12:34, 4000 → 1:06:40; "—"
    when not known. The one formatter for talk time, relay lag and uptime (summaries, /calls and
    /status use it too). Rounded to the second; below zero is 0:00 (a clock a little ahead of ours)."""
    if seconds is None:
        return "—"
    total = max(int(round(seconds)), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def hangup_words(reason: int | None) -> str | None:
    if reason is None:
        return None
    return HANGUP_REASONS.get(reason, f"hang-up reason {reason}")


def direction_words(direction: int | None) -> str | None:
    if direction is None:
        return None
    return HANGING_DIRECTIONS.get(direction, f"hang-up side {direction}")


def recording_link(url: str | None) -> str | None:
    """An <a href> to the recording, only for an absolute http(s) URL; None otherwise."""
    if not url:
        return None
    url = url.strip()
    if len(url) > RECORDING_URL_MAX:
        return None
    if any(ord(ch) < 0x20 or ch.isspace() for ch in url):
        return None
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    # Percent-encode what may not stand in an attribute (quotes, angle brackets), then escape &.
    safe_url = urllib.parse.quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")
    return f'<a href="{esc(safe_url)}">Recording</a>'


def _clock(moment: datetime | None, zone: tzinfo | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(zone).strftime("%H:%M:%S") if zone else moment.strftime("%H:%M:%S")


def _json_list(raw: str | None) -> list[str]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def _names(values: Iterable[str]) -> str:
    return ", ".join(esc(v) for v in values)


def _cut(value: str, limit: int) -> str:
    """`value` as escaped HTML, cut to `limit` characters (before escaping) with an ellipsis."""
    return esc(value if len(value) <= limit else value[: limit - 1].rstrip() + "…")


def _missed_names(missed: list[str]) -> str:
    shown = _names(missed[:MISSED_SHOWN])
    more = len(missed) - MISSED_SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


# ---- messages ------------------------------------------------------------------------------------


def ringing_message(event: RingingEvent, display: ChatDisplay) -> str:
    """An agent's phone is ringing now: who, which group, which callee, which task, who missed."""
    group = f" · {esc(event.group_name)}" if event.group_name else ""
    lines = [f"🔔 <b>Ringing</b>: agent <b>{esc(event.sip_account)}</b>{group}"]
    callee = f"Callee: {code(show_number(event.called, mask=display.mask_numbers))}"
    if event.called_info:
        callee += f" — {_cut(event.called_info, CALLED_INFO_SHOWN)}"
    lines.append(callee)
    details = []
    if event.task_id is not None:
        details.append(f"Task {code(event.task_id)}")
    when = _clock(event.event_at, display.zone)
    if when:
        details.append(f"at {when}" if details else f"Rang at {when}")  # not a bare "at …" line
    if details:
        lines.append(" · ".join(details))
    missed = _json_list(event.no_answer_sip_list)
    if missed:
        lines.append(f"Already missed by: {_missed_names(missed)}")
    return "\n".join(lines)


def call_message(record: CallRecord, display: ChatDisplay) -> str:
    """One call record: callee, agent, answered or not, talk time, how it ended, cost, recording."""
    kind = CALL_TYPES.get(record.call_type or 0, "call")
    head = "✅ <b>Answered</b>" if record.answered else "❌ <b>Not answered</b>"
    number = show_number(record.called, ccode=record.ccode, mask=display.mask_numbers)
    lines = [f"{head} {esc(kind)} · {code(number)}"]
    if record.called_info:
        lines[0] += f" — {_cut(record.called_info, CALLED_INFO_SHOWN)}"
    if record.agent_name or record.agent_account:
        agent = f"Agent: <b>{esc(record.agent_name or record.agent_account)}</b>"
        if record.agent_group_name:
            agent += f" · {esc(record.agent_group_name)}"
        lines.append(agent)
    else:
        lines.append("Agent: none (the call reached no agent)")
    timing = f"Talk time: {duration(record.call_duration)}"
    started = _clock(record.call_start_at, display.zone)
    if started:
        timing += f" · started {started}"
    lines.append(timing)
    ended = [
        w
        for w in (hangup_words(record.hangup_reason), direction_words(record.hanging_direction))
        if w
    ]
    if ended:
        lines.append(f"Ended: {esc('; '.join(ended))}")
    if record.cost is not None:
        lines.append(f"Cost: {record.cost:.4f} USD")
    link = recording_link(record.voice_url)
    if link:
        lines.append(link)
    return "\n".join(lines)


def task_card_message(progress: TaskProgress, display: ChatDisplay) -> str:
    """The live task card, edited in place until the task is completed or cancelled."""
    icon = {"completed": "✅", "cancelled": "✖", "submission failed": "⚠"}.get(progress.state, "📋")
    lines = [f"{icon} <b>Task {code(progress.task_id)}</b> — {esc(progress.state)}"]
    if progress.remark:
        lines[0] += f" · {esc(progress.remark)}"
    total = progress.total
    share = f" ({percent(progress.called, total)})" if total else ""
    lines.append(f"Called {progress.called} of {total}{share} · remaining {progress.remaining}")
    counters = [
        f"answered {progress.answered}" if progress.answered is not None else None,
        f"transferred {progress.transferred}",
        f"failed {progress.failed}" if progress.failed is not None else None,
        f"lost waiting for an agent {progress.lost}" if progress.lost else None,
    ]
    lines.append(" · ".join(c for c in counters if c).capitalize())
    when = _clock(progress.updated_at, display.zone)
    if progress.final:
        lines.append(f"Final counters, {when}." if when else "Final counters.")
    elif when:
        lines.append(f"Updated {when}; this card updates itself.")
    return "\n".join(lines)
