"""Inline keyboards as views produce them: rows of (label, callback data), turned into Telegram's
markup by the handlers (`bot.handlers.base.keyboard`)."""

from __future__ import annotations

from collections.abc import Sequence

Keyboard = Sequence[Sequence[tuple[str, str]]]
