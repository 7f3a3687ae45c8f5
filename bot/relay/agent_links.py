"""Which Telegram user answers which SIP account, and whether they get screen pops now.

A link is made by an operator of the team whose agent group holds the account (`/link`, checked
against the platform's agent list by the handler) or by the agent asking (`/iam`) and an operator
of that team confirming. A ring pops only while every condition still holds (`pop_targets`): the
user started a private chat with the bot and has not blocked it, wants pops, the linking chat is
bound, still routes the group, and has not shut the user out with `/role none`. Whatever takes a
condition away also takes back the pops still waiting (`withdraw_pops`), so it stops at once.

Every link, unlink, confirmation and refusal is written to the audit log. A user who blocks the
bot is handled where Telegram says so (`bot.delivery.chat_changes.chat_refuses`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.delivery.outbox import OutboxKind
from bot.i18n import language_of
from storage.models import (
    AgentLink,
    AuditEntry,
    BoundChat,
    ChatRole,
    GroupRoute,
    KnownUser,
    LinkRequest,
    LinkRequestStatus,
    OutboxMessage,
    OutboxStatus,
    PopRecipient,
    PopRing,
    ScreenPop,
    utcnow,
)

POP_KINDS = (OutboxKind.SCREEN_POP.value, OutboxKind.SCREEN_POP_OUTCOME.value)


def pop_key(pop_id: int) -> str:
    """The edit_key of a pop's outbox rows (its live message)."""
    return f"pop:{pop_id}"


# ---- audit ----------------------------------------------------------------------------------


def audit(
    session: Session, *, action: str, user_id: int, chat_id: int | None, **arguments: object
) -> None:
    """One audit-log row for a link change (`endpoint` "ccbot/<action>": no platform call)."""
    session.add(
        AuditEntry(
            user_id=user_id,
            chat_id=chat_id,
            command=action[:64],
            endpoint=f"ccbot/{action}"[:128],
            arguments=json.dumps(arguments, ensure_ascii=False, default=str)[:4000],
            result_code="0",
            ok=True,
        )
    )


# ---- who gets pops ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PopTarget:
    """A link that pops now, with the linking chat (for its time zone) and the names its group
    goes by in that chat's routes."""

    link: AgentLink
    chat: BoundChat
    group_names: frozenset[str]

    def rings_for(self, group_name: str | None) -> bool:
        """A ring on the account is this link's when it names the linked group (or no group:
        the account is still the agent's own)."""
        return group_name is None or group_name in self.group_names


def pop_targets(session: Session, sip_accounts: Iterable[str]) -> dict[str, PopTarget]:
    """The links of these accounts that pop now (a handful of indexed queries for a batch)."""
    wanted = sorted({s for s in sip_accounts if s})
    if not wanted:
        return {}
    links = list(session.exec(select(AgentLink).where(col(AgentLink.sip_account).in_(wanted))))
    if not links:
        return {}
    users = {link.user_id for link in links}
    chats = {link.chat_id for link in links}
    ready = set(
        session.exec(
            select(PopRecipient.user_id).where(
                col(PopRecipient.user_id).in_(users),
                col(PopRecipient.started).is_(True),
                col(PopRecipient.blocked).is_(False),
                col(PopRecipient.pops_on).is_(True),
            )
        )
    )
    bound = {
        chat.chat_id: chat
        for chat in session.exec(
            select(BoundChat).where(col(BoundChat.chat_id).in_(chats), col(BoundChat.active))
        )
    }
    shut_out = {
        (row.chat_id, row.user_id)
        for row in session.exec(
            select(ChatRole).where(
                col(ChatRole.chat_id).in_(chats),
                col(ChatRole.user_id).in_(users),
                ChatRole.role == "none",
            )
        )
    }
    names: dict[tuple[int, int], set[str]] = {}
    for route in session.exec(
        select(GroupRoute).where(col(GroupRoute.chat_id).in_(chats), col(GroupRoute.active))
    ):
        names.setdefault((route.chat_id, route.voice_group_id), set()).add(route.group_name)
    targets = {}
    for link in links:
        routed = names.get((link.chat_id, link.voice_group_id))
        chat = bound.get(link.chat_id)
        if (
            link.user_id in ready
            and chat is not None
            and routed
            and (link.chat_id, link.user_id) not in shut_out
        ):
            targets[link.sip_account] = PopTarget(
                link, chat, frozenset(routed | {link.group_name})
            )
    return targets


def withdraw_pops(
    session: Session, user_id: int, sip_accounts: Iterable[str] | None = None
) -> int:
    """Take back the user's pops still waiting to be sent (all, or those showing a ring of these
    accounts); returns how many outbox rows were taken back."""
    where = [
        col(OutboxMessage.chat_id) == user_id,
        col(OutboxMessage.status) == OutboxStatus.PENDING.value,
        col(OutboxMessage.kind).in_(POP_KINDS),
    ]
    if sip_accounts is not None:
        accounts = list(sip_accounts)
        if not accounts:
            return 0
        pops = set(
            session.exec(
                select(PopRing.pop_id).where(
                    PopRing.user_id == user_id, col(PopRing.sip_account).in_(accounts)
                )
            )
        )
        if not pops:
            return 0
        where.append(col(OutboxMessage.edit_key).in_([pop_key(p) for p in pops]))
    result = session.execute(
        update(OutboxMessage)
        .where(*where)
        .values(status=OutboxStatus.WITHDRAWN.value, error="withdrawn: the pop is no longer wanted")
        .returning(col(OutboxMessage.id))
        .execution_options(synchronize_session=False)
    )
    return len(result.all())


def member_shut_out(session: Session, chat_id: int, user_id: int) -> int:
    """`/role none`: the member's waiting pops of accounts linked in this chat are taken back."""
    accounts = session.exec(
        select(AgentLink.sip_account).where(
            AgentLink.chat_id == chat_id, AgentLink.user_id == user_id
        )
    )
    return withdraw_pops(session, user_id, list(accounts))


def group_unrouted(session: Session, chat_id: int, voice_group_id: int) -> int:
    """The chat stopped routing the group: waiting pops of the accounts it linked there go."""
    links = session.exec(
        select(AgentLink).where(
            AgentLink.chat_id == chat_id, AgentLink.voice_group_id == voice_group_id
        )
    )
    by_user: dict[int, list[str]] = {}
    for link in links:
        by_user.setdefault(link.user_id, []).append(link.sip_account)
    return sum(withdraw_pops(session, user, accounts) for user, accounts in by_user.items())


# ---- the recipient's own state --------------------------------------------------------------


def private_languages(session: Session, user_ids: Iterable[int]) -> dict[int, str]:
    """The language each user's private chat reads, as a command there would answer: the chat's
    own choice (an admin's private chat, /settings language), else the Telegram language their
    app last sent (known_user), else English. Two indexed reads for any number of users."""
    users = sorted(set(user_ids))
    if not users:
        return {}
    codes = dict(
        session.exec(
            select(KnownUser.user_id, KnownUser.language_code).where(
                col(KnownUser.user_id).in_(users)
            )
        ).all()
    )
    chosen = dict(
        session.exec(
            select(BoundChat.chat_id, BoundChat.language).where(
                col(BoundChat.chat_id).in_(users), col(BoundChat.active)
            )
        ).all()
    )
    return {u: language_of(chosen.get(u), codes.get(u), private=True) for u in users}


def private_language(session: Session, user_id: int) -> str:
    return private_languages(session, [user_id])[user_id]


def _recipient(session: Session, user_id: int) -> PopRecipient:
    row = session.get(PopRecipient, user_id)
    if row is None:
        row = PopRecipient(user_id=user_id)
        session.add(row)
    return row


def recipient_started(session: Session, user_id: int) -> list[AgentLink]:
    """The user sent /start in a private chat: the bot may write to them from now on (and they
    have unblocked it, if they had). Returns their links."""
    row = _recipient(session, user_id)
    row.started, row.blocked, row.updated_at = True, False, utcnow()
    session.add(row)
    return links_of(session, user_id)


def set_pops(session: Session, user_id: int, on: bool) -> int:
    """/pop on|off; off takes back the pops still waiting. Returns how many were."""
    row = _recipient(session, user_id)
    row.pops_on, row.updated_at = on, utcnow()
    session.add(row)
    return 0 if on else withdraw_pops(session, user_id)


def recipient_state(session: Session, user_id: int) -> tuple[PopRecipient | None, list[AgentLink]]:
    return session.get(PopRecipient, user_id), links_of(session, user_id)


def links_of(session: Session, user_id: int) -> list[AgentLink]:
    return list(
        session.exec(
            select(AgentLink)
            .where(AgentLink.user_id == user_id)
            .order_by(col(AgentLink.sip_account))
        )
    )


def links_in_group(session: Session, voice_group_id: int) -> dict[str, AgentLink]:
    return {
        link.sip_account: link
        for link in session.exec(
            select(AgentLink).where(AgentLink.voice_group_id == voice_group_id)
        )
    }


# ---- linking ---------------------------------------------------------------------------------


class LinkResult(Enum):
    LINKED = "linked"
    ALREADY = "already"  # this user already holds it (through this chat)
    TAKEN = "taken"  # another user holds it
    OTHER_TEAM = "other_team"  # another chat linked it


@dataclass(frozen=True)
class LinkOutcome:
    result: LinkResult
    link: AgentLink
    started: bool  # the user has a private chat with the bot (pops can reach them)


def link_account(
    session: Session,
    *,
    sip_account: str,
    user_id: int,
    chat_id: int,
    voice_group_id: int,
    group_name: str,
    by_user: int,
    action: str = "link",
) -> LinkOutcome:
    """Link the account to the user for this chat, unless someone holds it already."""
    existing = session.get(AgentLink, sip_account)
    recipient = session.get(PopRecipient, user_id)
    started = bool(recipient and recipient.started and not recipient.blocked)
    if existing is not None:
        if existing.chat_id != chat_id:
            result = LinkResult.OTHER_TEAM
        elif existing.user_id != user_id:
            result = LinkResult.TAKEN
        else:
            result = LinkResult.ALREADY
        return LinkOutcome(result, existing, started)
    link = AgentLink(
        sip_account=sip_account,
        user_id=user_id,
        chat_id=chat_id,
        voice_group_id=voice_group_id,
        group_name=group_name,
        linked_by=by_user,
        linked_at=utcnow(),
    )
    session.add(link)
    if recipient is None:
        session.add(PopRecipient(user_id=user_id))
    audit(
        session,
        action=action,
        user_id=by_user,
        chat_id=chat_id,
        sip_account=sip_account,
        linked_user=user_id,
        voice_group_id=voice_group_id,
    )
    session.flush()
    return LinkOutcome(LinkResult.LINKED, link, started)


def unlink_account(
    session: Session, *, sip_account: str, chat_id: int, is_admin: bool, by_user: int
) -> tuple[AgentLink | None, int]:
    """Remove the link (this chat's, or any for an admin) and the pops still waiting for it.
    (None, 0) when there is no such link for this chat."""
    link = session.get(AgentLink, sip_account)
    if link is None or (link.chat_id != chat_id and not is_admin):
        return None, 0
    withdrawn = withdraw_pops(session, link.user_id, [sip_account])
    session.delete(link)
    audit(
        session,
        action="unlink",
        user_id=by_user,
        chat_id=chat_id,
        sip_account=sip_account,
        linked_user=link.user_id,
    )
    return link, withdrawn


def pending_request(session: Session, sip_account: str, user_id: int) -> LinkRequest | None:
    return session.exec(
        select(LinkRequest).where(
            LinkRequest.sip_account == sip_account,
            LinkRequest.user_id == user_id,
            LinkRequest.status == LinkRequestStatus.PENDING.value,
        )
    ).first()


def request_link(
    session: Session,
    *,
    sip_account: str,
    user_id: int,
    chat_id: int,
    voice_group_id: int,
    group_name: str,
) -> LinkRequest:
    """An agent's /iam: a pending request for the team's chat (the user may now get pops:
    they wrote to the bot in private)."""
    recipient = _recipient(session, user_id)
    recipient.started, recipient.blocked = True, False
    session.add(recipient)
    request = LinkRequest(
        sip_account=sip_account,
        user_id=user_id,
        chat_id=chat_id,
        voice_group_id=voice_group_id,
        group_name=group_name,
    )
    session.add(request)
    audit(session, action="iam", user_id=user_id, chat_id=chat_id, sip_account=sip_account)
    session.flush()
    return request


class DecisionResult(Enum):
    DONE = "done"
    GONE = "gone"  # no such request
    WRONG_CHAT = "wrong_chat"  # pressed in another chat than the request's
    DECIDED = "decided"  # decided before


@dataclass(frozen=True)
class Decision:
    result: DecisionResult
    request: LinkRequest | None = None
    link: LinkOutcome | None = None


def decide_request(
    session: Session, *, request_id: int, chat_id: int, by_user: int, confirm: bool
) -> Decision:
    """Confirm (link) or refuse a request, once, from the request's own chat only."""
    request = session.get(LinkRequest, request_id)
    if request is None:
        return Decision(DecisionResult.GONE)
    if request.chat_id != chat_id:
        return Decision(DecisionResult.WRONG_CHAT, request)
    if request.status != LinkRequestStatus.PENDING:
        return Decision(DecisionResult.DECIDED, request)
    # Compare-and-set: two operators pressing at once decide it once.
    won = session.exec(
        update(LinkRequest)
        .where(
            col(LinkRequest.id) == request_id,
            col(LinkRequest.status) == LinkRequestStatus.PENDING.value,
        )
        .values(
            status=(LinkRequestStatus.CONFIRMED if confirm else LinkRequestStatus.REFUSED).value,
            decided_by=by_user,
            decided_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(request)
    if not won:
        return Decision(DecisionResult.DECIDED, request)
    if not confirm:
        audit(
            session,
            action="iam_refused",
            user_id=by_user,
            chat_id=chat_id,
            sip_account=request.sip_account,
            linked_user=request.user_id,
        )
        return Decision(DecisionResult.DONE, request)
    outcome = link_account(
        session,
        sip_account=request.sip_account,
        user_id=request.user_id,
        chat_id=request.chat_id,
        voice_group_id=request.voice_group_id,
        group_name=request.group_name,
        by_user=by_user,
        action="iam_confirmed",
    )
    return Decision(DecisionResult.DONE, request, outcome)


def team_chat_of_group(session: Session, voice_group_id: int) -> BoundChat | None:
    """The chat of the team that owns a group: the bound chat that routed it first."""
    routes = session.exec(
        select(GroupRoute)
        .where(GroupRoute.voice_group_id == voice_group_id, col(GroupRoute.active))
        .order_by(col(GroupRoute.created_at), col(GroupRoute.id))
    )
    for route in routes:
        chat = session.get(BoundChat, route.chat_id)
        if chat is not None and chat.active:
            return chat
    return None


def latest_pop(session: Session, user_id: int) -> int | None:
    return session.exec(
        select(ScreenPop.id)
        .where(ScreenPop.user_id == user_id)
        .order_by(col(ScreenPop.id).desc())
        .limit(1)
    ).first()
