"""Errors the user can act on, raised by services and handlers and rendered by the handler guard.

The contract: the message is PLAIN TEXT (never HTML). The guard in `bot.handlers.base.run_guarded`
is the one place that renders it, escaping it with `bot.render.esc`, so a group name, task id or
rate typed by a user is shown literally and can never break or inject markup.
"""

from __future__ import annotations


class UserFacingError(Exception):
    """Something the user can fix; the plain-text message says what happened and what to do."""


class UsageError(UserFacingError):
    """Wrong arguments.

    `problem` (plain text, may be empty) says what is wrong; `command` names the catalogue entry
    (`bot.handlers.catalogue`) whose usage and example the guard shows after it. Without a
    `command` the message alone is shown (plain text, like any `UserFacingError`).
    """

    def __init__(self, problem: str = "", *, command: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.command = command.lstrip("/") if command else None
