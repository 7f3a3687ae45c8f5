"""What members type about tasks: ASCII digits only, real ranges, quoted names, one sentence per
mistake (plain text: the handler guard escapes it)."""

from __future__ import annotations

import pytest

from bot.errors import UsageError, UserFacingError
from bot.handlers.base import render_error
from bot.handlers.catalogue import info
from bot.laaffic import limits
from bot.laaffic.models import TaskType
from bot.services import task_input
from bot.services.task_input import UploadRef


@pytest.mark.parametrize("text", ["٣", "²", "３", "-3", "+3", "3.0", "0x3", "3 4", "", " "])
def test_a_rate_is_ascii_digits_only(text: str) -> None:
    with pytest.raises(UserFacingError, match="whole number from 1 to 10"):
        task_input.parse_rate(text)


def test_the_rate_range_comes_from_the_platform_limits() -> None:
    assert task_input.parse_rate(str(limits.CALLOUT_RATE_MAX)) == limits.CALLOUT_RATE_MAX
    assert task_input.parse_rate(f" {limits.CALLOUT_RATE_MIN} ") == limits.CALLOUT_RATE_MIN
    for bad in (limits.CALLOUT_RATE_MIN - 1, limits.CALLOUT_RATE_MAX + 1, 5000001):
        with pytest.raises(UserFacingError):
            task_input.parse_rate(str(bad))


def test_ringing_time_is_bounded_by_the_platform_limits() -> None:
    assert task_input.parse_ring(str(limits.RINGING_TIME_MIN)) == limits.RINGING_TIME_MIN
    assert task_input.parse_ring(str(limits.RINGING_TIME_MAX)) == limits.RINGING_TIME_MAX
    for bad in ("19", "121", "٤٠", "40s"):
        with pytest.raises(UserFacingError, match="from 20 to 120"):
            task_input.parse_ring(bad)


def test_a_task_id_is_bounded_and_an_absurd_one_is_a_sentence() -> None:
    assert task_input.parse_task_id("5000123") == 5000123
    assert task_input.parse_task_id(str(limits.PLATFORM_ID_MAX)) == limits.PLATFORM_ID_MAX
    for bad in (str(limits.PLATFORM_ID_MAX + 1), "9" * 25, "٥٠٠٠١٢٣", "0", "-5", "<b>"):
        with pytest.raises(UserFacingError, match="is not a task id") as caught:
            task_input.parse_task_id(bad, "Usage: /task <task id>")
        assert "Usage: /task <task id>" in str(caught.value)
    # a 5,000-digit paste is refused without converting it (int() of it would raise)
    with pytest.raises(UserFacingError, match="…"):
        task_input.parse_task_id("1" * 5000)


def test_a_remark_is_one_line_of_at_most_fifty_characters() -> None:
    assert task_input.check_remark("  March \n leads ") == "March leads"
    assert task_input.check_remark("x" * limits.REMARK_MAX) == "x" * limits.REMARK_MAX
    with pytest.raises(UserFacingError, match="yours has 51"):
        task_input.check_remark("x" * (limits.REMARK_MAX + 1))


def test_upload_references() -> None:
    assert task_input.parse_upload_ref("12") == UploadRef(12, None)
    assert task_input.parse_upload_ref("#12.2") == UploadRef(12, 2)
    for bad in ("12.", "12.x", "١٢", "99999999999999999999", "12.0", "abc"):
        with pytest.raises(UserFacingError, match="is not an upload number"):
            task_input.parse_upload_ref(bad)


def test_a_quoted_group_name_with_spaces_is_the_group() -> None:
    spec = task_input.parse_one_line('12 agents "Sales Team Two" rate=2 "March leads"')
    assert (spec.group, spec.rate, spec.remark) == ("Sales Team Two", 2, "March leads")
    spec = task_input.parse_one_line("12 agents “Sales Team Two”")  # a phone's curly quotes
    assert spec.group == "Sales Team Two"
    spec = task_input.parse_one_line('12 auto group="Sales Team Two" remark="March leads"')
    assert (spec.task_type, spec.group, spec.remark) == (
        TaskType.AUTOMATIC,
        "Sales Team Two",
        "March leads",
    )
    spec = task_input.parse_one_line("#12 auto Flow-Team ring=40")
    assert (spec.ref, spec.group, spec.ring) == (UploadRef(12, None), "Flow-Team", 40)


def test_one_line_mistakes_are_sentences() -> None:
    for bad, fragment in (
        ('12 agents "Sales Team', "A quote is not closed"),
        ("12 auto rate=2", "Automatic calling has no call-out rate"),
        ("12 agents G rate=٣", "whole number from 1 to 10"),
        ("12 agents G ring=5", "from 20 to 120"),
        ("1 <b>", "“agents” or “auto”, not “<b>”"),
        (f'12 auto "{"x" * 60}"', "at most 50 characters"),
    ):
        with pytest.raises(UserFacingError, match=fragment):
            task_input.parse_one_line(bad)


def test_one_line_usage_mistakes_show_the_catalogue_usage_of_newtask() -> None:
    entry = info("newtask")
    for bad, problem in (
        ("12", ""),
        ("1 <b>", "The task type is “agents” or “auto”, not “<b>”."),
        ("12 agents", "A task with transfer to agents needs an agent group."),
    ):
        with pytest.raises(UsageError) as caught:
            task_input.parse_one_line(bad)
        assert (caught.value.command, caught.value.problem) == ("newtask", problem)
        plain, html = render_error(caught.value)
        assert plain == "\n".join(part for part in (problem, entry.usage_text) if part)
        assert "Usage: /newtask <upload> (and pick the rest with buttons)" in plain
        assert 'with auto: group="Sales Team Two"' in plain  # the catalogue's note
        assert "&lt;upload&gt;" in html and "<upload>" not in html
