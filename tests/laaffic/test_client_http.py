"""The client's HTTP behaviour against a scripted real server: headers, answer shapes the docs allow,
and failures the simulator does not produce."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import formatdate
from typing import Any

import pytest

from bot.laaffic.client import CallOutcome, LaafficClient
from bot.laaffic.errors import (
    InvalidRequest,
    PlatformClockError,
    PlatformError,
    PlatformOutcomeUnknown,
    PlatformUnavailable,
)
from bot.laaffic.limits import AGENT_BATCH_MAX, CALLOUT_RATE_MAX, REMARK_MAX
from bot.laaffic.models import TaskType
from bot.laaffic.signing import sign
from bot.metrics import REGISTRY
from tests.laaffic.scripted import Answer, Seen

KEY, SECRET, APP = "bDqJFiq9", "7bz1lzh9", "HsiT9A6d"
OK = {"status": "0", "reason": "success", "data": None}


def client_for(base_url: str, **kwargs) -> LaafficClient:
    kwargs.setdefault("read_timeout", 1.0)
    kwargs.setdefault("backoff", 0.01)
    return LaafficClient(base_url, KEY, SECRET, APP, **kwargs)


def empty_page(seen: Seen) -> dict:
    return {
        "status": "0",
        "reason": "success",
        "data": {"total": 0, "size": 100, "current": 1, "pages": 0, "records": []},
    }


async def test_every_request_is_signed_get_and_post(scripted) -> None:
    def script(seen: Seen) -> Answer:
        if seen.path.endswith("querySipTotal"):
            return Answer(
                {"status": "0", "reason": "success", "data": {"total": "12", "remaining": 12}}
            )
        return Answer(empty_page(seen))

    platform = await scripted(script)
    async with client_for(platform.base_url) as client:
        quota = await client.agent_quota(1000001)
        await client.query_groups("team-a")
    assert (quota.total, quota.remaining) == (12, 12)
    get, post = platform.seen
    assert get.method == "GET" and get.path == "/v3/cc/seat/querySipTotal"
    assert get.query == {"voiceGroupId": "1000001"} and get.body is None
    assert post.method == "POST" and post.path == "/v3/cc/seatGroup/query"
    assert post.body == {"current": 1, "size": 100, "params": {"groupName": "team-a"}}
    for request in (get, post):
        headers = request.headers
        assert headers["content-type"] == "application/json;charset=UTF-8"
        assert headers["api-key"] == KEY
        assert headers["sign"] == sign(KEY, SECRET, headers["timestamp"])
        assert headers["timestamp"].isdigit() and len(headers["timestamp"]) == 10
    # One shared keep-alive connection served both requests.
    assert post.headers.get("connection", "keep-alive").lower() == "keep-alive"


async def test_numeric_status_and_top_level_balance(scripted) -> None:
    platform = await scripted(
        lambda seen: Answer(
            {
                "status": 0,
                "reason": "success",
                "balance": "12.5000",
                "gift": "1.0000",
                "credit": "0",
            }
        )
    )
    async with client_for(platform.base_url) as client:
        balance = await client.balance()
    assert balance.balance == Decimal("12.5000") and balance.gift == Decimal(1)
    assert platform.seen[0].path == "/v3/getBalance"


async def test_a_page_that_is_not_the_platform_names_the_base_url(scripted) -> None:
    platform = await scripted(lambda seen: Answer("<html>Not Found</html>", status=404))
    async with client_for(platform.base_url) as client:
        with pytest.raises(PlatformError) as caught:
            await client.balance()
    assert "LAAFFIC_BASE_URL" in caught.value.message and "HTTP 404" in caught.value.message
    assert len(platform.seen) == 1  # not retried: a wrong address stays wrong


async def test_read_is_retried_after_a_garbled_answer(scripted) -> None:
    answers = iter([Answer("<html>502 from a proxy</html>"), Answer(empty_page(None))])
    platform = await scripted(lambda seen: next(answers))
    async with client_for(platform.base_url) as client:
        page = await client.query_tasks()
    assert page.records == [] and len(platform.seen) == 2


async def test_read_gives_up_after_the_configured_retries(scripted) -> None:
    platform = await scripted(lambda seen: Answer("oops", status=503))
    outcomes: list[CallOutcome] = []

    async def observe(outcome: CallOutcome) -> None:
        outcomes.append(outcome)

    async with client_for(platform.base_url, retries=2, observer=observe) as client:
        with pytest.raises(PlatformUnavailable) as caught:
            await client.balance()
    assert len(platform.seen) == 3
    assert [o.error for o in outcomes] == ["HTTP 503"] * 3 and not any(o.ok for o in outcomes)
    assert "Nothing was changed" in caught.value.message and not caught.value.may_have_taken_effect


@pytest.mark.parametrize("answer", [Answer(close=True), Answer("down", status=500)])
async def test_a_write_with_a_lost_answer_is_not_sent_again(scripted, answer: Answer) -> None:
    platform = await scripted(lambda seen: answer)
    async with client_for(platform.base_url) as client:
        with pytest.raises(PlatformUnavailable) as caught:
            await client.edit_task(5000001, 3)
    assert len(platform.seen) == 1
    assert caught.value.may_have_taken_effect
    assert "may or may not have taken effect" in caught.value.message


async def test_a_write_that_never_left_is_retried_then_reported_as_not_done() -> None:
    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outcomes: list[CallOutcome] = []

    async def observe(outcome: CallOutcome) -> None:
        outcomes.append(outcome)

    async with client_for(f"http://127.0.0.1:{port}", retries=2, observer=observe) as client:
        with pytest.raises(PlatformUnavailable) as caught:
            await client.cancel_task(5000001)
    assert len(outcomes) == 3 and all(o.code is None for o in outcomes)
    assert not caught.value.may_have_taken_effect
    assert "never reached the platform, so nothing changed" in caught.value.message


async def test_clock_error_without_a_date_header_is_reported(scripted) -> None:
    platform = await scripted(lambda seen: Answer({"status": "-16", "reason": "timestamp expires"}))
    async with client_for(platform.base_url) as client:
        with pytest.raises(PlatformClockError) as caught:
            await client.balance()
    assert len(platform.seen) == 1 and "clock" in str(caught.value)
    assert str(caught.value).endswith("(platform code -16: timestamp expires)")


async def test_clock_is_corrected_from_the_date_header(scripted) -> None:
    import time

    skew = -7200  # the platform is two hours behind us

    def script(seen: Seen) -> Answer:
        now = time.time() + skew
        date = {"Date": formatdate(now, usegmt=True)}
        if abs(int(seen.headers["timestamp"]) - now) > 300:
            return Answer({"status": "-16", "reason": "timestamp expires"}, headers=date)
        return Answer({"status": "0", "reason": "success", "balance": "1"}, headers=date)

    platform = await scripted(script)
    async with client_for(platform.base_url) as client:
        await client.balance()
        assert abs(client.clock_offset_s - skew) < 2
        await client.balance()
    assert len(platform.seen) == 3


async def test_submit_without_task_id_in_the_answer_finds_the_task(scripted) -> None:
    tasks: list[dict] = [
        {"taskId": 5000001, "taskType": 0, "fileName": "old.xls", "filePath": "/mnt/old.xls"}
    ]

    def script(seen: Seen) -> Answer:
        if seen.path.endswith("submitTask"):
            tasks.append({"taskId": 5000002, "taskType": 0, "voiceGroupId": seen.body.get("voiceGroupId"),
                          "fileName": seen.body["fileName"], "filePath": seen.body["filePath"]})  # fmt: skip
            return Answer(OK)  # older deployments: data null
        data = {"total": len(tasks), "size": 100, "current": 1, "pages": 1, "records": tasks}
        return Answer({"status": "0", "reason": "success", "data": data})

    platform = await scripted(script)
    async with client_for(platform.base_url) as client:
        task_id = await client.submit_task(
            file_path="/mnt/new.xls", file_name="new.xls", task_type=TaskType.AUTOMATIC
        )
    assert task_id == 5000002


async def test_a_failing_observer_never_breaks_the_call(scripted, caplog) -> None:
    platform = await scripted(lambda seen: Answer({"status": "0", "reason": "ok", "balance": "3"}))

    async def broken(outcome: CallOutcome) -> None:
        raise RuntimeError("database is down")

    caplog.set_level(logging.ERROR, logger="bot.laaffic")
    async with client_for(platform.base_url, observer=broken) as client:
        assert (await client.balance()).balance == 3
    assert "observer failed" in caplog.text


async def test_unexpected_data_shape_gives_a_clear_error(scripted) -> None:
    platform = await scripted(
        lambda seen: Answer({"status": "0", "reason": "ok", "data": {"records": "nope"}})
    )
    async with client_for(platform.base_url) as client:
        with pytest.raises(PlatformError) as caught:
            await client.query_groups()
    assert caught.value.code == "bad-answer"
    assert "not in the expected form" in caught.value.message


async def test_an_answer_in_an_unexpected_shape_is_counted_as_an_error(scripted) -> None:
    labels = {"endpoint": "seatGroup/query", "code": "bad-answer"}
    before = REGISTRY.get_sample_value("ccbot_platform_errors_total", labels) or 0.0
    platform = await scripted(
        lambda seen: Answer({"status": "0", "reason": "ok", "data": {"records": "nope"}})
    )
    async with client_for(platform.base_url) as client:
        with pytest.raises(PlatformError):
            await client.query_groups()
        failure = client.last_error
    assert REGISTRY.get_sample_value("ccbot_platform_errors_total", labels) == before + 1
    assert failure is not None and (failure.endpoint, failure.code) == ("seatGroup/query", "bad-answer")
    assert failure.sentence.startswith("Could not list the agent groups: the platform's answer")


async def test_a_page_that_is_not_the_platform_is_counted_as_http(scripted) -> None:
    labels = {"endpoint": "getBalance", "code": "http"}
    before = REGISTRY.get_sample_value("ccbot_platform_calls_total", labels) or 0.0
    platform = await scripted(lambda seen: Answer("<html>Not Found</html>", status=404))
    async with client_for(platform.base_url) as client:
        with pytest.raises(PlatformError):
            await client.balance()
        failure = client.last_error
    assert REGISTRY.get_sample_value("ccbot_platform_calls_total", labels) == before + 1
    assert failure is not None and failure.code == "http" and "LAAFFIC_BASE_URL" in failure.sentence


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"task_type": TaskType.AGENT_GROUP_CALL, "callout_rate": 1}, "exactly one agent group; 0"),
        ({"task_type": TaskType.AGENT_GROUP_CALL, "voice_group_ids": [1, 2], "callout_rate": 1}, "exactly one agent group; 2"),
        ({"task_type": TaskType.AGENT_GROUP_CALL, "voice_group_ids": [1]}, "needs a call-out rate"),
        ({"task_type": TaskType.AUTOMATIC, "callout_rate": 0}, "1 or more"),
        ({"task_type": TaskType.AUTOMATIC, "callout_rate": CALLOUT_RATE_MAX + 1}, f"at most {CALLOUT_RATE_MAX}"),
        ({"task_type": TaskType.AUTOMATIC, "remark": "x" * (REMARK_MAX + 1)}, f"at most {REMARK_MAX} fit"),
        ({"task_type": TaskType.AUTOMATIC, "display_num": "号码"}, "letters or digits"),
        ({"task_type": TaskType.AUTOMATIC, "max_ringing_time": 10}, "20 to 120 seconds"),
        ({"task_type": TaskType.AUTOMATIC, "display_num": "12-34"}, "letters or digits"),
        ({"task_type": TaskType.AUTOMATIC, "file_path": ""}, "upload the file first"),
    ],
)  # fmt: skip
async def test_submit_task_rules_are_checked_before_sending(
    scripted, kwargs: dict[str, Any], words: str
) -> None:
    platform = await scripted(lambda seen: Answer(empty_page(seen)))
    arguments = {"file_path": "/mnt/cc/x.csv", "file_name": "x.csv", **kwargs}
    async with client_for(platform.base_url) as client:
        with pytest.raises(InvalidRequest, match=words) as caught:
            await client.submit_task(**arguments)
    assert platform.seen == []
    assert str(caught.value) == caught.value.message and "<" not in caught.value.message


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda c: c.add_group("abc"), "must have 4 to 32"),
        (lambda c: c.upload_numbers("a.xl", b"1"), "5 to 32"),
        (lambda c: c.upload_numbers("numbers.csv", b""), "empty"),
        (lambda c: c.add_agents(1, 0), "1 or more"),
        (lambda c: c.add_agents(1, AGENT_BATCH_MAX + 1), f"at most {AGENT_BATCH_MAX} at a time"),
        (lambda c: c.add_agents(1, 2, display_num="12 34"), "letters or digits"),
        (lambda c: c.edit_task(1, CALLOUT_RATE_MAX + 1), f"at most {CALLOUT_RATE_MAX}"),
        (lambda c: c.query_groups(size=101), "between 1 and 100"),
        (lambda c: c.edit_task(1, 1, remark="x" * 51), "at most 50"),
        (lambda c: c.query_agents(start=datetime(2025, 1, 1, tzinfo=UTC), end=datetime(2025, 3, 1, tzinfo=UTC)), "32 days"),
        (lambda c: c.query_agents(start=datetime(2025, 2, 1, tzinfo=UTC), end=datetime(2025, 1, 1, tzinfo=UTC)), "before its end"),
        (lambda c: c.query_agents(end=datetime(2025, 1, 2)), "has no time zone"),
        (lambda c: c.query_tasks(start=datetime(2025, 1, 2)), "has no time zone"),
        (lambda c: c.resend_task(1, 9, TaskType.AUTOMATIC), "re-run option"),
    ],
)  # fmt: skip
async def test_bad_input_gets_a_clear_error_before_anything_is_sent(
    scripted, call: Any, words: str
) -> None:
    platform = await scripted(lambda seen: Answer(empty_page(seen)))
    async with client_for(platform.base_url) as client:
        with pytest.raises(InvalidRequest, match=words):
            await call(client)
    assert platform.seen == []


async def test_add_agents_that_half_happened_is_outcome_unknown(scripted) -> None:
    agents: list[dict] = []

    def script(seen: Seen) -> Answer:
        if seen.path.endswith("addSeatList"):
            agents.append({"keyId": 3000001 + len(agents), "name": "1344C025cb_001"})
            return Answer(close=True)  # one of two agents made, then the answer is lost
        data = {"total": len(agents), "size": 100, "current": 1, "pages": 1, "records": agents}
        return Answer({"status": "0", "reason": "success", "data": data})

    platform = await scripted(script)
    async with client_for(platform.base_url) as client:
        with pytest.raises(PlatformOutcomeUnknown) as caught:
            await client.add_agents(1000001, 2)
    assert [s.path for s in platform.seen].count("/v3/cc/seat/addSeatList") == 1
    assert "Check the agents of group 1000001 in the Laaffic console" in caught.value.message
    assert "1 new agents found, 2 asked for" in str(caught.value)
