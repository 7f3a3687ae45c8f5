"""What /link, /unlink, /iam, /pop, /start and the link request cards say (HTML).

Whole sentences per case (they are translated as units); every value from users or the platform
is escaped here.
"""

from __future__ import annotations

from bot.render import code, esc


def person(label: str | None, user_id: int) -> str:
    """A user as "Alice Rao (id 123)" (escaped)."""
    return f"{esc(label)} (id {code(user_id)})" if label else f"user {code(user_id)}"


def linked(sip: str, who: str, group: str, started: bool, bot_username: str | None) -> str:
    if started:
        return (
            f"🔗 SIP account {code(sip)} (group {esc(group)}) is now linked to {who}. When a call "
            f"rings on it, they get a private message with the callee at once."
        )
    bot = f"@{esc(bot_username)}" if bot_username else "me"
    return (
        f"🔗 SIP account {code(sip)} (group {esc(group)}) is now linked to {who}, but they have "
        f"not started a private chat with me yet, and Telegram lets a bot write only to people "
        f"who have. Ask them to open {bot} and send /start: their screen pops begin then."
    )


def already_linked(sip: str, who: str) -> str:
    return f"SIP account {code(sip)} is already linked to {who}; nothing was changed."


def taken(sip: str, holder: str) -> str:
    return (
        f"SIP account {code(sip)} is linked to {holder}, and one SIP account goes to one person, "
        f"so nothing was changed. To move it, run /unlink {esc(sip)} first, then /link again."
    )


def other_team(sip: str) -> str:
    return (
        f"SIP account {code(sip)} was linked by another team's chat, so this chat can't change "
        f"it; nothing was changed. A ccbot admin can /unlink it there."
    )


def not_in_team(sip: str, groups: list[str]) -> str:
    listed = ", ".join(esc(g) for g in groups)
    return (
        f"I can't find SIP account {code(sip)} among the agents of this chat's groups ({listed}) "
        f"on the platform, so nothing was linked. Check the spelling with /agents &lt;group&gt;; "
        f"an account of another team's group is linked from that team's chat."
    )


def no_groups() -> str:
    return (
        "No agent group is routed to this chat, so it has no SIP accounts to link. Create one "
        "with /newgroup or route one here with /route first."
    )


def unlinked(sip: str, who: str, withdrawn: int) -> str:
    dropped = (
        f" {withdrawn} screen pop(s) still waiting to be sent were dropped." if withdrawn else ""
    )
    return f"SIP account {code(sip)} is no longer linked to {who}: their pops stopped.{dropped}"


def not_linked_here(sip: str) -> str:
    return (
        f"SIP account {code(sip)} is not linked from this chat, so nothing was changed. "
        f"/agents &lt;group&gt; shows who is linked."
    )


def private_only(command: str) -> str:
    return (
        f"{esc(command)} works in your private chat with me, so nobody else reads your answers: "
        f"open a private chat with me and send it there."
    )


def team_only(command: str) -> str:
    return (
        f"{esc(command)} works in the team chat whose agent group holds the SIP account, so "
        f"that team's operators decide. Send it there."
    )


def unknown_account(sip: str) -> str:
    return (
        f"The platform has no agent with the SIP account {code(sip)}, so no request was sent. "
        f"Check the account name on your softphone (for example 1344C025cb_001) and try again."
    )


def no_team(sip: str, group: str) -> str:
    return (
        f"SIP account {code(sip)} is in the agent group {esc(group)}, which no team chat has "
        f"yet, so there is nobody to confirm it. Ask your team lead to /route the group to the "
        f"team's chat first."
    )


def request_sent(sip: str, chat_title: str | None) -> str:
    where = f"the chat {esc(chat_title)}" if chat_title else "your team's chat"
    return (
        f"I asked the operators in {where} to confirm that SIP account {code(sip)} is yours. "
        f"I'll tell you here when they have decided."
    )


def iam_pending(sip: str) -> str:
    return (
        f"You already asked your team to confirm SIP account {code(sip)}; its operators have "
        f"not decided yet. I'll tell you here when they do."
    )


def iam_already(sip: str) -> str:
    return f"SIP account {code(sip)} is already linked to you; /pop shows your pop settings."


def iam_taken(sip: str) -> str:
    return (
        f"SIP account {code(sip)} is already linked to someone else, so no request was sent. "
        f"If it is yours now, ask an operator of your team to /unlink it and link it to you."
    )


def request_card(who: str, sip: str, group: str) -> str:
    return (
        f"🙋 {who} says SIP account {code(sip)} (group {esc(group)}) is theirs and asks for its "
        f"screen pops: a private message with the callee whenever a call rings on it.\n"
        f"An operator of this chat can confirm or refuse."
    )


def request_decided(card: str, confirmed: bool, by: str) -> str:
    verdict = f"✅ Confirmed by {by}." if confirmed else f"❌ Refused by {by}."
    return f"{card}\n\n{verdict}"


def told_confirmed(sip: str) -> str:
    return (
        f"✅ Your team confirmed SIP account {code(sip)} is yours. From now on a call ringing on "
        f"it pops up here at once. /pop off stops the pops."
    )


def told_refused(sip: str) -> str:
    return (
        f"❌ Your team refused to link SIP account {code(sip)} to you. If that is a mistake, "
        f"ask an operator of your team."
    )


def confirmed_but(sip: str, why: str) -> str:
    return f"SIP account {code(sip)} could not be linked: {why}"


def welcome(accounts: list[str]) -> str:
    if not accounts:
        return (
            "Hello! I run the Laaffic call center from Telegram. If you are an agent, send "
            "/iam &lt;your SIP account&gt; here and your team confirms it: then, whenever a call "
            "rings on your phone, I show you who is being called, their details and their "
            "earlier calls here. /help lists what else you can do."
        )
    listed = ", ".join(code(a) for a in accounts)
    return (
        f"Hello! Your SIP account(s) {listed} are linked to you. Whenever a call rings on one of "
        f"them, I send you a message here at once: who is being called, their details from the "
        f"number file and their earlier calls, and I edit it with the outcome. /pop off stops "
        f"the pops, /pop on brings them back, /pop shows them."
    )


def pop_state(on: bool, started: bool, blocked: bool, accounts: list[tuple[str, str]]) -> str:
    """accounts: (SIP account, group)."""
    if not accounts:
        return (
            "No SIP account is linked to you, so there are no screen pops to show. Send /iam "
            "&lt;your SIP account&gt; to ask your team to link one."
        )
    lines = [
        "Screen pops are <b>on</b>: a call ringing on these SIP accounts pops up here."
        if on
        else "Screen pops are <b>off</b>: /pop on brings them back."
    ]
    if blocked or not started:
        lines.append("They can't reach you until you send /start here.")
    lines += [f"• {code(sip)} (group {esc(group)})" for sip, group in accounts]
    return "\n".join(lines)


def pop_set(on: bool, withdrawn: int) -> str:
    if on:
        return "Screen pops are on: a call ringing on your SIP accounts pops up here at once."
    dropped = f" {withdrawn} waiting pop(s) were dropped." if withdrawn else ""
    return f"Screen pops are off: nothing more pops up here until /pop on.{dropped}"


def linked_agents(rows: list[tuple[str, str]]) -> str:
    """The group's linked SIP accounts for /agents: (SIP account, who)."""
    if not rows:
        return (
            "\n\nNo SIP account of this group is linked to a Telegram user yet: "
            "/link &lt;SIP account&gt; @username does it."
        )
    lines = ["\n\n<b>Screen pops</b> (linked Telegram users):"]
    lines += [f"• {code(sip)} → {who}" for sip, who in rows]
    return "\n".join(lines)


def agent_blocked_notice(user_id: int, accounts: list[str]) -> str:
    """For the team chats that linked the accounts, once: the agent blocked the bot."""
    listed = ", ".join(code(a) for a in accounts)
    return (
        f"⚠️ The Telegram user {code(user_id)}, linked to SIP account(s) {listed}, has blocked "
        f"me, so their screen pops stopped. They start again when the agent sends me /start."
    )
