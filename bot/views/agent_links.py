"""What /link, /unlink, /iam, /pop, /start and the link request cards say (HTML).

Whole sentences per case (they are translated as units, in the current language: bot/i18n.py);
every value from users or the platform is escaped here.
"""

from __future__ import annotations

from bot.i18n import _, n_
from bot.render import code, esc


def person(label: str | None, user_id: int) -> str:
    """A user as "Alice Rao (id 123)" (escaped)."""
    if label:
        return _("{name} (id {user_id})", name=esc(label), user_id=code(user_id))
    return _("user {user_id}", user_id=code(user_id))


def linked(sip: str, who: str, group: str, started: bool, bot_username: str | None) -> str:
    values = {"sip": code(sip), "group": esc(group), "who": who}
    if started:
        return _(
            "🔗 SIP account {sip} (group {group}) is now linked to {who}. When a call rings on "
            "it, they get a private message with the callee at once.",
            **values,
        )
    if bot_username:
        return _(
            "🔗 SIP account {sip} (group {group}) is now linked to {who}, but they have not "
            "started a private chat with me yet, and Telegram lets a bot write only to people who "
            "have. Ask them to open {bot} and send /start: their screen pops begin then.",
            bot="@" + esc(bot_username),
            **values,
        )
    return _(
        "🔗 SIP account {sip} (group {group}) is now linked to {who}, but they have not started "
        "a private chat with me yet, and Telegram lets a bot write only to people who have. Ask "
        "them to open me and send /start: their screen pops begin then.",
        **values,
    )


def already_linked(sip: str, who: str) -> str:
    return _(
        "SIP account {sip} is already linked to {who}; nothing was changed.", sip=code(sip), who=who
    )


def taken(sip: str, holder: str) -> str:
    return _(
        "SIP account {sip} is linked to {holder}, and one SIP account goes to one person, so "
        "nothing was changed. To move it, run /unlink {name} first, then /link again.",
        sip=code(sip),
        holder=holder,
        name=esc(sip),
    )


def other_team(sip: str) -> str:
    return _(
        "SIP account {sip} was linked by another team's chat, so this chat can't change it; "
        "nothing was changed. A ccbot admin can /unlink it there.",
        sip=code(sip),
    )


def not_in_team(sip: str, groups: list[str]) -> str:
    listed = ", ".join(esc(g) for g in groups)
    return _(
        "I can't find SIP account {sip} among the agents of this chat's groups ({groups}) on the "
        "platform, so nothing was linked. Check the spelling with /agents &lt;group&gt;; an "
        "account of another team's group is linked from that team's chat.",
        sip=code(sip),
        groups=listed,
    )


def no_groups() -> str:
    return _(
        "No agent group is routed to this chat, so it has no SIP accounts to link. Create one "
        "with /newgroup or route one here with /route first."
    )


def unlinked(sip: str, who: str, withdrawn: int) -> str:
    text = _(
        "SIP account {sip} is no longer linked to {who}: their pops stopped.",
        sip=code(sip),
        who=who,
    )
    if withdrawn:
        text += " " + n_(
            "{count} screen pop still waiting to be sent was dropped.",
            "{count} screen pops still waiting to be sent were dropped.",
            withdrawn,
        )
    return text


def not_linked_here(sip: str) -> str:
    return _(
        "SIP account {sip} is not linked from this chat, so nothing was changed. "
        "/agents &lt;group&gt; shows who is linked.",
        sip=code(sip),
    )


def private_only(command: str) -> str:
    return _(
        "{command} works in your private chat with me, so nobody else reads your answers: open a "
        "private chat with me and send it there.",
        command=esc(command),
    )


def team_only(command: str) -> str:
    return _(
        "{command} works in the team chat whose agent group holds the SIP account, so that "
        "team's operators decide. Send it there.",
        command=esc(command),
    )


def unknown_account(sip: str) -> str:
    return _(
        "The platform has no agent with the SIP account {sip}, so no request was sent. Check the "
        "account name on your softphone (for example 1344C025cb_001) and try again.",
        sip=code(sip),
    )


def no_team(sip: str, group: str) -> str:
    return _(
        "SIP account {sip} is in the agent group {group}, which no team chat has yet, so there "
        "is nobody to confirm it. Ask your team lead to /route the group to the team's chat "
        "first.",
        sip=code(sip),
        group=esc(group),
    )


def request_sent(sip: str, chat_title: str | None) -> str:
    if chat_title:
        return _(
            "I asked the operators in the chat {chat} to confirm that SIP account {sip} is "
            "yours. I'll tell you here when they have decided.",
            chat=esc(chat_title),
            sip=code(sip),
        )
    return _(
        "I asked the operators in your team's chat to confirm that SIP account {sip} is yours. "
        "I'll tell you here when they have decided.",
        sip=code(sip),
    )


def iam_pending(sip: str) -> str:
    return _(
        "You already asked your team to confirm SIP account {sip}; its operators have not "
        "decided yet. I'll tell you here when they do.",
        sip=code(sip),
    )


def iam_already(sip: str) -> str:
    return _(
        "SIP account {sip} is already linked to you; /pop shows your pop settings.", sip=code(sip)
    )


def iam_taken(sip: str) -> str:
    return _(
        "SIP account {sip} is already linked to someone else, so no request was sent. If it is "
        "yours now, ask an operator of your team to /unlink it and link it to you.",
        sip=code(sip),
    )


def request_card(who: str, sip: str, group: str) -> str:
    return _(
        "🙋 {who} says SIP account {sip} (group {group}) is theirs and asks for its screen "
        "pops: a private message with the callee whenever a call rings on it.\n"
        "An operator of this chat can confirm or refuse.",
        who=who,
        sip=code(sip),
        group=esc(group),
    )


def request_decided(card: str, confirmed: bool, by: str) -> str:
    verdict = _("✅ Confirmed by {by}.", by=by) if confirmed else _("❌ Refused by {by}.", by=by)
    return f"{card}\n\n{verdict}"


def told_confirmed(sip: str) -> str:
    return _(
        "✅ Your team confirmed SIP account {sip} is yours. From now on a call ringing on it "
        "pops up here at once. /pop off stops the pops.",
        sip=code(sip),
    )


def told_refused(sip: str) -> str:
    return _(
        "❌ Your team refused to link SIP account {sip} to you. If that is a mistake, ask an "
        "operator of your team.",
        sip=code(sip),
    )


def confirmed_but(sip: str, why: str) -> str:
    return _("SIP account {sip} could not be linked: {why}", sip=code(sip), why=why)


def welcome(accounts: list[str]) -> str:
    if not accounts:
        return _(
            "Hello! I run the Laaffic call center from Telegram. If you are an agent, send "
            "/iam &lt;your SIP account&gt; here and your team confirms it: then, whenever a call "
            "rings on your phone, I show you who is being called, their details and their "
            "earlier calls here. /help lists what else you can do."
        )
    return _(
        "Hello! Your SIP account(s) {accounts} are linked to you. Whenever a call rings on one of "
        "them, I send you a message here at once: who is being called, their details from the "
        "number file and their earlier calls, and I edit it with the outcome. /pop off stops the "
        "pops, /pop on brings them back, /pop shows them.",
        accounts=", ".join(code(a) for a in accounts),
    )


def pop_state(on: bool, started: bool, blocked: bool, accounts: list[tuple[str, str]]) -> str:
    """accounts: (SIP account, group)."""
    if not accounts:
        return _(
            "No SIP account is linked to you, so there are no screen pops to show. Send /iam "
            "&lt;your SIP account&gt; to ask your team to link one."
        )
    lines = [
        _("Screen pops are <b>on</b>: a call ringing on these SIP accounts pops up here.")
        if on
        else _("Screen pops are <b>off</b>: /pop on brings them back.")
    ]
    if blocked or not started:
        lines.append(_("They can't reach you until you send /start here."))
    lines += [
        "• " + _("{sip} (group {group})", sip=code(sip), group=esc(group))
        for sip, group in accounts
    ]
    return "\n".join(lines)


def pop_set(on: bool, withdrawn: int) -> str:
    if on:
        return _("Screen pops are on: a call ringing on your SIP accounts pops up here at once.")
    text = _("Screen pops are off: nothing more pops up here until /pop on.")
    if withdrawn:
        text += " " + n_(
            "{count} waiting pop was dropped.", "{count} waiting pops were dropped.", withdrawn
        )
    return text


def linked_agents(rows: list[tuple[str, str]]) -> str:
    """The group's linked SIP accounts for /agents: (SIP account, who)."""
    if not rows:
        return "\n\n" + _(
            "No SIP account of this group is linked to a Telegram user yet: "
            "/link &lt;SIP account&gt; @username does it."
        )
    lines = ["\n\n" + _("<b>Screen pops</b> (linked Telegram users):")]
    lines += [f"• {code(sip)} → {who}" for sip, who in rows]
    return "\n".join(lines)


def agent_blocked_notice(user_id: int, accounts: list[str]) -> str:
    """For the team chats that linked the accounts, once: the agent blocked the bot."""
    return _(
        "⚠️ The Telegram user {user_id}, linked to SIP account(s) {accounts}, has blocked me, so "
        "their screen pops stopped. They start again when the agent sends me /start.",
        user_id=code(user_id),
        accounts=", ".join(code(a) for a in accounts),
    )
