"""Creating a calling task: the guided /newtask flow (one card, edited in place, step by step), the
one-line form, typed answers, and Submit.

Every press ends in one visible outcome: the card changes (and the press is answered after the
work), or an alert says why not. A draft is the team's: any operator of the chat may press its
buttons. Whoever presses Type… is the one asked (the prompt mentions them, which is whom
`ForceReply(selective=True)` targets) and the draft continues with their answer; a reply from
anyone else, or one that can't be taken, gets a sentence saying why.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from telegram import Message, MessageEntity, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.errors import UsageError, UserFacingError
from bot.handlers.base import (
    Context,
    Request,
    button,
    command,
    refusal,
    resolve,
    run_guarded,
)
from bot.i18n import N_, _
from bot.laaffic.models import AgentGroup, TaskType
from bot.services import groups as group_service
from bot.services import task_input, teams
from bot.services import tasks as drafts
from bot.services.access import Role
from bot.services.task_input import ROW_ID_MAX, whole_number
from bot.services.task_submit import ChatDefaults, SubmitStatus, submit_draft
from bot.views.task_cards import (
    CANCELLED_DRAFT,
    STALE_BUTTON,
    Card,
    GroupFacts,
    GroupPage,
    draft_card,
    draft_state,
    mention,
    prompted_step,
    submit_result_card,
    submitting_card,
    typed_prompt,
)
from storage.models import DraftStatus, DraftStep, KnownUser, TaskDraft, UploadPart

log = logging.getLogger(__name__)

# The prompt names its draft; a reply to it is matched by this (the reply carries the prompt's text).
PROMPT_DRAFT = re.compile(r"for task draft #(\d+)\.")


def _stale() -> UserFacingError:
    return UserFacingError(_(STALE_BUTTON))


# ---- fetching what a card shows -----------------------------------------------------------------


async def _team_groups(req: Request) -> list[AgentGroup]:
    """The agent groups this chat may use (admins: every group), sorted by name."""
    groups = await req.runtime.client.list_groups()
    if not req.is_admin:
        routed = await req.runtime.database.run(lambda s: teams.routed_group_ids(s, req.chat_id))
        groups = [g for g in groups if g.voice_group_id in routed]
    return sorted(groups, key=lambda g: ((g.group_name or "").lower(), g.voice_group_id))


async def _group_facts(req: Request, voice_group_id: int | None) -> GroupFacts | None:
    if not voice_group_id:
        return None
    client = req.runtime.client
    group = await group_service.find_group(client, str(voice_group_id))
    agents = await client.list_agents(voice_group_id)
    # `enable` is 0 (enabled) or 1 (disabled); an agent the platform says nothing about counts.
    enabled = sum(1 for a in agents if a.enable != 1)
    return GroupFacts(group=group, agents=len(agents), enabled=enabled)


async def _member_name(req: Request, user_id: int) -> str:
    user = await req.runtime.database.run(lambda s: s.get(KnownUser, user_id))
    if user is not None and user.full_name:
        return user.full_name
    if user is not None and user.username:
        return f"@{user.username}"
    return _("member {id}", id=user_id)


async def _card(req: Request, draft: TaskDraft, part: UploadPart | None, *, page: int = 0) -> Card:
    """Fetch what the draft's current step shows, then render it."""
    if draft.step == DraftStep.GROUP:
        groups = GroupPage(await _team_groups(req), page)
        if page >= groups.pages:
            raise _stale()
        return draft_card(draft, part, groups=groups)
    if draft.step == DraftStep.CONFIRM:
        facts = await _group_facts(req, draft.voice_group_id)
        return draft_card(draft, part, facts=facts, display_num=_display_num(req))
    return draft_card(draft, part, group_name=await _group_name(req, draft.voice_group_id))


async def _group_name(req: Request, group_id: int | None) -> str | None:
    """The name of a chosen agent group, as the routes know it (None when none is stored)."""
    if not group_id:
        return None
    return await req.runtime.database.run(lambda s: group_service.routed_name(s, group_id))


def _display_num(req: Request) -> str | None:
    return req.chat.display_num if req.chat else None


def _defaults(req: Request) -> ChatDefaults:
    return ChatDefaults(app_id=req.app_id, display_num=_display_num(req), ccode=req.ccode)


# ---- sending and editing the card ---------------------------------------------------------------


async def _edit_message(req: Request, message_id: int, card: Card) -> bool:
    """Edit a bot message by id; False when it is gone. Unchanged text is not an error."""
    return await req.edit_by_id(message_id, card.text, card.rows)


async def _store(req: Request, draft: TaskDraft) -> None:
    await req.runtime.database.run(lambda s: drafts.save_draft(s, draft))


async def _new_card(req: Request, draft: TaskDraft, card: Card) -> None:
    sent = await req.reply(card.text, card.rows)
    draft.message_id = sent.message_id
    await _store(req, draft)


async def _show_on_pressed(req: Request, draft: TaskDraft, card: Card) -> None:
    """Put the card on the message whose button was pressed (a new one if that is gone)."""
    message = req.query.message if req.query else None
    if message is not None:
        # Saved before it shows: what members see is never ahead of the database.
        draft.message_id = message.message_id
        await _store(req, draft)
        if await _edit_message(req, message.message_id, card):
            return
    await _new_card(req, draft, card)


async def _ask_to_type(req: Request, draft: TaskDraft) -> None:
    """Type… pressed: the presser is the one asked. The prompt mentions them (whom ForceReply's
    `selective` targets) and replies to the card; the card stays as it is, so another member can
    still choose with a button or press Type… to be asked instead."""
    draft.user_id = req.user_id
    await _store(req, draft)
    asked = mention(req.user_id, await _member_name(req, req.user_id))
    await req.ask(
        typed_prompt(draft, draft.step, asked),
        reply_to=draft.message_id or None,
        placeholder=_("Type your answer"),
    )


# ---- /newtask -------------------------------------------------------------------------------------


def _arguments(req: Request) -> str:
    parts = req.text.split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


@command("/newtask", Role.OPERATOR)
async def new_task(req: Request) -> None:
    text = _arguments(req)
    words = task_input.split_quoted(text)
    if not words:
        raise UsageError(command="newtask")
    db = req.runtime.database
    if len(words) == 1:
        ref = words[0][0]
        part = await db.run(lambda s: drafts.resolve_part(s, req.chat_id, ref))
        part_id = part.id
        assert part_id is not None
        draft = await db.run(
            lambda s: drafts.new_draft(s, chat_id=req.chat_id, user_id=req.user_id, part_id=part_id)
        )
        await _new_card(req, draft, draft_card(draft, part))
        return
    spec = task_input.parse_one_line(text)
    part = await db.run(lambda s: drafts.resolve_part(s, req.chat_id, words[0][0]))
    facts: GroupFacts | None = None
    if spec.group is not None:
        group = await group_service.find_group(req.runtime.client, spec.group)
        await db.run(
            lambda s: teams.require_group(
                s,
                chat_id=req.chat_id,
                is_admin=req.is_admin,
                voice_group_id=group.voice_group_id,
                group_name=group.group_name,
            )
        )
        facts = await _group_facts(req, group.voice_group_id)

    def create(session):  # noqa: ANN001, ANN202
        assert part.id is not None
        draft = drafts.new_draft(session, chat_id=req.chat_id, user_id=req.user_id, part_id=part.id)
        draft.task_type = int(spec.task_type)
        draft.voice_group_id = facts.group.voice_group_id if facts else 0
        draft.callout_rate = (
            (spec.rate or 1) if spec.task_type == TaskType.AGENT_GROUP_CALL else None
        )
        draft.max_ringing_time = spec.ring or 0
        draft.remark = spec.remark or ""
        draft.step = DraftStep.CONFIRM
        session.add(draft)
        return draft

    draft = await db.run(create)
    await _new_card(req, draft, draft_card(draft, part, facts=facts, display_num=_display_num(req)))


# ---- the draft's buttons --------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftPress:
    draft_id: int
    action: str
    value: str


# Which step each button belongs to: a press from a card that has moved on is stale.
_ACTION_STEPS: dict[str, tuple[DraftStep, ...]] = {
    "type": (DraftStep.TYPE,),
    "gpage": (DraftStep.GROUP,),
    "grp": (DraftStep.GROUP,),
    "rate": (DraftStep.RATE, DraftStep.RATE_TEXT),
    "ring": (DraftStep.RING, DraftStep.RING_TEXT),
    "remark": (DraftStep.REMARK, DraftStep.REMARK_TEXT),
    "submit": (DraftStep.CONFIRM,),
    "cancel": tuple(DraftStep),
}
_TYPED = {"rate": DraftStep.RATE_TEXT, "ring": DraftStep.RING_TEXT, "remark": DraftStep.REMARK_TEXT}


def _parse_press(args: list[str]) -> DraftPress:
    if len(args) < 2 or len(args) > 3:
        raise _stale()
    draft_id = whole_number(args[0], 1, ROW_ID_MAX)
    action = args[1]
    if draft_id is None or action not in _ACTION_STEPS:
        raise _stale()
    value = args[2] if len(args) == 3 else ""
    if (action in ("submit", "cancel")) != (value == ""):
        raise _stale()
    return DraftPress(draft_id, action, value)


@button("nt", Role.OPERATOR)
async def draft_button(req: Request) -> None:
    if req.args[:1] == ["new"]:
        await _start_from_upload(req)
        return
    press = _parse_press(req.args)
    db = req.runtime.database
    draft = await db.run(lambda s: drafts.get_draft(s, press.draft_id, req.chat_id))
    if draft is None:
        raise _stale()
    if draft.status != DraftStatus.DRAFT:
        await req.toast(draft_state(draft), alert=True)
        return
    if draft.step not in _ACTION_STEPS[press.action]:
        raise _stale()
    if press.action == "cancel":
        await _cancel_draft(req, draft)
        return
    if press.action == "submit":
        await _submit(req, draft)
        return
    part = await db.run(lambda s: drafts.part_of_draft(s, draft))
    if press.action == "type":
        await _choose_type(req, draft, part, press.value)
    elif press.action == "gpage":
        page = whole_number(press.value, 0, ROW_ID_MAX)
        if page is None:
            raise _stale()
        await _show_on_pressed(req, draft, await _card(req, draft, part, page=page))
    elif press.action == "grp":
        await _choose_group(req, draft, part, press.value)
    elif press.value == "typed":
        draft.step = _TYPED[press.action]
        await _ask_to_type(req, draft)
        await req.toast(_("Reply to the prompt below"))
        return
    else:
        _take_button_value(draft, press)
        draft.step = drafts.next_step(draft)
        await _show_on_pressed(req, draft, await _card(req, draft, part))
    await req.toast("")


async def _start_from_upload(req: Request) -> None:
    """[Create task…] under an upload: a new draft, its card as a new message."""
    if len(req.args) != 2:
        raise _stale()
    part_id = whole_number(req.args[1], 1, ROW_ID_MAX)
    if part_id is None:
        raise _stale()
    db = req.runtime.database
    part = await db.run(lambda s: drafts.uploaded_part_of_chat(s, part_id, req.chat_id))
    if part is None:
        raise _stale()
    draft = await db.run(
        lambda s: drafts.new_draft(s, chat_id=req.chat_id, user_id=req.user_id, part_id=part_id)
    )
    await _new_card(req, draft, draft_card(draft, part))
    await req.toast("")


def _take_button_value(draft: TaskDraft, press: DraftPress) -> None:
    """A value from a button: only values the card offers parse; others are stale."""
    try:
        if press.action == "rate":
            draft.callout_rate = task_input.parse_rate(press.value)
        elif press.action == "ring":
            draft.max_ringing_time = 0 if press.value == "0" else task_input.parse_ring(press.value)
        elif press.value == "none":
            draft.remark = ""
        else:
            raise _stale()
    except UserFacingError:
        raise _stale() from None


async def _choose_type(req: Request, draft: TaskDraft, part: UploadPart | None, value: str) -> None:
    if value not in (str(int(TaskType.AUTOMATIC)), str(int(TaskType.AGENT_GROUP_CALL))):
        raise _stale()
    draft.task_type = int(value)
    draft.voice_group_id = None
    draft.step = DraftStep.GROUP
    groups = GroupPage(await _team_groups(req), 0)  # a failing query is an alert; nothing changes
    if draft.task_type == TaskType.AGENT_GROUP_CALL and not groups.groups:
        raise UserFacingError(
            _(
                "This chat has no agent groups yet, and a transfer to agents needs one: create one "
                "with /newgroup first, or choose Automatic calling, which needs none.",
            )
        )
    await _show_on_pressed(req, draft, draft_card(draft, part, groups=groups))


async def _choose_group(
    req: Request, draft: TaskDraft, part: UploadPart | None, value: str
) -> None:
    group_id = whole_number(value, 0, 2**63 - 1)
    if group_id is None:
        raise _stale()
    if group_id == 0:
        if draft.task_type != TaskType.AUTOMATIC:
            raise _stale()  # "No group" is offered only for automatic calling
    elif not req.is_admin:
        owned = await req.runtime.database.run(
            lambda s: teams.chat_owns_group(s, req.chat_id, group_id)
        )
        if not owned:
            raise _stale()  # the picker shows only this chat's groups
    draft.voice_group_id = group_id
    draft.step = drafts.next_step(draft)
    await _show_on_pressed(req, draft, await _card(req, draft, part))


async def _cancel_draft(req: Request, draft: TaskDraft) -> None:
    assert draft.id is not None
    draft_id = draft.id
    cancelled = await req.runtime.database.run(
        lambda s: drafts.claim_draft(s, draft_id, DraftStatus.DRAFT, DraftStatus.CANCELLED)
    )
    if not cancelled:
        fresh = await req.runtime.database.run(lambda s: drafts.get_draft(s, draft_id, req.chat_id))
        await req.toast(draft_state(fresh or draft), alert=True)
        return
    message = req.query.message if req.query else None
    if message is not None:
        await _edit_message(req, message.message_id, Card(_(CANCELLED_DRAFT)))
    await req.toast(_("Cancelled"))


async def _submit(req: Request, draft: TaskDraft) -> None:
    message = req.query.message if req.query else None
    display_num = _display_num(req)
    group_name = await _group_name(req, draft.voice_group_id)

    async def show_progress(claimed: TaskDraft) -> None:
        part = await req.runtime.database.run(lambda s: drafts.part_of_draft(s, claimed))
        if message is not None:
            await _edit_message(
                req, message.message_id, submitting_card(claimed, part, display_num, group_name)
            )
        await req.toast(_("Submitting…"))

    assert draft.id is not None
    outcome = await submit_draft(
        req.runtime.database,
        req.runtime.client,
        draft_id=draft.id,
        chat_id=req.chat_id,
        user_id=req.user_id,
        is_admin=req.is_admin,
        defaults=_defaults(req),
        on_claimed=show_progress,
    )
    if outcome.status == SubmitStatus.NOT_OPEN:
        await req.toast(draft_state(outcome.draft), alert=True)
        return
    if outcome.status == SubmitStatus.NOT_READY:
        raise _stale()
    card = submit_result_card(outcome, display_num, group_name)
    if message is None or not await _edit_message(req, message.message_id, card):
        await req.reply(card.text, card.rows)


# ---- typed answers --------------------------------------------------------------------------------


def _prompted_user(prompt: Message) -> int | None:
    """Whom the prompt mentioned (a text_mention, or our tg://user link)."""
    for entity in prompt.entities:
        if entity.type == MessageEntity.TEXT_MENTION and entity.user is not None:
            return entity.user.id
        if entity.type == MessageEntity.TEXT_LINK and (entity.url or "").startswith(
            "tg://user?id="
        ):
            found = whole_number((entity.url or "").split("=", 1)[1], 1, 2**63 - 1)
            if found is not None:
                return found
    return None


NOT_OPEN_ANY_MORE = N_(
    "This question is no longer open: the draft was answered with a button, submitted or "
    "cancelled meanwhile, so your answer was not used. Use the buttons on the draft's card.",
)


async def typed_answer(update: Update, context: Context) -> None:
    """A text reply to one of our Type… prompts. Replies to other messages are left alone."""
    message = update.effective_message
    if message is None or message.reply_to_message is None or message.from_user is None:
        return
    prompt = message.reply_to_message
    if prompt.from_user is None or prompt.from_user.id != context.bot.id:
        return
    found = PROMPT_DRAFT.search(prompt.text or "")
    draft_id = whole_number(found.group(1), 1, ROW_ID_MAX) if found else None
    if draft_id is None:
        return
    req = await resolve(update, context)
    if req is None or (req.chat is None and not req.is_private):
        return

    async def take(req: Request) -> None:
        await _take_typed(
            req, draft_id, message, _prompted_user(prompt), prompted_step(prompt.text or "")
        )

    await run_guarded(req, N_("typed answer"), take)


async def _take_typed(
    req: Request,
    draft_id: int,
    message: Message,
    prompted: int | None,
    asked_for: DraftStep | None,
) -> None:
    db = req.runtime.database
    draft = await db.run(lambda s: drafts.get_draft(s, draft_id, req.chat_id))
    if draft is None or draft.status != DraftStatus.DRAFT or not draft.step.is_typed:
        state = draft_state(draft) if draft and draft.status != DraftStatus.DRAFT else ""
        raise UserFacingError(f"{_(NOT_OPEN_ANY_MORE)} {state}".strip())
    if asked_for is not None and asked_for != draft.step:
        # A reply to an older prompt: the draft now waits for another value.
        raise UserFacingError(
            _(
                "That prompt asked an earlier question of this draft, which has moved on since, so "
                "your answer was not used. Reply to the newest prompt, or use the buttons on the "
                "draft's card.",
            )
        )
    asked_name = await _member_name(req, draft.user_id)
    if prompted is not None and prompted != draft.user_id:
        raise UserFacingError(
            _(
                "This prompt was replaced: {asked_name} pressed Type… after it, so only their answer "
                "to the newest prompt is taken. Press Type… on the card to be asked yourself.",
                asked_name=asked_name,
            )
        )
    if req.user_id != draft.user_id:
        raise UserFacingError(
            _(
                "This prompt is for {asked_name}: the answer is taken from whoever pressed Type…. To "
                "answer it yourself, press Type… on the draft's card.",
                asked_name=asked_name,
            )
        )
    if req.role < Role.OPERATOR:
        raise UserFacingError(refusal(req, Role.OPERATOR, _("a task draft")))
    text = message.text or ""
    try:
        if draft.step == DraftStep.RATE_TEXT:
            draft.callout_rate = task_input.parse_rate(text)
        elif draft.step == DraftStep.RING_TEXT:
            draft.max_ringing_time = task_input.parse_ring(text)
        else:
            draft.remark = task_input.check_remark(text)
    except UserFacingError as exc:
        raise UserFacingError(
            _(
                "{exc} Reply to the prompt again, or press a button on the card.",
                exc=exc,
            )
        ) from None
    draft.step = drafts.next_step(draft)
    part = await db.run(lambda s: drafts.part_of_draft(s, draft))
    card = await _card(req, draft, part)
    # The card is just above the prompt (which replies to it): it moves on in place.
    await _store(req, draft)
    if not draft.message_id or not await _edit_message(req, draft.message_id, card):
        await _new_card(req, draft, card)


def register(application: Application) -> None:
    application.add_handler(CommandHandler("newtask", new_task))
    application.add_handler(
        CallbackQueryHandler(draft_button, pattern=draft_button.callback_pattern)
    )
    application.add_handler(
        MessageHandler(filters.TEXT & filters.REPLY & ~filters.COMMAND, typed_answer)
    )
