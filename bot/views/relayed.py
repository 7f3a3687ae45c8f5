"""Relayed ringing events and call records: pure functions of typed rows and the chat's display
settings → HTML.

Every value that came from the platform goes through `bot.render.esc` here. A recording link is
made only for http(s) URLs, percent-encoded and then escaped, so no pushed value can add markup or a
script link. A time on another day than the push's arrival (in the chat's zone) shows its date.
"""

from __future__ import annotations

import re
import urllib.parse

from bot.i18n import _
from bot.laaffic.codes import call_type, hangup_words, hung_up_by
from bot.render import code, esc
from bot.views.values import (
    ChatDisplay,
    clock,
    cut,
    duration,
    in_chat_language,
    mask_digits,
    names,
    show_number,
)
from storage.models import CallRecord, RingingEvent, json_strings

# One event is one message: values the platform may send at any length are cut when shown (the
# stored row keeps them whole). Without this a 60 KB calledInfo became 15 messages in the chat,
# and each one took a relay slot the chat's other events were waiting for.
CALLED_INFO_SHOWN = 200  # characters of the callee information
MISSED_SHOWN = 10  # agents named in "Already missed by"
# A longer recording address is not linked: no real one is that long, and the splitter would
# repeat the whole <a href> tag in every part of the message.
RECORDING_URL_MAX = 2048


# A callee number as the ringing and call renderers below show it: after "Callee: " or
# "<kind> call · ", in a <code> span, "+<country> <national>" or the national digits alone.
# The Chinese labels too (bot/locales/zh): a Chinese chat's waiting messages are masked the same way.
_SHOWN_CALLEE = re.compile(
    r"(Callee: |call · |被叫号码：|(?:呼叫|外呼|呼入|坐席) · )<code>(\+\d+ )?(\d+)</code>"
)


def mask_shown_numbers(html: str) -> str:
    """A rendered ringing or call message with its callee number masked, as if it had been
    rendered for a masked chat (for messages still waiting when a chat turns masking on)."""
    return _SHOWN_CALLEE.sub(
        lambda m: f"{m.group(1)}<code>{m.group(2) or ''}{mask_digits(m.group(3))}</code>", html
    )


def direction_words(direction: int | None) -> str | None:
    return hung_up_by(direction)


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
    label = _("Recording")
    return f'<a href="{esc(safe_url)}">{esc(label)}</a>'


def _missed_names(missed: list[str]) -> str:
    shown = names(missed[:MISSED_SHOWN])
    more = len(missed) - MISSED_SHOWN
    return _("{shown} and {more} more", shown=shown, more=more) if more > 0 else shown


# ---- messages ------------------------------------------------------------------------------------


@in_chat_language
def ringing_message(event: RingingEvent, display: ChatDisplay) -> str:
    """An agent's phone is ringing now: who, which group, which callee, which task, who missed."""
    group = f" · {esc(event.group_name)}" if event.group_name else ""
    lines = [_("🔔 <b>Ringing</b>: agent <b>{agent}</b>", agent=esc(event.sip_account)) + group]
    callee = _(
        "Callee: {number}", number=code(show_number(event.called, mask=display.mask_numbers))
    )
    if event.called_info:
        callee += f" — {cut(event.called_info, CALLED_INFO_SHOWN)}"
    lines.append(callee)
    details = []
    if event.task_id is not None:
        details.append(_("Task {task}", task=code(event.task_id)))
    when = clock(event.event_at, display.zone, today=event.received_at)
    if when:
        # not a bare "at …" line
        details.append(_("at {time}", time=when) if details else _("Rang at {time}", time=when))
    if details:
        lines.append(" · ".join(details))
    missed = json_strings(event.no_answer_sip_list)
    if missed:
        lines.append(_("Already missed by: {agents}", agents=_missed_names(missed)))
    return "\n".join(lines)


@in_chat_language
def call_message(record: CallRecord, display: ChatDisplay) -> str:
    """One call record: callee, agent, answered or not, talk time, how it ended, cost, recording."""
    kind = call_type(record.call_type)
    head = _("✅ <b>Answered</b>") if record.answered else _("❌ <b>Not answered</b>")
    number = show_number(record.called, ccode=record.ccode, mask=display.mask_numbers)
    lines = [f"{head} {esc(kind)} · {code(number)}"]
    if record.called_info:
        lines[0] += f" — {cut(record.called_info, CALLED_INFO_SHOWN)}"
    if record.agent_name or record.agent_account:
        agent = _("Agent: <b>{agent}</b>", agent=esc(record.agent_name or record.agent_account))
        if record.agent_group_name:
            agent += f" · {esc(record.agent_group_name)}"
        lines.append(agent)
    else:
        lines.append(_("Agent: none (no agent answered)"))
    timing = _("Talk time: {duration}", duration=duration(record.call_duration))
    started = clock(record.call_start_at, display.zone, today=record.received_at)
    if started:
        timing += " · " + _("started {time}", time=started)
    lines.append(timing)
    ended = [
        w
        for w in (hangup_words(record.hangup_reason), direction_words(record.hanging_direction))
        if w
    ]
    if ended:
        separator = _("; ")
        lines.append(_("Ended: {how}", how=esc(separator.join(ended))))
    if record.cost is not None:
        lines.append(_("Cost: {amount} USD", amount=f"{record.cost:.4f}"))
    link = recording_link(record.voice_url)
    if link:
        lines.append(link)
    return "\n".join(lines)
