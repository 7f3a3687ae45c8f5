"""Answers of /help, /whoami, /role and /audit, and the admins' notice that the bot was removed
from a chat."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Protocol

from bot.i18n import _, n_
from bot.render import code, esc
from storage.models import AuditEntry


class CommandEntry(Protocol):
    """A command as /help lists it (the catalogue's `CommandInfo`)."""

    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str:
        """The one-line description, in the current language."""
        ...

    @property
    def forms(self) -> list[str]:
        """The command's forms, plain text, in the current language."""
        ...

    @property
    def example(self) -> str: ...


def help_message(
    role_label: str,
    *,
    situation: str | None,
    commands: Iterable[CommandEntry],
    notes: Sequence[str],
) -> str:
    """/help: the caller's role, what to do first when the chat cannot be used yet (`situation`,
    plain text), the commands the caller may use, and the notes (plain text)."""
    lines = [_("<b>ccbot</b> — you are <b>{role}</b> here.", role=esc(role_label))]
    if situation:
        lines.append(esc(situation))
    for info in commands:
        forms = "\n".join(f"    {esc(form)}" for form in info.forms)
        example = _("e.g. {example}", example=code(info.example))
        lines.append(f"/{info.name} — {esc(info.description)}\n{forms}\n    {example}")
    lines += [esc(note) for note in notes]
    return "\n\n".join(lines)


def whoami_message(user_id: int, role_label: str, where: str, chat_id: int) -> str:
    """/whoami; `where` is plain text ("this chat", "this private chat", …)."""
    return _(
        "Your Telegram user id is {user_id}; your role in {where} is "
        "<b>{role}</b>. Chat id: {chat_id}.",
        user_id=code(user_id),
        where=esc(where),
        role=esc(role_label),
        chat_id=code(chat_id),
    )


def role_changed(target_label: str, target_id: int, role_label: str, what: str) -> str:
    """/role: who now has which role, and what that lets them do (`what`, plain text)."""
    return _(
        "{user} ({id}) is now <b>{role}</b>: {what}.",
        user=esc(target_label),
        id=code(target_id),
        role=esc(role_label),
        what=esc(what),
    )


def audit_list(rows: Sequence[AuditEntry]) -> str:
    """/audit: the newest platform calls, each with who, where, what, the answer and the time."""
    lines = [
        n_("<b>Last {count} platform calls</b>", "<b>Last {count} platform calls</b>", len(rows))
    ]
    system = _("system")
    for row in rows:
        mark = "✓" if row.ok else "✗"
        args = json.loads(row.arguments or "{}")
        arg_text = ", ".join(f"{k}={v}" for k, v in list(args.items())[:4])
        lines.append(
            _(
                "{mark} {at} {command} by {user} in {chat}: {endpoint} ({args}) → code {code}, "
                "{ms} ms",
                mark=mark,
                at=f"{row.at:%m-%d %H:%M:%S}",
                command=esc(row.command or system),
                user=code(row.user_id or "-"),
                chat=code(row.chat_id or "-"),
                endpoint=esc(row.endpoint),
                args=esc(arg_text[:120]),
                code=esc(row.result_code or "-"),
                ms=row.duration_ms,
            )
        )
    return "\n".join(lines)


def removed_from_chat(title: str | None, chat_id: int, routes: int, withdrawn: int) -> str:
    """To the admins: the bot was removed from a chat, what that stopped, and how to undo it."""
    dropped = (
        n_(
            " The {count} message(s) still waiting to be posted there will not be posted.",
            " The {count} message(s) still waiting to be posted there will not be posted.",
            withdrawn,
        )
        if withdrawn
        else ""
    )
    return n_(
        "I was removed from the chat {title} ({id}). I unbound it; "
        "{count} agent group(s) no longer send their events anywhere.{dropped} Add me back and "
        "run /bind there, or create the routes again in another chat.",
        "I was removed from the chat {title} ({id}). I unbound it; "
        "{count} agent group(s) no longer send their events anywhere.{dropped} Add me back and "
        "run /bind there, or create the routes again in another chat.",
        routes,
        title=esc(title or chat_id),
        id=code(chat_id),
        dropped=dropped,
    )
