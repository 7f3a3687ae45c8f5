"""Task cards (the command cards and the live card the relay edits) are pure views: escaped, only
the buttons the task's state allows, and a card that must stay one message is shortened
deliberately (valid HTML, under Telegram's limit)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.laaffic.models import AgentGroup, Task, TaskStatus, TaskType
from bot.services.task_submit import SubmitOutcome, SubmitStatus
from bot.views import task_cards
from bot.views.values import ChatDisplay
from storage.models import DraftStatus, DraftStep, TaskDraft, UploadPart
from tests.fakes.telegram import MAX_TEXT_LENGTH, parse_html

KOLKATA = ChatDisplay(zone=ZoneInfo("Asia/Kolkata"))
NASTY = '<a href="https://example.com">x</a> & <b>'


def _visible(html: str) -> str:
    text, _ = parse_html(html)  # raises like Telegram on broken HTML
    assert len(text) <= MAX_TEXT_LENGTH
    return text


def _task(**fields) -> Task:  # noqa: ANN003
    base = dict(taskId=5000001, taskType=1, taskStatus=11, totalCount=10, remainCount=4)
    return Task.model_validate({**base, **fields})


def _data(rows) -> list[str]:  # noqa: ANN001
    return [data for row in rows or [] for _, data in row]


def test_buttons_follow_what_the_platform_allows() -> None:
    calling_agents = _data(task_cards.task_buttons(_task()))
    assert calling_agents == [
        "tk:5000001:refresh",
        "tk:5000001:cancel",
        "tk:5000001:rate",
    ]
    calling_auto = _data(task_cards.task_buttons(_task(taskType=0)))
    assert "tk:5000001:rate" not in calling_auto and "tk:5000001:cancel" in calling_auto
    for final in (TaskStatus.COMPLETED, TaskStatus.CANCELLED, TaskStatus.SUBMIT_FAILED):
        ended = _data(task_cards.task_buttons(_task(taskStatus=int(final))))
        assert ended == ["tk:5000001:refresh", "tk:5000001:rerun"], final
    assert _data(task_cards.task_buttons_new(7, int(TaskType.AUTOMATIC))) == [
        "tk:7:refresh",
        "tk:7:cancel",
    ]


def test_platform_values_are_shown_literally() -> None:
    card = task_cards.task_card(_task(remark=NASTY, seatGroupName=NASTY))
    text = _visible(card.text)
    assert NASTY in text
    assert "example.com" not in str(parse_html(card.text)[1])  # no link entity was made


def test_a_task_card_with_huge_platform_values_stays_one_valid_message() -> None:
    card = task_cards.task_card(_task(remark="&" * 5000, seatGroupName="<" * 9000))
    text = _visible(card.text)
    assert "Progress: 6 of 10 called" in text and "…" in text


def test_lines_are_dropped_whole_with_a_note_never_cut_inside_a_tag() -> None:
    lines = [f"<b>line {i}</b> " + "x" * 300 for i in range(40)]
    text = task_cards.one_message(lines)
    assert len(text) <= 4000 and text.endswith("… (shortened to fit one message)")
    visible = _visible(text)
    assert "line 0" in visible and "line 39" not in visible


def _draft(**fields) -> TaskDraft:  # noqa: ANN003
    values = dict(
        id=3,
        chat_id=-100,
        user_id=7,
        step=DraftStep.CONFIRM,
        status=DraftStatus.DRAFT,
        task_type=1,
        voice_group_id=1000001,
        callout_rate=2,
        max_ringing_time=0,
        remark="",
    )
    values.update(fields)
    return TaskDraft(**values)


def test_the_confirmation_card_escapes_and_shortens_a_long_failure() -> None:
    part = UploadPart(id=1, upload_id=1, file_name="<x>.xls", rows=12, content=b"")
    facts = task_cards.GroupFacts(
        group=AgentGroup(voiceGroupId=1000001, groupName="<i>Team</i>"), agents=2, enabled=0
    )
    card = task_cards.confirm_card(_draft(error="<b>" * 3000), part, facts=facts)
    text = _visible(card.text)
    assert "<x>.xls" in text and "<i>Team</i>" in text and "nobody to transfer to" in text
    assert "Last attempt failed: <b><b>" in text and text.count("<b>") < 3000
    assert _data(card.rows) == ["nt:3:submit", "nt:3:cancel"]


def test_the_group_picker_offers_no_group_for_automatic_calling_even_without_groups() -> None:
    draft = _draft(step=DraftStep.GROUP, task_type=0, voice_group_id=None)
    card = task_cards.draft_card(draft, None, groups=task_cards.GroupPage([], 0))
    assert "no agent groups" in card.text and "page" not in card.text
    assert _data(card.rows) == ["nt:3:grp:0", "nt:3:cancel"]
    groups = [AgentGroup(voiceGroupId=1000000 + i, groupName=f"G{i:02d}") for i in range(8)]
    first = task_cards.draft_card(draft, None, groups=task_cards.GroupPage(groups, 0))
    assert "page 1 of 2" in first.text and "nt:3:gpage:1" in _data(first.rows)
    agents = _draft(step=DraftStep.GROUP, task_type=1, voice_group_id=None)
    second = task_cards.draft_card(agents, None, groups=task_cards.GroupPage(groups, 1))
    assert "nt:3:grp:0" not in _data(second.rows) and "nt:3:gpage:0" in _data(second.rows)


def test_an_unknown_outcome_says_to_check_before_trying_again() -> None:
    outcome = SubmitOutcome(
        SubmitStatus.OUTCOME_UNKNOWN, _draft(status=DraftStatus.UNKNOWN), None, "lost <answer>"
    )
    card = task_cards.submit_result_card(outcome, None)
    text = _visible(card.text)
    assert "lost <answer>" in text and "before creating it again" in text and card.rows is None


def test_rerun_wording_names_the_numbers() -> None:
    from bot.services.task_actions import RerunChoice
    from storage.models import ActionKind

    card = task_cards.question(4, _task(taskStatus=12), ActionKind.RERUN, which=RerunChoice.ALL)
    assert "Re-run task <code>5000001</code>: call all its numbers again?" in card.text
    card = task_cards.question(
        4, _task(taskStatus=12), ActionKind.RERUN, which=RerunChoice.UNCALLED
    )
    assert "call the numbers it has not called yet?" in card.text


def test_the_live_task_card_shows_its_counters_and_ends_with_its_final_state() -> None:
    now = datetime(2025, 3, 1, 8, 0, 5, tzinfo=UTC)
    running = task_cards.TaskProgress(
        task_id=5000123,
        state="calling",
        status=11,
        total=500,
        remaining=380,
        transferred=40,
        lost=3,
        answered=60,
        failed=20,
        remark="March <leads>",
        updated_at=now,
    )
    text, _ = parse_html(task_cards.live_card_message(running, KOLKATA))
    assert "Task 5000123 — calling · March <leads>" in text
    assert "Called 120 of 500 (24.0%) · remaining 380" in text
    assert "Answered 60 · transferred 40 · failed 20 · lost waiting for an agent 3" in text
    assert "Updated 13:30:05" in text
    done = task_cards.TaskProgress(
        task_id=5000123,
        state="cancelled",
        status=14,
        total=500,
        remaining=200,
        transferred=90,
        lost=0,
        answered=None,
        failed=None,
        final=True,
        updated_at=now,
    )
    text, _ = parse_html(task_cards.live_card_message(done, KOLKATA))
    assert text.splitlines()[0] == "✖ Task 5000123 — cancelled"
    assert "Transferred 90" in text and "answered" not in text.lower().split("\n")[2]
    assert text.splitlines()[-1] == "Final counters, 13:30:05."


def test_task_lists_have_a_title_for_the_chat_and_for_the_whole_application() -> None:
    tasks = [_task(remark="<b>")]
    text = _visible(task_cards.task_list(task_cards.chat_tasks_title(1), tasks))
    assert text.splitlines() == [
        "This chat's tasks (1)",
        "• 5000001 calling — 6/10 called · <b>",
        "Details: /task <id>",
    ]
    text = _visible(task_cards.task_list(task_cards.all_tasks_title(1, 240), tasks))
    assert text.splitlines()[0] == "All tasks of the application (latest 1 of 240)"
