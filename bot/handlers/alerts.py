"""/alerts, the alert buttons ([I'm on it], [Snooze 1 h], [Show calls]), /notify sound, /topic and
/topics. Thin: parse, call bot.alerts.actions or bot.delivery.kind_settings, render with
bot.views.alerts."""

from __future__ import annotations

import logging

from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.alerts import actions
from bot.alerts.actions import Pressed, Refusal
from bot.alerts.rules import SPECS, BadValue, Rule, find_rule, parse_values, rule_of
from bot.config import chat_zone
from bot.delivery import kind_settings
from bot.errors import UsageError, UserFacingError
from bot.handlers.base import Request, button, command, refusal
from bot.i18n import _
from bot.render import esc
from bot.services.access import Role
from bot.views import alerts as views
from bot.views.keyboards import Keyboard
from bot.views.values import clock, show_number
from storage.models import utcnow

log = logging.getLogger(__name__)


# ---- /alerts -------------------------------------------------------------------------------------


@command("/alerts", Role.VIEWER)
async def alerts(req: Request) -> None:
    if not req.args:
        states = await req.runtime.database.run(lambda s: actions.list_rules(s, req.chat_id))
        await req.reply(
            views.rules_list(
                [
                    views.RuleLine(
                        st.setting.rule.value,
                        st.setting.enabled,
                        st.setting.values,
                        st.open_subjects,
                    )
                    for st in states
                ]
            )
        )
        return
    rule = find_rule(req.args[0])
    if rule is None:
        raise UsageError(views.unknown_rule(req.args[0][:30]), command="alerts")
    if req.role < Role.OPERATOR:
        await req.reply(esc(refusal(req, Role.OPERATOR, f"/alerts {rule.value}")))
        return
    words = req.args[1:]
    if not words:
        raise UsageError(views.needs_values(rule.value), command="alerts")
    now = utcnow()
    zone = req.runtime.settings.default_zone
    if len(words) == 1 and words[0].lower() in ("off", "on"):
        enabled = words[0].lower() == "on"
        current = await req.runtime.database.run(lambda s: rule_of(s, req.chat_id, rule))
        if enabled and rule is Rule.BALANCE and current["amount"] <= 0:
            raise UserFacingError(views.balance_needs_amount())
        setting, closed = await req.runtime.database.run(
            lambda s: actions.set_rule(
                s, req.chat_id, rule, enabled, dict(current.values), req.user_id, now, zone
            )
        )
    else:
        values = _parse(rule, words)
        setting, closed = await req.runtime.database.run(
            lambda s: actions.set_rule(s, req.chat_id, rule, True, values, req.user_id, now, zone)
        )
    log.info("user %s set alert %s in chat %s: %s", req.user_id, rule, req.chat_id, setting)
    if not setting.enabled:
        await req.reply(views.rule_off(rule.value, closed))
        return
    await req.reply(views.rule_saved(rule.value, setting.values))


def _parse(rule: Rule, words: list[str]) -> dict[str, float]:
    try:
        return parse_values(rule, words)
    except BadValue as bad:
        threshold = bad.details.get("threshold")
        name = views.threshold_name(threshold.name) if threshold else ""
        word = str(bad.details.get("word", ""))[:20]
        if bad.problem == "not_a_number":
            raise UserFacingError(views.not_a_number(rule.value, word, name)) from None
        if bad.problem == "not_whole":
            raise UserFacingError(views.not_whole(rule.value, word, name)) from None
        if bad.problem == "out_of_range" and threshold is not None:
            raise UserFacingError(
                views.out_of_range(rule.value, word, name, threshold.low, threshold.high)
            ) from None
        raise UserFacingError(views.too_many(rule.value, len(SPECS[rule].thresholds))) from None


# ---- the buttons ---------------------------------------------------------------------------------


def _who(req: Request) -> str:
    user = req.update.effective_user
    if user is None:
        return str(req.user_id)
    return f"@{user.username}" if user.username else user.full_name


def _rows(episode_id: int, open_: bool) -> Keyboard:
    calls = [(_(views.CALLS_LABEL), f"al:calls:{episode_id}")]
    if not open_:
        return [calls]
    return [
        [
            (_(views.TAKE_LABEL), f"al:take:{episode_id}"),
            (_(views.SNOOZE_LABEL), f"al:snooze:{episode_id}"),
        ],
        calls,
    ]


_REFUSALS = {
    Refusal.GONE: views.GONE,
    Refusal.WRONG_CHAT: views.WRONG_CHAT,
}


@button("al", Role.VIEWER)
async def alert_button(req: Request) -> None:
    if len(req.args) != 2 or not req.args[1].isdigit():
        await req.toast(_(views.BUTTON_INVALID), alert=True)
        return
    action, episode_id = req.args[0], int(req.args[1])
    if action == "calls":
        await _show_calls(req, episode_id)
        return
    if action not in ("take", "snooze"):
        await req.toast(_(views.BUTTON_INVALID), alert=True)
        return
    if req.role < Role.OPERATOR:
        await req.toast(_(views.OPERATORS_ONLY), alert=True)
        return
    now = utcnow()
    name = _who(req)
    if action == "take":
        result = await req.runtime.database.run(
            lambda s: actions.take(s, episode_id, req.chat_id, req.user_id, name, now)
        )
    else:
        result = await req.runtime.database.run(
            lambda s: actions.snooze(s, episode_id, req.chat_id, req.user_id, now)
        )
    if isinstance(result, Refusal):
        await req.toast(_(_REFUSALS[result]), alert=True)
        return
    if result.refusal is not None:
        await req.toast(_refusal_text(req, result), alert=True)
        return
    await _redraw(req, result, name if action == "snooze" else None)
    done = views.TAKEN_TOAST if action == "take" else views.SNOOZED_TOAST
    await req.toast(_(done))


def _refusal_text(req: Request, result: Pressed) -> str:
    episode = result.episode
    if result.refusal is Refusal.RULE_OFF:
        return views.rule_is_off(episode.rule)
    if result.refusal is Refusal.CLEARED:
        return views.already_cleared(episode.rule)
    zone = chat_zone(req.chat, req.runtime.settings.default_zone)
    at = clock(episode.taken_at, zone) or "?"
    return views.already_taken(episode.taken_by_name or _(views.SOMEONE), at[:5])


async def _redraw(req: Request, result: Pressed, snoozed_by: str | None) -> None:
    episode = result.episode
    assert episode.id is not None
    zone = chat_zone(req.chat, req.runtime.settings.default_zone)
    snooze = result.snooze
    state = views.AlertState(
        started_at=episode.started_at,
        taken_by=episode.taken_by_name,
        taken_at=episode.taken_at,
        snoozed_until=snooze.until if snooze is not None else None,
        snoozed_by=snoozed_by if snooze is not None else None,
    )
    text = views.alert_message(
        episode.rule, episode.subject, actions.figures_of(episode), state, zone
    )
    query = req.query
    if query is not None and query.message is not None:
        await req.edit(query.message, text, _rows(episode.id, open_=True))


async def _show_calls(req: Request, episode_id: int) -> None:
    def load(session):  # noqa: ANN001, ANN202
        found = actions.episode_for_calls(session, episode_id, req.chat_id)
        if isinstance(found, Refusal):
            return found, []
        return found, actions.calls_behind(session, found)

    found, calls = await req.runtime.database.run(load)
    if isinstance(found, Refusal):
        await req.toast(_(_REFUSALS[found]), alert=True)
        return
    if not calls:
        await req.toast(_(views.NO_CALLS), alert=True)
        return
    chat = req.chat
    zone = chat_zone(chat, req.runtime.settings.default_zone)
    mask = bool(chat and chat.mask_numbers)
    now = utcnow()
    lines = []
    for c in calls:
        when = clock(c.at, zone, today=now) or "?"
        number = show_number(c.number, ccode=c.ccode, mask=mask)
        if found.rule == Rule.MISSED_RINGS.value or c.outcome not in ("answered", "not answered"):
            lines.append(views.ring_line(when, number, c.outcome))
        else:
            lines.append(views.call_line(when, number, c.outcome == "answered", c.agent))
    await req.toast("")
    await req.reply(views.calls_behind(views.calls_title(found.rule, found.subject), lines))


# ---- /notify sound, /topic, /topics --------------------------------------------------------------


async def notify_sound(req: Request) -> None:
    """`/notify sound [<kind> on|off]` (called by /notify in bot/handlers/relay.py)."""
    words = req.args[1:]
    if not words:
        loud = await req.runtime.database.run(
            lambda s: kind_settings.sounds_by_word(s, req.chat_id)
        )
        await req.reply(views.sounds_list(loud))
        return
    kinds = kind_settings.SOUND_WORDS.get(words[0].lower())
    if kinds is None:
        raise UsageError(
            views.unknown_kind(words[0][:20], list(kind_settings.SOUND_WORDS)), command="notify"
        )
    if len(words) != 2 or words[1].lower() not in ("on", "off"):
        raise UsageError(views.sound_usage(), command="notify")
    if req.role < Role.OPERATOR:
        await req.reply(esc(refusal(req, Role.OPERATOR, "/notify sound")))
        return
    on = words[1].lower() == "on"
    await req.runtime.database.run(lambda s: kind_settings.set_loud(s, req.chat_id, kinds, on))
    await req.reply(views.sound_saved(words[0].lower(), on))


@command("/topic", Role.OPERATOR)
async def topic(req: Request) -> None:
    words = [w.lower() for w in req.args]
    if not words or words[0] not in kind_settings.TOPIC_WORDS or len(words) > 2:
        problem = (
            views.unknown_kind(req.args[0][:20], list(kind_settings.TOPIC_WORDS))
            if words and words[0] not in kind_settings.TOPIC_WORDS
            else ""
        )
        raise UsageError(
            " ".join(p for p in (problem, views.topic_usage(list(kind_settings.TOPIC_WORDS))) if p)
        )
    kinds = kind_settings.TOPIC_WORDS[words[0]]
    if len(words) == 2:
        if words[1] != "off":
            raise UsageError(views.topic_usage(list(kind_settings.TOPIC_WORDS)))
        await req.runtime.database.run(
            lambda s: kind_settings.set_topic(s, req.chat_id, kinds, None)
        )
        await req.reply(views.topic_cleared(words[0]))
        return
    chat = req.update.effective_chat
    if chat is None or not chat.is_forum:
        raise UserFacingError(_(views.TOPIC_NOT_FORUM))
    thread_id = req.thread_id
    if thread_id is None:
        raise UserFacingError(_(views.TOPIC_NOT_IN_TOPIC))
    await req.runtime.database.run(
        lambda s: kind_settings.set_topic(s, req.chat_id, kinds, thread_id)
    )
    log.info("chat %s: %s go to topic %s", req.chat_id, words[0], thread_id)
    await req.reply(views.topic_saved(words[0]))


@command("/topics", Role.VIEWER)
async def topics(req: Request) -> None:
    shown = await req.runtime.database.run(lambda s: kind_settings.topics_by_word(s, req.chat_id))
    await req.reply(views.topics_list(shown))


def register(application: Application) -> None:
    for name, fn in (("alerts", alerts), ("topic", topic), ("topics", topics)):
        application.add_handler(CommandHandler(name, fn))
    application.add_handler(
        CallbackQueryHandler(alert_button, pattern=alert_button.callback_pattern)
    )
