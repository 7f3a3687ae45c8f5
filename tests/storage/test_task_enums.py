"""Task statuses are enums in code and the same plain strings in the database as before, on SQLite
and PostgreSQL; rows written by earlier versions still load."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError
from sqlmodel import select

from storage.db import Database
from storage.models import (
    ActionKind,
    ActionStatus,
    DraftStatus,
    DraftStep,
    PendingAction,
    TaskDraft,
)


def test_enums_are_stored_as_their_old_values_and_read_back_as_enums(database: Database) -> None:
    with database.session() as s:
        draft = TaskDraft(chat_id=-100, user_id=7, step=DraftStep.RATE_TEXT)
        action = PendingAction(
            chat_id=-100, user_id=7, kind=ActionKind.RERUN, status=ActionStatus.CONFIRMED
        )
        s.add_all([draft, action])
    with database.session() as s:
        raw = s.execute(text("SELECT step, status FROM task_draft")).one()
        assert tuple(raw) == ("rate_text", "draft")
        raw = s.execute(text("SELECT kind, status FROM pending_action")).one()
        assert tuple(raw) == ("rerun", "done")
        loaded = s.get(TaskDraft, draft.id)
        assert loaded.step is DraftStep.RATE_TEXT and loaded.status is DraftStatus.DRAFT
        assert s.get(PendingAction, action.id).status is ActionStatus.CONFIRMED


def test_a_group_page_step_written_by_an_earlier_version_loads_as_the_group_step(
    database: Database,
) -> None:
    with database.session() as s:
        s.execute(
            text(
                "INSERT INTO task_draft (chat_id, user_id, step, status, created_at, updated_at) "
                "VALUES (-100, 7, 'group:2', 'draft', '2026-01-01', '2026-01-01')"
            )
        )
    with database.session() as s:
        (draft,) = s.exec(select(TaskDraft)).all()
        assert draft.step is DraftStep.GROUP


def test_a_value_outside_the_enum_is_refused_before_it_is_written(database: Database) -> None:
    with pytest.raises(StatementError, match="not a valid DraftStatus"):
        with database.session() as s:
            s.add(TaskDraft(chat_id=-100, user_id=7, status="sent"))
