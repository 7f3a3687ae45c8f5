"""The six alert rules, their thresholds and defaults, and a chat's settings of them.

A chat with no `alert_rule` row for a rule uses the rule's defaults (every rule on, except
balance, which needs an amount). The thresholds a chat sets are checked here, each with its own
bounds; the sentences saying what is wrong are in bot.views.alerts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from storage.models import AlertRule, table_of, utcnow


class Rule(StrEnum):
    UNANSWERED = "unanswered"
    ANSWER_RATE = "answer-rate"
    MISSED_RINGS = "missed-rings"
    NO_PUSHES = "no-pushes"
    BALANCE = "balance"
    TASK_STALLED = "task-stalled"


@dataclass(frozen=True)
class Threshold:
    """One number of a rule: `/alerts <rule> <first> [<second> …]` sets them in this order."""

    name: str
    default: float
    low: float  # the smallest value allowed
    high: float  # the largest
    whole: bool = True  # a whole number (else any amount, e.g. a balance)


@dataclass(frozen=True)
class RuleSpec:
    rule: Rule
    thresholds: tuple[Threshold, ...]
    on_by_default: bool = True


SPECS: dict[Rule, RuleSpec] = {
    Rule.UNANSWERED: RuleSpec(Rule.UNANSWERED, (Threshold("calls", 5, 1, 1000),)),
    Rule.ANSWER_RATE: RuleSpec(
        Rule.ANSWER_RATE,
        (
            Threshold("percent", 30, 1, 100),
            Threshold("minutes", 15, 1, 24 * 60),
            Threshold("min_calls", 20, 1, 100_000),
        ),
    ),
    Rule.MISSED_RINGS: RuleSpec(Rule.MISSED_RINGS, (Threshold("rings", 3, 1, 100),)),
    Rule.NO_PUSHES: RuleSpec(Rule.NO_PUSHES, (Threshold("minutes", 10, 1, 24 * 60),)),
    Rule.BALANCE: RuleSpec(
        Rule.BALANCE, (Threshold("amount", 0, 0.01, 10**9, whole=False),), on_by_default=False
    ),
    Rule.TASK_STALLED: RuleSpec(Rule.TASK_STALLED, (Threshold("minutes", 15, 1, 24 * 60),)),
}

# An answer-rate alert clears when the rate is back this many points above its threshold, so a
# rate wavering around the threshold does not raise and clear alert after alert.
ANSWER_RATE_MARGIN = 5


@dataclass(frozen=True)
class RuleSetting:
    """A rule as a chat has it."""

    rule: Rule
    enabled: bool
    values: dict[str, float] = field(default_factory=dict)

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    def whole(self, name: str) -> int:
        return int(self.values[name])


def defaults(rule: Rule) -> RuleSetting:
    spec = SPECS[rule]
    return RuleSetting(rule, spec.on_by_default, {t.name: t.default for t in spec.thresholds})


_DEFAULTS: dict[Rule, RuleSetting] = {}  # filled below, once


def _from_row(row: Any) -> RuleSetting:
    setting = defaults(Rule(row.rule))
    try:
        stored = json.loads(row.thresholds or "{}")
    except ValueError:
        stored = {}
    values = {**setting.values, **{k: float(v) for k, v in stored.items() if k in setting.values}}
    return RuleSetting(setting.rule, row.enabled, values)


def chat_rules(session: Session, chat_ids: Iterable[int]) -> dict[int, dict[Rule, RuleSetting]]:
    """Every rule of each chat, the defaults where the chat set nothing (one query)."""
    ids = list(set(chat_ids))
    if not ids:
        return {}
    table = table_of(AlertRule).c
    rows = session.execute(
        select(table.chat_id, table.rule, table.enabled, table.thresholds).where(
            table.chat_id.in_(ids)
        )
    )
    return settings_of(ids, rows)


def settings_of(chat_ids: Iterable[int], rows: Iterable[Any]) -> dict[int, dict[Rule, RuleSetting]]:
    """The chats' rules from their `alert_rule` rows (chat_id, rule, enabled, thresholds; rows
    whose rule is None are skipped, as an outer join gives them)."""
    result = {chat_id: dict(_DEFAULTS) for chat_id in chat_ids}
    for row in rows:
        if row.rule is None:
            continue
        try:
            result[row.chat_id][Rule(row.rule)] = _from_row(row)
        except (ValueError, KeyError):
            continue  # a rule a newer version knows
    return result


_DEFAULTS.update({rule: defaults(rule) for rule in Rule})


def rule_of(session: Session, chat_id: int, rule: Rule) -> RuleSetting:
    return chat_rules(session, [chat_id])[chat_id][rule]


# Bumped by every save in this process, so the relay's short-lived copy of the chats' rules
# (bot/alerts/relay.py) is read again at once; other processes see a change within a second.
saved = {"generation": 0}


def save_rule(
    session: Session,
    chat_id: int,
    rule: Rule,
    enabled: bool,
    values: dict[str, float] | None,
    user_id: int | None,
) -> RuleSetting:
    row = session.get(AlertRule, (chat_id, rule.value))
    if row is None:
        row = AlertRule(chat_id=chat_id, rule=rule.value)
    row.enabled = enabled
    if values is not None:
        row.thresholds = json.dumps(values)
    row.updated_by = user_id
    row.updated_at = utcnow()
    saved["generation"] += 1
    session.add(row)
    session.flush()
    return _from_row(row)


class BadValue(Exception):
    """A threshold typed wrong: `problem` says which way (the views turn it into a sentence)."""

    def __init__(self, problem: str, **details: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.details = details


def parse_values(rule: Rule, words: list[str]) -> dict[str, float]:
    """The thresholds typed after `/alerts <rule>`, in order; those not typed keep the defaults.
    Raises BadValue: "not_a_number", "out_of_range", "too_many"."""
    spec = SPECS[rule]
    if len(words) > len(spec.thresholds):
        raise BadValue("too_many", count=len(spec.thresholds))
    values = {t.name: t.default for t in spec.thresholds}
    for word, threshold in zip(words, spec.thresholds, strict=False):
        text = word.strip().rstrip("%").replace(",", ".")
        try:
            number = float(text)
        except ValueError:
            raise BadValue("not_a_number", word=word, threshold=threshold) from None
        if number != number or number in (float("inf"), float("-inf")):
            raise BadValue("not_a_number", word=word, threshold=threshold)
        if threshold.whole and number != int(number):
            raise BadValue("not_whole", word=word, threshold=threshold)
        if not threshold.low <= number <= threshold.high:
            raise BadValue("out_of_range", word=word, threshold=threshold)
        values[threshold.name] = number
    return values


def find_rule(word: str) -> Rule | None:
    word = word.lower().replace("_", "-")
    try:
        return Rule(word)
    except ValueError:
        return None
