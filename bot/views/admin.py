"""Answers of /help, /whoami, /role and /audit, and the admins' notice that the bot was removed
from a chat."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Protocol

from bot.render import code, esc
from storage.models import AuditEntry


class CommandEntry(Protocol):
    """A command as /help lists it (the catalogue's `CommandInfo`)."""

    @property
    def name(self) -> str: ...
    @property
    def summary(self) -> str: ...
    @property
    def usage(self) -> str:
        """The command's forms, one per line, plain text."""
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
    lines = [f"<b>ccbot</b> — you are <b>{esc(role_label)}</b> here."]
    if situation:
        lines.append(esc(situation))
    for info in commands:
        forms = "\n".join(f"    {esc(form)}" for form in info.usage.split("\n"))
        lines.append(f"/{info.name} — {esc(info.summary)}\n{forms}\n    e.g. {code(info.example)}")
    lines += [esc(note) for note in notes]
    return "\n\n".join(lines)


def whoami_message(user_id: int, role_label: str, where: str, chat_id: int) -> str:
    """/whoami; `where` is plain text ("this chat", "this private chat", …)."""
    return (
        f"Your Telegram user id is {code(user_id)}; your role in {esc(where)} is "
        f"<b>{esc(role_label)}</b>. Chat id: {code(chat_id)}."
    )


def role_changed(target_label: str, target_id: int, role_label: str, what: str) -> str:
    """/role: who now has which role, and what that lets them do (`what`, plain text)."""
    return f"{esc(target_label)} ({code(target_id)}) is now <b>{esc(role_label)}</b>: {esc(what)}."


def audit_list(rows: Sequence[AuditEntry]) -> str:
    """/audit: the newest platform calls, each with who, where, what, the answer and the time."""
    lines = [f"<b>Last {len(rows)} platform calls</b>"]
    for row in rows:
        mark = "✓" if row.ok else "✗"
        args = json.loads(row.arguments or "{}")
        arg_text = ", ".join(f"{k}={v}" for k, v in list(args.items())[:4])
        lines.append(
            f"{mark} {row.at:%m-%d %H:%M:%S} {esc(row.command or 'system')} by "
            f"{code(row.user_id or '-')} in {code(row.chat_id or '-')}: {esc(row.endpoint)} "
            f"({esc(arg_text[:120])}) → code {esc(row.result_code or '-')}, {row.duration_ms} ms"
        )
    return "\n".join(lines)


def removed_from_chat(title: str | None, chat_id: int, routes: int, withdrawn: int) -> str:
    """To the admins: the bot was removed from a chat, what that stopped, and how to undo it."""
    dropped = (
        f" The {withdrawn} message(s) still waiting to be posted there will not be posted."
        if withdrawn
        else ""
    )
    return (
        f"I was removed from the chat {esc(title or chat_id)} ({code(chat_id)}). I unbound it; "
        f"{routes} agent group(s) no longer send their events anywhere.{dropped} Add me back and "
        f"run /bind there, or create the routes again in another chat."
    )
