"""Every text of the call-centre alerts: the alert message and its recovery, the button answers,
and the replies of /alerts, /notify sound, /topic and /topics. Pure functions of their data; the
sentences are whole (no sentence is glued from pieces), so each can be translated as one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from bot.render import code, esc

TAKE_LABEL = "I'm on it"
SNOOZE_LABEL = "Snooze 1 h"
CALLS_LABEL = "Show calls"

RULE_NAMES = ("unanswered", "answer-rate", "missed-rings", "no-pushes", "balance", "task-stalled")


def _time(moment: datetime, zone: tzinfo) -> str:
    return f"{moment.astimezone(zone):%H:%M}"


def _amount(value: float) -> str:
    return f"{value:,.2f}"


def _n(value: float) -> str:
    return f"{value:g}"


# ---- the alert message ---------------------------------------------------------------------------


def alert_headline(rule: str, subject: str, figures: Mapping[str, Any]) -> str:
    """What crossed which threshold, as one HTML sentence (or two)."""
    f = figures
    s = esc(subject)
    if rule == "unanswered":
        return (
            f"🔴 <b>Unanswered calls</b>: {f['streak']} calls in a row of the group <b>{s}</b> "
            f"were not answered (the alert is set at {_n(f['threshold'])} in a row)."
        )
    if rule == "answer-rate":
        return (
            f"🔴 <b>Answer rate</b>: the group <b>{s}</b> answered {f['rate']}% of its calls over "
            f"the last {_n(f['minutes'])} minutes ({f['answered']} of {f['calls']}), below the "
            f"alert's {_n(f['threshold'])}%."
        )
    if rule == "missed-rings":
        return (
            f"🔴 <b>Missed rings</b>: the agent <b>{s}</b> missed {f['missed']} rings in a row "
            f"(the alert is set at {_n(f['threshold'])}). The agent may be away from the phone."
        )
    if rule == "no-pushes":
        return (
            f"🔴 <b>No pushes</b>: task <b>{s}</b> is running, but no ringing event or call record "
            f"came for it for {f['minutes']} minutes (the alert is set at "
            f"{_n(f['threshold'])}). The push address may be wrong or the listener unreachable: "
            f"an admin can check it with ccbot check."
        )
    if rule == "balance":
        return (
            f"🔴 <b>Balance</b>: the account balance is {_amount(f['balance'])}, below the "
            f"alert's {_amount(f['threshold'])}. Top the account up before calls stop."
        )
    if rule == "task-stalled":
        return (
            f"🔴 <b>Task stalled</b>: task <b>{s}</b> is running, but its progress has not changed "
            f"for {f['minutes']} minutes (the alert is set at {_n(f['threshold'])})."
        )
    return f"🔴 <b>{esc(rule)}</b>: {s}"


@dataclass(frozen=True)
class AlertState:
    """What the alert message shows below its headline."""

    started_at: datetime
    taken_by: str | None = None  # "@alice" or a name
    taken_at: datetime | None = None
    snoozed_until: datetime | None = None
    snoozed_by: str | None = None
    cleared_at: datetime | None = None
    turned_off: bool = False


def alert_message(
    rule: str, subject: str, figures: Mapping[str, Any], state: AlertState, zone: tzinfo
) -> str:
    lines = [alert_headline(rule, subject, figures), f"Since {_time(state.started_at, zone)}."]
    if state.taken_by and state.taken_at:
        lines.append(f"👤 Taken by {esc(state.taken_by)} at {_time(state.taken_at, zone)}.")
    if state.snoozed_until and state.cleared_at is None and state.snoozed_by:
        lines.append(
            f"💤 Snoozed until {_time(state.snoozed_until, zone)} by {esc(state.snoozed_by)}: "
            f"no new {esc(rule)} alert about {esc(subject)} in this chat until then."
        )
    elif state.snoozed_until and state.cleared_at is None:
        lines.append(
            f"💤 Snoozed until {_time(state.snoozed_until, zone)}: no new {esc(rule)} alert "
            f"about {esc(subject)} in this chat until then."
        )
    if state.cleared_at is not None:
        if state.turned_off:
            lines.append(
                f"⚪ The {esc(rule)} alert was turned off at {_time(state.cleared_at, zone)}."
            )
        else:
            lines.append(f"✅ Recovered at {_time(state.cleared_at, zone)}.")
    return "\n".join(lines)


def recovered_note(rule: str, subject: str) -> str:
    """The short silent message sent when an alert's condition clears."""
    s = esc(subject)
    if rule == "unanswered":
        return f"✅ Recovered: the group <b>{s}</b> answered a call again."
    if rule == "answer-rate":
        return f"✅ Recovered: the answer rate of the group <b>{s}</b> is back up."
    if rule == "missed-rings":
        return f"✅ Recovered: the agent <b>{s}</b> answered a ring again."
    if rule == "no-pushes":
        return f"✅ Recovered: pushes for task <b>{s}</b> arrive again (or the task stopped)."
    if rule == "balance":
        return "✅ Recovered: the account balance is back above the alert's threshold."
    if rule == "task-stalled":
        return f"✅ Recovered: task <b>{s}</b> is moving again (or it stopped)."
    return f"✅ Recovered: {esc(rule)} {s}."


def admin_copy(chat_title: str, headline: str) -> str:
    """A no-pushes alert as the admins get it in private (it may be the deployment's fault)."""
    return f"{headline}\nTold to the team chat <b>{esc(chat_title)}</b>."


# ---- button answers ------------------------------------------------------------------------------

TAKEN_TOAST = "It's yours: the alert now says you are on it."
SNOOZED_TOAST = "Snoozed for 1 hour in this chat."
WRONG_CHAT = "This alert belongs to another chat, so nothing was done here."
GONE = "This alert is no longer known (it was cleaned up); nothing was done."
NO_CALLS = "There are no calls behind this alert to show."


def already_taken(name: str, at: str) -> str:
    return f"{name} already has this alert (since {at}); nothing was changed."


def rule_is_off(rule: str) -> str:
    return (
        f"The {rule} alert is turned off in this chat, so this button does nothing now. "
        f"An operator can turn it back on with /alerts {rule} on."
    )


def already_cleared(rule: str) -> str:
    return f"This {rule} alert has already recovered; nothing was changed."


def calls_behind(title: str, lines: Sequence[str]) -> str:
    """The reply of [Show calls]: `lines` are HTML lines already rendered."""
    return "\n".join([f"<b>{esc(title)}</b>", *lines])


def calls_title(rule: str, subject: str) -> str:
    if rule == "missed-rings":
        return f"The last rings of the agent {subject}"
    if rule in ("no-pushes", "task-stalled"):
        return f"The latest calls of task {subject}"
    return f"The calls behind the {rule} alert of the group {subject}"


def call_line(when: str, number: str, answered: bool, agent: str | None) -> str:
    outcome = "answered" if answered else "not answered"
    by = f" by {esc(agent)}" if agent and answered else ""
    return f"{esc(when)}  {esc(number)}  {outcome}{by}"


def ring_line(when: str, number: str, outcome: str) -> str:
    return f"{esc(when)}  {esc(number)}  {esc(outcome)}"


# ---- /alerts -------------------------------------------------------------------------------------


def _threshold_words(rule: str, values: Mapping[str, float]) -> str:
    v = values
    if rule == "unanswered":
        return f"{_n(v['calls'])} calls in a row not answered"
    if rule == "answer-rate":
        return (
            f"answer rate below {_n(v['percent'])}% over {_n(v['minutes'])} minutes, with at "
            f"least {_n(v['min_calls'])} calls"
        )
    if rule == "missed-rings":
        return f"an agent misses {_n(v['rings'])} rings in a row"
    if rule == "no-pushes":
        return f"a running task sends no push for {_n(v['minutes'])} minutes"
    if rule == "balance":
        return f"the balance falls below {_amount(v['amount'])}"
    if rule == "task-stalled":
        return f"a running task's progress does not change for {_n(v['minutes'])} minutes"
    return ""


@dataclass(frozen=True)
class RuleLine:
    rule: str
    enabled: bool
    values: Mapping[str, float]
    open_alerts: Sequence[str]  # subjects alerting now


def rules_list(rules: Sequence[RuleLine]) -> str:
    lines = ["<b>Alerts in this chat</b>"]
    for r in rules:
        if r.rule == "balance" and not r.enabled:
            state = "off (turn it on with an amount, for example /alerts balance 100)"
            lines.append(f"• {code(r.rule)}: {esc(state)}")
            continue
        state = f"on: {_threshold_words(r.rule, r.values)}" if r.enabled else "off"
        lines.append(f"• {code(r.rule)}: {esc(state)}")
        if r.open_alerts:
            lines.append(f"   alerting now: {esc(', '.join(r.open_alerts))}")
    lines.append("")
    lines.append(
        "Operators change a rule with /alerts &lt;rule&gt; &lt;values&gt;, for example "
        "/alerts unanswered 8, or turn it off with /alerts unanswered off."
    )
    return "\n".join(lines)


def rule_saved(rule: str, values: Mapping[str, float]) -> str:
    return (
        f"Saved. The {code(rule)} alert is on in this chat: {esc(_threshold_words(rule, values))}."
    )


def rule_off(rule: str, closed: int) -> str:
    if closed:
        return (
            f"Saved. The {code(rule)} alert is off in this chat; its {closed} open alert(s) were "
            f"marked as turned off. Turn it back on with /alerts {esc(rule)} on."
        )
    return (
        f"Saved. The {code(rule)} alert is off in this chat. Turn it back on with "
        f"/alerts {esc(rule)} on."
    )


def unknown_rule(word: str) -> str:
    return (
        f"There is no alert rule called “{word}”. The rules are: {', '.join(RULE_NAMES)}. "
        f"See them with /alerts."
    )


def not_a_number(rule: str, word: str, name: str) -> str:
    return (
        f"“{word}” is not a number, so the {rule} alert was not changed. Type the {name} as "
        f"digits, for example /alerts {rule} {_example(rule)}."
    )


def not_whole(rule: str, word: str, name: str) -> str:
    return (
        f"The {name} must be a whole number, and “{word}” is not, so the {rule} alert was not "
        f"changed. For example: /alerts {rule} {_example(rule)}."
    )


def out_of_range(rule: str, word: str, name: str, low: float, high: float) -> str:
    return (
        f"The {name} of the {rule} alert must be between {_n(low)} and {_n(high)}, and {word} "
        f"is not, so nothing was changed. For example: /alerts {rule} {_example(rule)}."
    )


def too_many(rule: str, count: int) -> str:
    return (
        f"The {rule} alert takes at most {count} number(s), so nothing was changed. For "
        f"example: /alerts {rule} {_example(rule)}."
    )


def balance_needs_amount() -> str:
    return (
        "The balance alert needs the amount to alert below, so nothing was changed. For "
        "example: /alerts balance 100."
    )


def _example(rule: str) -> str:
    return {
        "unanswered": "5",
        "answer-rate": "30 15 20",
        "missed-rings": "3",
        "no-pushes": "10",
        "balance": "100",
        "task-stalled": "15",
    }.get(rule, "5")


THRESHOLD_NAMES = {
    "calls": "number of calls",
    "percent": "percentage",
    "minutes": "number of minutes",
    "min_calls": "smallest number of calls",
    "rings": "number of rings",
    "amount": "amount",
}


# ---- /notify sound, /topic, /topics --------------------------------------------------------------


def sounds_list(loud: Mapping[str, bool]) -> str:
    lines = ["<b>Sound in this chat</b>"]
    for word, on in loud.items():
        lines.append(f"• {code(word)}: {'loud' if on else 'silent'}")
    lines.append("")
    lines.append(
        "Change one with /notify sound &lt;kind&gt; on|off, for example /notify sound calls on."
    )
    return "\n".join(lines)


def sound_saved(word: str, on: bool) -> str:
    if on:
        return f"Saved. {esc(word.capitalize())} messages now make a sound in this chat."
    return f"Saved. {esc(word.capitalize())} messages now arrive silently in this chat."


def unknown_kind(word: str, words: Sequence[str]) -> str:
    return f"“{word}” is not a kind of message I know. Say one of: {', '.join(words)}."


def sound_usage() -> str:
    return "Say the kind and on or off, for example /notify sound calls on."


TOPIC_NOT_FORUM = (
    "/topic works in a group with topics (a forum): this chat has none, so nothing was changed. "
    "Everything goes where /bind put it."
)
TOPIC_NOT_IN_TOPIC = (
    "Type /topic inside the topic that should receive those messages (open the topic, then send "
    "the command there), so I know which topic you mean. Nothing was changed."
)


def topic_usage(words: Sequence[str]) -> str:
    return (
        f"Say which messages go to this topic: one of {', '.join(words)}, for example "
        f"/topic alerts. /topic alerts off sends them back to the chat's main place."
    )


def topic_saved(word: str) -> str:
    return (
        f"Saved. {esc(word.capitalize())} now go to this topic. The rest keeps going where "
        f"/bind put it."
    )


def topic_cleared(word: str) -> str:
    return f"Saved. {esc(word.capitalize())} go to the chat's main place again."


def topics_list(topics: Mapping[str, int | None]) -> str:
    lines = ["<b>Topics in this chat</b>"]
    for word, thread in topics.items():
        where = f"topic {thread}" if thread is not None else "the main place (where /bind put it)"
        lines.append(f"• {code(word)}: {esc(where)}")
    lines.append("")
    lines.append("Send a kind to a topic with /topic &lt;kind&gt; typed inside that topic.")
    return "\n".join(lines)
