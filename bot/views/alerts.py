"""Every text of the call-centre alerts: the alert message and its recovery, the button answers,
and the replies of /alerts, /notify sound, /topic and /topics. Pure functions of their data; the
sentences are whole (no sentence is glued from pieces), so each can be translated as one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

from bot.i18n import N_, _, is_english, n_
from bot.render import code, esc

TAKE_LABEL = N_("I'm on it")
SNOOZE_LABEL = N_("Snooze 1 h")
CALLS_LABEL = N_("Show calls")

RULE_NAMES = ("unanswered", "answer-rate", "missed-rings", "no-pushes", "balance", "task-stalled")

# The subject of the balance alert in /alerts (actions.list_rules names it so).
THE_ACCOUNT = N_("the account")


def _time(moment: datetime, zone: tzinfo) -> str:
    return f"{moment.astimezone(zone):%H:%M}"


def _amount(value: float) -> str:
    return f"{value:,.2f}"


def _n(value: float) -> str:
    """5, 0.01, 1000000000: never an exponent ("1e+09") in a sentence a team lead reads."""
    text = format(Decimal(repr(float(value))).normalize(), "f")
    return text


def _listed(words: Sequence[str]) -> str:
    """Words in a row, the language's way ("a, b" / "a、b")."""
    return _(", ").join(words)


def _kind(word: str) -> str:
    """A kind of message as a sentence names it: English starts the sentence with it
    ("Calls messages…"); other languages keep the word as it is typed."""
    return word.capitalize() if is_english() else word


# ---- the alert message ---------------------------------------------------------------------------


def alert_headline(rule: str, subject: str, figures: Mapping[str, Any]) -> str:
    """What crossed which threshold, as one HTML sentence (or two)."""
    f = figures
    s = esc(subject)
    if rule == "unanswered":
        return _(
            "🔴 <b>Unanswered calls</b>: {streak} calls in a row of the group <b>{group}</b> "
            "were not answered (the alert is set at {threshold} in a row).",
            streak=f["streak"],
            group=s,
            threshold=_n(f["threshold"]),
        )
    if rule == "answer-rate":
        return _(
            # The per cent signs come with the values: "{rate}% of" reads as a %-format to the
            # catalog's checker.
            "🔴 <b>Answer rate</b>: the group <b>{group}</b> answered {rate} of its calls over "
            "the last {minutes} minutes ({answered} of {calls}), below the alert's {threshold}.",
            group=s,
            rate=f"{f['rate']}%",
            minutes=_n(f["minutes"]),
            answered=f["answered"],
            calls=f["calls"],
            threshold=f"{_n(f['threshold'])}%",
        )
    if rule == "missed-rings":
        return _(
            "🔴 <b>Missed rings</b>: the agent <b>{agent}</b> missed {missed} rings in a row "
            "(the alert is set at {threshold}). The agent may be away from the phone.",
            agent=s,
            missed=f["missed"],
            threshold=_n(f["threshold"]),
        )
    if rule == "no-pushes":
        return _(
            "🔴 <b>No pushes</b>: task <b>{task}</b> is running, but no ringing event or call "
            "record came for it for {minutes} minutes (the alert is set at {threshold}). The push "
            "address may be wrong or the listener unreachable: an admin can check it with "
            "ccbot check.",
            task=s,
            minutes=f["minutes"],
            threshold=_n(f["threshold"]),
        )
    if rule == "balance":
        return _(
            "🔴 <b>Balance</b>: the account balance is {balance}, below the alert's "
            "{threshold}. Top the account up before calls stop.",
            balance=_amount(f["balance"]),
            threshold=_amount(f["threshold"]),
        )
    if rule == "task-stalled":
        return _(
            "🔴 <b>Task stalled</b>: task <b>{task}</b> is running, but its progress has not "
            "changed for {minutes} minutes (the alert is set at {threshold}).",
            task=s,
            minutes=f["minutes"],
            threshold=_n(f["threshold"]),
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
    lines = [
        alert_headline(rule, subject, figures),
        _("Since {time}.", time=_time(state.started_at, zone)),
    ]
    if state.taken_by and state.taken_at:
        lines.append(
            _(
                "👤 Taken by {name} at {time}.",
                name=esc(state.taken_by),
                time=_time(state.taken_at, zone),
            )
        )
    if state.snoozed_until and state.cleared_at is None and state.snoozed_by:
        lines.append(
            _(
                "💤 Snoozed until {time} by {name}: no new {rule} alert about {subject} in this "
                "chat until then.",
                time=_time(state.snoozed_until, zone),
                name=esc(state.snoozed_by),
                rule=esc(rule),
                subject=esc(subject),
            )
        )
    elif state.snoozed_until and state.cleared_at is None:
        lines.append(
            _(
                "💤 Snoozed until {time}: no new {rule} alert about {subject} in this chat until "
                "then.",
                time=_time(state.snoozed_until, zone),
                rule=esc(rule),
                subject=esc(subject),
            )
        )
    if state.cleared_at is not None:
        if state.turned_off:
            lines.append(
                _(
                    "⚪ The {rule} alert was turned off at {time}.",
                    rule=esc(rule),
                    time=_time(state.cleared_at, zone),
                )
            )
        else:
            lines.append(_("✅ Recovered at {time}.", time=_time(state.cleared_at, zone)))
    return "\n".join(lines)


def recovered_note(rule: str, subject: str) -> str:
    """The short silent message sent when an alert's condition clears."""
    s = esc(subject)
    if rule == "unanswered":
        return _("✅ Recovered: the group <b>{group}</b> answered a call again.", group=s)
    if rule == "answer-rate":
        return _("✅ Recovered: the answer rate of the group <b>{group}</b> is back up.", group=s)
    if rule == "missed-rings":
        return _("✅ Recovered: the agent <b>{agent}</b> answered a ring again.", agent=s)
    if rule == "no-pushes":
        return _(
            "✅ Recovered: pushes for task <b>{task}</b> arrive again (or the task stopped).",
            task=s,
        )
    if rule == "balance":
        return _("✅ Recovered: the account balance is back above the alert's threshold.")
    if rule == "task-stalled":
        return _("✅ Recovered: task <b>{task}</b> is moving again (or it stopped).", task=s)
    return _("✅ Recovered: {rule} {subject}.", rule=esc(rule), subject=s)


def admin_copy(chat_title: str, headline: str) -> str:
    """A no-pushes alert as the admins get it in private (it may be the deployment's fault)."""
    told = _("Told to the team chat <b>{chat}</b>.", chat=esc(chat_title))
    return f"{headline}\n{told}"


# ---- button answers ------------------------------------------------------------------------------

TAKEN_TOAST = N_("It's yours: the alert now says you are on it.")
SNOOZED_TOAST = N_("Snoozed for 1 hour in this chat.")
WRONG_CHAT = N_("This alert belongs to another chat, so nothing was done here.")
GONE = N_("This alert is no longer known (it was cleaned up); nothing was done.")
NO_CALLS = N_("There are no calls behind this alert to show.")
BUTTON_INVALID = N_("This button is no longer valid; nothing was done.")
OPERATORS_ONLY = N_("Only members with the operator role can do this; nothing was done.")
SOMEONE = N_("someone")


def already_taken(name: str, at: str) -> str:
    return _(
        "{name} already has this alert (since {time}); nothing was changed.", name=name, time=at
    )


def rule_is_off(rule: str) -> str:
    return _(
        "The {rule} alert is turned off in this chat, so this button does nothing now. "
        "An operator can turn it back on with /alerts {rule} on.",
        rule=rule,
    )


def already_cleared(rule: str) -> str:
    return _("This {rule} alert has already recovered; nothing was changed.", rule=rule)


def calls_behind(title: str, lines: Sequence[str]) -> str:
    """The reply of [Show calls]: `lines` are HTML lines already rendered."""
    return "\n".join([f"<b>{esc(title)}</b>", *lines])


def calls_title(rule: str, subject: str) -> str:
    if rule == "missed-rings":
        return _("The last rings of the agent {agent}", agent=subject)
    if rule in ("no-pushes", "task-stalled"):
        return _("The latest calls of task {task}", task=subject)
    return _("The calls behind the {rule} alert of the group {group}", rule=rule, group=subject)


def call_line(when: str, number: str, answered: bool, agent: str | None) -> str:
    if answered and agent:
        return _(
            "{time}  {number}  answered by {agent}",
            time=esc(when),
            number=esc(number),
            agent=esc(agent),
        )
    if answered:
        return _("{time}  {number}  answered", time=esc(when), number=esc(number))
    return _("{time}  {number}  not answered", time=esc(when), number=esc(number))


# What became of a ring ([Show calls]: bot/alerts/actions.py CallShown.outcome).
RING_OUTCOMES = {
    "answered": N_("answered"),
    "not answered": N_("not answered"),
    "missed": N_("missed"),
    "no outcome yet": N_("no outcome yet"),
    "answered by the agent": N_("answered by the agent"),
    "rang an agent": N_("rang an agent"),
}


def ring_line(when: str, number: str, outcome: str) -> str:
    known = RING_OUTCOMES.get(outcome)
    shown = _(known) if known is not None else outcome
    return f"{esc(when)}  {esc(number)}  {esc(shown)}"


# ---- /alerts -------------------------------------------------------------------------------------


def _threshold_words(rule: str, values: Mapping[str, float]) -> str:
    v = values
    if rule == "unanswered":
        return _("{calls} calls in a row not answered", calls=_n(v["calls"]))
    if rule == "answer-rate":
        return _(
            "answer rate below {percent} over {minutes} minutes, with at least {min_calls} calls",
            percent=f"{_n(v['percent'])}%",
            minutes=_n(v["minutes"]),
            min_calls=_n(v["min_calls"]),
        )
    if rule == "missed-rings":
        return _("an agent misses {rings} rings in a row", rings=_n(v["rings"]))
    if rule == "no-pushes":
        return _("a running task sends no push for {minutes} minutes", minutes=_n(v["minutes"]))
    if rule == "balance":
        return _("the balance falls below {amount}", amount=_amount(v["amount"]))
    if rule == "task-stalled":
        return _(
            "a running task's progress does not change for {minutes} minutes",
            minutes=_n(v["minutes"]),
        )
    return ""


@dataclass(frozen=True)
class RuleLine:
    rule: str
    enabled: bool
    values: Mapping[str, float]
    open_alerts: Sequence[str]  # subjects alerting now


def _subject(subject: str) -> str:
    return _(THE_ACCOUNT) if subject == THE_ACCOUNT else subject


def rules_list(rules: Sequence[RuleLine]) -> str:
    lines = [_("<b>Alerts in this chat</b>")]
    for r in rules:
        if r.rule == "balance" and not r.enabled:
            state = _("off (turn it on with an amount, for example /alerts balance 100)")
            lines.append(f"• {code(r.rule)}: {esc(state)}")
            continue
        if r.enabled:
            state = _("on: {thresholds}", thresholds=_threshold_words(r.rule, r.values))
        else:
            state = _("off")
        lines.append(f"• {code(r.rule)}: {esc(state)}")
        if r.open_alerts:
            subjects = _listed([_subject(s) for s in r.open_alerts])
            lines.append(_("   alerting now: {subjects}", subjects=esc(subjects)))
    lines.append("")
    lines.append(
        _(
            "Operators change a rule with /alerts &lt;rule&gt; &lt;values&gt;, for example "
            "/alerts unanswered 8, or turn it off with /alerts unanswered off."
        )
    )
    return "\n".join(lines)


def rule_saved(rule: str, values: Mapping[str, float]) -> str:
    return _(
        "Saved. The {rule} alert is on in this chat: {thresholds}.",
        rule=code(rule),
        thresholds=esc(_threshold_words(rule, values)),
    )


def rule_off(rule: str, closed: int) -> str:
    if closed:
        return n_(
            "Saved. The {rule} alert is off in this chat; its {count} open alert was marked as "
            "turned off. Turn it back on with /alerts {name} on.",
            "Saved. The {rule} alert is off in this chat; its {count} open alerts were marked as "
            "turned off. Turn it back on with /alerts {name} on.",
            closed,
            rule=code(rule),
            name=esc(rule),
        )
    return _(
        "Saved. The {rule} alert is off in this chat. Turn it back on with /alerts {name} on.",
        rule=code(rule),
        name=esc(rule),
    )


def unknown_rule(word: str) -> str:
    return _(
        "There is no alert rule called “{word}”. The rules are: {rules}. See them with /alerts.",
        word=word,
        rules=_listed(RULE_NAMES),
    )


def not_a_number(rule: str, word: str, name: str) -> str:
    return _(
        "“{word}” is not a number, so the {rule} alert was not changed. Type the {name} as "
        "digits, for example /alerts {rule} {example}.",
        word=word,
        rule=rule,
        name=name,
        example=_example(rule),
    )


def not_whole(rule: str, word: str, name: str) -> str:
    return _(
        "The {name} must be a whole number, and “{word}” is not, so the {rule} alert was not "
        "changed. For example: /alerts {rule} {example}.",
        name=name,
        word=word,
        rule=rule,
        example=_example(rule),
    )


def out_of_range(rule: str, word: str, name: str, low: float, high: float) -> str:
    return _(
        "The {name} of the {rule} alert must be between {low} and {high}, and {word} is not, "
        "so nothing was changed. For example: /alerts {rule} {example}.",
        name=name,
        rule=rule,
        low=_n(low),
        high=_n(high),
        word=word,
        example=_example(rule),
    )


def too_many(rule: str, count: int) -> str:
    return n_(
        "The {rule} alert takes at most {count} number, so nothing was changed. For example: "
        "/alerts {rule} {example}.",
        "The {rule} alert takes at most {count} numbers, so nothing was changed. For example: "
        "/alerts {rule} {example}.",
        count,
        rule=rule,
        example=_example(rule),
    )


def balance_needs_amount() -> str:
    return _(
        "The balance alert needs the amount to alert below, so nothing was changed. For "
        "example: /alerts balance 100."
    )


def needs_values(rule: str) -> str:
    return _("Say the {rule} alert's values, on, or off.", rule=rule)


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
    "calls": N_("number of calls"),
    "percent": N_("percentage"),
    "minutes": N_("number of minutes"),
    "min_calls": N_("smallest number of calls"),
    "rings": N_("number of rings"),
    "amount": N_("amount"),
}


def threshold_name(name: str) -> str:
    """A threshold as the error sentences name it."""
    known = THRESHOLD_NAMES.get(name)
    return _(known) if known is not None else name


# ---- /notify sound, /topic, /topics --------------------------------------------------------------


def sounds_list(loud: Mapping[str, bool]) -> str:
    lines = [_("<b>Sound in this chat</b>")]
    for word, on in loud.items():
        if on:
            lines.append(_("• {kind}: loud", kind=code(word)))
        else:
            lines.append(_("• {kind}: silent", kind=code(word)))
    lines.append("")
    lines.append(
        _("Change one with /notify sound &lt;kind&gt; on|off, for example /notify sound calls on.")
    )
    return "\n".join(lines)


def sound_saved(word: str, on: bool) -> str:
    if on:
        return _("Saved. {kind} messages now make a sound in this chat.", kind=esc(_kind(word)))
    return _("Saved. {kind} messages now arrive silently in this chat.", kind=esc(_kind(word)))


def unknown_kind(word: str, words: Sequence[str]) -> str:
    return _(
        "“{word}” is not a kind of message I know. Say one of: {kinds}.",
        word=word,
        kinds=_listed(words),
    )


def sound_usage() -> str:
    return _("Say the kind and on or off, for example /notify sound calls on.")


TOPIC_NOT_FORUM = N_(
    "/topic works in a group with topics (a forum): this chat has none, so nothing was changed. "
    "Everything goes where /bind put it."
)
TOPIC_NOT_IN_TOPIC = N_(
    "Type /topic inside the topic that should receive those messages (open the topic, then send "
    "the command there), so I know which topic you mean. Nothing was changed."
)


def topic_usage(words: Sequence[str]) -> str:
    return _(
        "Say which messages go to this topic: one of {kinds}, for example /topic alerts. "
        "/topic alerts off sends them back to the chat's main place.",
        kinds=_listed(words),
    )


def topic_saved(word: str) -> str:
    return _(
        "Saved. {kind} now go to this topic. The rest keeps going where /bind put it.",
        kind=esc(_kind(word)),
    )


def topic_cleared(word: str) -> str:
    return _("Saved. {kind} go to the chat's main place again.", kind=esc(_kind(word)))


def topics_list(topics: Mapping[str, int | None]) -> str:
    lines = [_("<b>Topics in this chat</b>")]
    for word, thread in topics.items():
        if thread is not None:
            where = _("topic {thread}", thread=thread)
        else:
            where = _("the main place (where /bind put it)")
        lines.append(f"• {code(word)}: {esc(where)}")
    lines.append("")
    lines.append(_("Send a kind to a topic with /topic &lt;kind&gt; typed inside that topic."))
    return "\n".join(lines)
