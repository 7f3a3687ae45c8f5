"""Chat bindings, roles, migration and the compare-and-set claims, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from bot.errors import UserFacingError
from bot.services import access, task_input, tasks, uploads
from bot.services.access import Role
from storage.db import Database
from storage.models import (
    ActionKind,
    ActionStatus,
    DraftStatus,
    GroupRoute,
    NumberUpload,
    UploadPart,
)


def test_roles_default_to_viewer_only_in_bound_chats(database: Database) -> None:
    with database.session() as s:
        assert access.role_in_chat(s, -100, 7) == Role.NONE
        access.bind_chat(s, -100, title="Team", chat_type="supergroup", thread_id=None, by_user=1)
    with database.session() as s:
        assert access.role_in_chat(s, -100, 7) == Role.VIEWER
        access.set_role(s, -100, 7, Role.OPERATOR, by_user=1)
        access.set_role(s, -100, 8, Role.NONE, by_user=1)
    with database.session() as s:
        assert access.role_in_chat(s, -100, 7) == Role.OPERATOR
        assert access.role_in_chat(s, -100, 8) == Role.NONE


def test_unbind_stops_routes_and_rebind_restores_them(database: Database) -> None:
    with database.session() as s:
        access.bind_chat(s, -100, title="T", chat_type="group", thread_id=None, by_user=1)
        s.add(GroupRoute(voice_group_id=1000001, chat_id=-100, group_name="Team-A"))
    with database.session() as s:
        assert access.unbind_chat(s, -100) == 1
        assert access.get_bound_chat(s, -100) is None
    with database.session() as s:
        _, was_bound = access.bind_chat(
            s, -100, title="T", chat_type="group", thread_id=5, by_user=1
        )
        assert not was_bound
    with database.session() as s:
        (route,) = s.exec(select(GroupRoute).where(GroupRoute.voice_group_id == 1000001)).all()
        assert route.active
        assert access.get_bound_chat(s, -100).thread_id == 5


def test_migration_moves_everything_and_is_idempotent(database: Database) -> None:
    with database.session() as s:
        access.bind_chat(s, -100, title="T", chat_type="group", thread_id=None, by_user=1)
        access.set_role(s, -100, 7, Role.OPERATOR, by_user=1)
        s.add(GroupRoute(voice_group_id=1000001, chat_id=-100, group_name="Team-A"))
    for _ in range(2):
        with database.session() as s:
            assert access.migrate_chat(s, -100, -1000000000100)
    with database.session() as s:
        assert access.get_bound_chat(s, -100) is None
        assert access.get_bound_chat(s, -1000000000100) is not None
        assert access.role_in_chat(s, -1000000000100, 7) == Role.OPERATOR
        routes = s.exec(select(GroupRoute).where(GroupRoute.voice_group_id == 1000001)).all()
        assert [r.chat_id for r in routes] == [-1000000000100]


def _upload(database: Database, chat_id: int = -100, uploaded: bool = True) -> UploadPart:
    with database.session() as s:
        upload = NumberUpload(chat_id=chat_id, user_id=7, original_name="leads.csv", valid=10)
        s.add(upload)
        s.flush()
        part = UploadPart(
            upload_id=upload.id,
            file_name="leads_ab12cd.xls",
            rows=10,
            content=b"xls",
            platform_file_path="/mnt/cc/x.xls" if uploaded else None,
        )
        s.add(part)
        s.flush()
        return part


def _race(n: int, fn) -> list:  # noqa: ANN001
    """Run fn() in n threads released at the same moment; return their results."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        results[i] = fn()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_a_draft_is_claimed_for_submitting_exactly_once(database: Database) -> None:
    part = _upload(database)
    with database.session() as s:
        draft = tasks.new_draft(s, chat_id=-100, user_id=7, part_id=part.id)
    results = _race(
        8,
        lambda: database.call(
            lambda s: tasks.claim_draft(s, draft.id, DraftStatus.DRAFT, DraftStatus.SUBMITTING)
        ),
    )
    assert results.count(True) == 1


def test_an_upload_is_claimed_exactly_once(database: Database) -> None:
    part = _upload(database, uploaded=False)
    results = _race(
        8,
        lambda: database.call(
            lambda s: uploads.claim_upload(s, part.upload_id, -100, "checked", "uploading")
        ),
    )
    assert results.count(True) == 1


def test_a_pending_confirmation_is_answered_once(database: Database) -> None:
    with database.session() as s:
        action = tasks.new_pending(
            s,
            chat_id=-100,
            user_id=7,
            kind=ActionKind.CANCEL,
            payload=tasks.ActionPayload(task_id=5),
        )
    results = _race(
        6,
        lambda: database.call(
            lambda s: tasks.claim_pending(s, action.id, -100, ActionStatus.CONFIRMED)
        ),
    )
    assert sum(r is not None for r in results) == 1


def test_drafts_need_an_uploaded_part_of_the_same_chat(database: Database) -> None:
    not_uploaded = _upload(database, uploaded=False)
    other_chat = _upload(database, chat_id=-200)
    with database.session() as s, pytest.raises(UserFacingError, match="isn't on the platform"):
        tasks.new_draft(s, chat_id=-100, user_id=7, part_id=not_uploaded.id)
    with database.session() as s, pytest.raises(UserFacingError, match="doesn't belong"):
        tasks.new_draft(s, chat_id=-100, user_id=7, part_id=other_chat.id)
    with database.session() as s, pytest.raises(UserFacingError, match="no upload #999"):
        tasks.resolve_part(s, -100, "999")


def test_one_line_task_form() -> None:
    spec = task_input.parse_one_line('12 agents Sales-Team-1 rate=2 ring=40 "March leads"')
    assert (spec.ref, spec.group, spec.rate, spec.ring, spec.remark) == (
        task_input.UploadRef(12, None),
        "Sales-Team-1",
        2,
        40,
        "March leads",
    )
    spec = task_input.parse_one_line('12.2 auto "one"')
    assert spec.group is None and spec.remark == "one"
    for bad, fragment in (
        ("12 robot", "“agents” or “auto”"),
        ("12 agents", "needs an agent group"),
        ("12 agents G rate=0", "1 to 10"),
        ('12 auto "open', "quotes"),
    ):
        with pytest.raises(UserFacingError, match=fragment):
            task_input.parse_one_line(bad)


def test_a_group_can_be_routed_to_several_chats_once_each(database: Database) -> None:
    from bot.laaffic.models import AgentGroup
    from bot.services import groups

    group = AgentGroup(voice_group_id=1000001, group_name="Team-A")
    with database.session() as s:
        groups.route_group(s, group, -100, None, 1)
        groups.route_group(s, group, -200, None, 1)
        groups.route_group(s, group, -100, None, 1)  # again: still one route for that chat
    with database.session() as s:
        routes = groups.routes_by_group(s)[1000001]
        assert sorted(r.chat_id for r in routes) == [-200, -100]


def test_migrating_into_a_chat_that_routes_the_group_keeps_one_route(database: Database) -> None:
    from bot.laaffic.models import AgentGroup
    from bot.services import groups

    group = AgentGroup(voice_group_id=1000001, group_name="Team-A")
    with database.session() as s:
        access.bind_chat(s, -100, title="T", chat_type="group", thread_id=None, by_user=1)
        groups.route_group(s, group, -100, None, 1)
        groups.route_group(s, group, -1000000000100, None, 1)
    with database.session() as s:
        assert access.migrate_chat(s, -100, -1000000000100)
    with database.session() as s:
        routes = groups.routes_by_group(s)[1000001]
        assert [r.chat_id for r in routes] == [-1000000000100]
