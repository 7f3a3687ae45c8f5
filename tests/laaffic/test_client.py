"""The client against the platform simulator over real HTTP: every endpoint, errors, clock skew,
retries of reads, and creates that are checked instead of being sent twice."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import speaking
from bot.laaffic import client as endpoints
from bot.laaffic.client import CallOutcome, LaafficClient
from bot.laaffic.errors import (
    InvalidRequest,
    PlatformAuthError,
    PlatformError,
    PlatformOutcomeUnknown,
    PlatformUnavailable,
    explain,
)
from bot.laaffic.models import (
    AgentStatus,
    ResendType,
    TaskStatus,
    TaskType,
)
from bot.laaffic.signing import sign
from bot.metrics import REGISTRY
from tests.fakes.simulator import RunningSimulator

PATIENT = 5.0  # read timeout of ordinary tests: a busy test machine must not cause a timeout
# Tests marked `impatient` inject slow answers. Their read timeout is far above an ordinary answer
# (milliseconds), and an injected delay far above the read timeout, so on a loaded machine too
# only the injected delays time out, and a late request has long been applied when looked for.
READ_TIMEOUT = 1.0
SLOW = 2.5

NUMBERS_CSV = (
    b"phone,name,tier\n"
    b"919876500001,Asha,gold\n"
    b"919876500002,Ravi,silver\n"
    b"919876500003,Meena,gold\n"
    b"919876500002,Ravi,silver\n"
)


class Outcomes(list[CallOutcome]):
    async def __call__(self, outcome: CallOutcome) -> None:
        self.append(outcome)


def make_client(running: RunningSimulator, observer: Any = None, **kwargs: Any) -> LaafficClient:
    config = running.config
    kwargs.setdefault("read_timeout", PATIENT)
    kwargs.setdefault("upload_timeout", kwargs["read_timeout"])
    kwargs.setdefault("connect_timeout", 1.0)
    kwargs.setdefault("backoff", 0.01)
    kwargs.setdefault("settle", 0.01)
    kwargs.setdefault("retries", 2)
    return LaafficClient(
        running.base_url,
        config.api_key,
        config.api_secret,
        config.app_id,
        observer=observer,
        **kwargs,
    )


@pytest.fixture
def outcomes() -> Outcomes:
    return Outcomes()


@pytest.fixture
async def client(
    request: pytest.FixtureRequest, simulator: RunningSimulator, outcomes: Outcomes
) -> AsyncIterator[LaafficClient]:
    impatient = request.node.get_closest_marker("impatient") is not None
    timeout = READ_TIMEOUT if impatient else PATIENT
    async with make_client(simulator, outcomes, read_timeout=timeout) as laaffic:
        yield laaffic


impatient = pytest.mark.impatient


def count(running: RunningSimulator, path: str) -> int:
    return running.call(lambda: running.simulator.requests[path])


def fault(
    running: RunningSimulator, path: str, kind: str, seconds: float = 0, times: int = 1
) -> None:
    running.call(running.simulator.inject_fault, path, kind, seconds, times)


async def wait_until(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


# ---------------------------------------------------------------- every endpoint


async def test_agent_groups_are_created_listed_and_read(
    client: LaafficClient, simulator: RunningSimulator
) -> None:
    group_id = await client.add_group("Sales Team A")
    page = await client.query_groups("Sales Team A")
    assert [(g.voice_group_id, g.group_name, g.count_seat) for g in page.records] == [
        (group_id, "Sales Team A", 0)
    ]
    assert page.total == 1 and page.current == 1

    names = {g.voice_group_id: g.group_name for g in await client.list_groups()}
    assert names[group_id] == "Sales Team A"

    settings = await client.get_group_settings(group_id)
    assert settings.voice_group_id == group_id and settings.group_name == "Sales Team A"


async def test_list_groups_reads_every_page(
    client: LaafficClient, simulator: RunningSimulator
) -> None:
    ids = [await client.add_group(f"Pager group {n}") for n in range(5)]
    client.list_page_size = 2
    before = count(simulator, endpoints.QUERY_GROUPS)
    listed = await client.list_groups("Pager group")
    assert sorted(g.voice_group_id for g in listed) == sorted(ids)
    assert count(simulator, endpoints.QUERY_GROUPS) - before == 3


async def test_add_group_ignores_same_named_groups_of_other_applications(
    client: LaafficClient, simulator: RunningSimulator
) -> None:
    other_app = simulator.config.extra_app_ids[0]
    other = await client.add_group("Shared Name", app_id=other_app)
    mine = await client.add_group("Shared Name")
    assert mine != other


async def test_agents_lifecycle(client: LaafficClient, outcomes: Outcomes) -> None:
    group_id = await client.add_group("Agents Group")
    quota = await client.agent_quota(group_id)
    created = await client.add_agents(group_id, 3, display_num="1234", ccode="91")
    assert len(created) == 3 and all(a.key_id and a.name for a in created)
    after = await client.agent_quota(group_id)
    assert after.total == quota.total and after.remaining == quota.remaining - 3

    page = await client.query_agents(group_id, page=1, size=2)
    assert page.total == 3 and page.pages == 2 and len(page.records) == 2
    agents = await client.list_agents(group_id)
    assert sorted(a.key_id for a in agents) == sorted(a.key_id for a in created)
    first = agents[0]
    assert (
        first.is_enabled and first.status is AgentStatus.IDLE and first.voice_group_id == group_id
    )
    assert first.display_num == "1234" and first.ccode == "91" and first.password

    assert "Secret" not in repr(outcomes) and first.password not in repr(outcomes)


async def test_numbers_and_tasks(
    start_simulator: Callable[..., RunningSimulator], outcomes: Outcomes
) -> None:
    running = start_simulator(speed=4000, answer_rate=1.0, agent_answer_rate=1.0)
    started = datetime.now(running.simulator.now().tzinfo) - timedelta(minutes=1)
    async with make_client(running, outcomes) as client:
        group_id = await client.add_group("Task Group")
        await client.add_agents(group_id, 2)
        upload = await client.upload_numbers("numbers.csv", NUMBERS_CSV)
        assert upload.file_path and upload.number_total_count == 3 and upload.number_same_count == 1
        upload_outcome = next(o for o in outcomes if o.endpoint == endpoints.UPLOAD)
        assert upload_outcome.arguments == {
            "fileName": "numbers.csv",
            "file": f"<{len(NUMBERS_CSV)} bytes>",
        }

        task_id = await client.submit_task(
            file_path=upload.file_path,
            file_name="numbers.csv",
            task_type=TaskType.AGENT_GROUP_CALL,
            voice_group_ids=[group_id],
            callout_rate=1,
            remark="spring campaign",
            max_ringing_time=30,
        )
        assert isinstance(task_id, int)
        await client.edit_task(task_id, 2, remark="faster")

        async def finished() -> Any:
            task = await client.get_task(task_id)
            return task if task and task.is_finished else None

        task = await wait_until(finished)
        assert task.task_status is TaskStatus.COMPLETED and task.voice_group_ids == [group_id]
        assert task.total_count == 3 and task.remain_count == 0 and task.completed_rate == 100.0
        assert task.remark == "faster" and task.task_type is TaskType.AGENT_GROUP_CALL

        listed = await client.query_tasks(
            statuses=[TaskStatus.COMPLETED], voice_group_ids=[group_id]
        )
        assert [t.task_id for t in listed.records] == [task_id]
        assert (await client.query_tasks(task_type=TaskType.AUTOMATIC)).total == 0
        assert (await client.query_tasks(start=started, finish_flag=True)).total == 1

        detail = await client.task_detail(task_id)
        assert detail.total == 3
        assert {row.extra.get("var01") for row in detail.records} == {"Asha", "Ravi", "Meena"}
        only = await client.task_detail(task_id, called="919876500003")
        assert [row.extra for row in only.records] == [{"var01": "Meena", "var02": "gold"}]

        await client.resend_task(
            task_id,
            ResendType.ALL,
            TaskType.AGENT_GROUP_CALL,
            voice_group_ids=[group_id],
            callout_rate=1,
        )
        await wait_until(finished)

        balance = await client.balance()
        assert isinstance(balance.balance, Decimal) and balance.balance < Decimal("100")


async def test_automatic_task_and_cancel(start_simulator: Callable[..., RunningSimulator]) -> None:
    running = start_simulator(speed=1)  # slow enough to cancel while submitting
    async with make_client(running) as client:
        upload = await client.upload_numbers("auto-list.csv", NUMBERS_CSV)
        task_id = await client.submit_task(
            file_path=upload.file_path, file_name="auto-list.csv", task_type=TaskType.AUTOMATIC
        )
        await client.cancel_task(task_id)
        task = await client.get_task(task_id)
        assert task is not None and task.task_status is TaskStatus.CANCELLED and task.is_finished
        assert await client.get_task(999) is None
        with pytest.raises(PlatformError) as caught:
            await client.cancel_task(task_id)
        assert caught.value.code == "-41"


# ---------------------------------------------------------------- platform errors, in plain words


async def test_wrong_secret_gives_the_auth_sentence_and_hides_the_secret(
    simulator: RunningSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "wrongSecret99"
    async with LaafficClient(
        simulator.base_url, simulator.config.api_key, secret, simulator.config.app_id, backoff=0.01
    ) as laaffic:
        with pytest.raises(PlatformAuthError) as caught:
            await laaffic.balance()
        text = str(caught.value)
        assert text.startswith(explain("-1", endpoints.BALANCE))
        assert "authentication failed" in text and "LAAFFIC_API_SECRET" in text
        assert "(platform code -1: " in text
        now = int(time.time())
        signs = {sign(simulator.config.api_key, secret, ts) for ts in range(now - 30, now + 30)}
        for exposed in (text, repr(caught.value), repr(laaffic), caplog.text):
            assert secret not in exposed
            assert not any(s in exposed for s in signs)


async def test_secret_and_sign_never_appear_in_logs_reprs_or_outcomes(
    simulator: RunningSimulator, caplog: pytest.LogCaptureFixture, outcomes: Outcomes
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = simulator.config.api_secret
    fault(simulator, endpoints.ADD_GROUP, "delay_after_apply", SLOW)
    async with make_client(simulator, outcomes, read_timeout=READ_TIMEOUT) as laaffic:
        await laaffic.add_group("Hygiene Group")
        with pytest.raises(PlatformError) as caught:
            await laaffic.add_group("Hygiene Group")
        text = " ".join(
            [str(caught.value), repr(caught.value), repr(laaffic), caplog.text, repr(outcomes)]
        )
    now = int(time.time())
    signs = {sign(simulator.config.api_key, secret, ts) for ts in range(now - 60, now + 5)}
    assert secret not in text
    assert not any(s in text for s in signs)


async def test_platform_codes_become_plain_sentences(client: LaafficClient) -> None:
    group_id = await client.add_group("Existing Group")
    [agent] = await client.add_agents(group_id, 1)
    cases = [
        (lambda: client.add_group("Existing Group"), "-20", "group with this name already exists"),
        (lambda: client.add_agents(group_id, 50), "-36", "agent quota is used up"),
        (lambda: client.edit_task(5_999_999, 1), "-24", "does not exist"),
    ]  # fmt: skip
    for call, code, words in cases:
        with pytest.raises(PlatformError) as caught:
            await call()
        err = caught.value
        assert err.code == code and words in err.message
        assert str(err) == f"{err.message} (platform code {code}: {err.reason})" and err.reason


async def test_group_of_another_application_is_refused_with_minus_74(
    client: LaafficClient, simulator: RunningSimulator
) -> None:
    foreign = await client.add_group("Foreign Group", app_id=simulator.config.extra_app_ids[0])
    upload = await client.upload_numbers("numbers.csv", NUMBERS_CSV)
    with pytest.raises(PlatformError) as caught:
        await client.submit_task(
            file_path=upload.file_path,
            file_name="numbers.csv",
            task_type=TaskType.AGENT_GROUP_CALL,
            voice_group_ids=[foreign],
            callout_rate=1,
        )
    assert caught.value.code == "-74" and "LAAFFIC_APP_ID" in caught.value.message


# ---------------------------------------------------------------- clock skew and retries


async def test_clock_skew_is_corrected_from_the_date_header(
    client: LaafficClient, simulator: RunningSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    simulator.simulator.clock_offset_s = 3600
    assert (await client.balance()).balance == Decimal("100.0000")
    assert count(simulator, endpoints.BALANCE) == 2  # -16, then the corrected retry
    assert abs(client.clock_offset_s - 3600) < 2
    assert "clock" in caplog.text
    await client.balance()
    assert count(simulator, endpoints.BALANCE) == 3  # no retry needed any more


async def test_read_is_retried_after_http_500(
    client: LaafficClient, simulator: RunningSimulator
) -> None:
    fault(simulator, endpoints.QUERY_GROUPS, "http_500")
    page = await client.query_groups()
    assert page.total == 0 and count(simulator, endpoints.QUERY_GROUPS) == 2


@impatient
async def test_read_is_retried_after_a_timeout_and_a_dropped_connection(
    client: LaafficClient, simulator: RunningSimulator, outcomes: Outcomes
) -> None:
    fault(simulator, endpoints.BALANCE, "delay_before_apply", SLOW)
    fault(simulator, endpoints.BALANCE, "drop")
    assert (await client.balance()).balance == Decimal("100.0000")
    assert count(simulator, endpoints.BALANCE) == 3
    assert [o.ok for o in outcomes] == [False, False, True]
    assert outcomes[0].error.startswith("no answer in time")


async def test_read_gives_up_with_a_plain_sentence(
    client: LaafficClient, simulator: RunningSimulator
) -> None:
    fault(simulator, endpoints.AGENT_QUOTA, "http_500", times=3)
    with pytest.raises(PlatformUnavailable) as caught:
        await client.agent_quota(1)
    assert count(simulator, endpoints.AGENT_QUOTA) == 3  # 1 + retries=2
    assert caught.value.message.startswith(
        "Could not reach the Laaffic platform to read the agent quota"
    )


# ---------------------------------------------------------------- creates are checked, never sent blindly twice


async def group_names(client: LaafficClient, name: str) -> list[int]:
    return [g.voice_group_id for g in await client.list_groups(name) if g.group_name == name]


@impatient
async def test_add_group_with_lost_answer_is_recovered_without_resending(
    client: LaafficClient, simulator: RunningSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    fault(simulator, endpoints.ADD_GROUP, "delay_after_apply", SLOW)
    group_id = await client.add_group("Slow Group")
    assert count(simulator, endpoints.ADD_GROUP) == 1
    assert await group_names(client, "Slow Group") == [group_id]
    assert "recovered without sending it again" in caplog.text


@pytest.mark.parametrize("kind", ["drop", "http_500"])
async def test_add_group_that_did_not_happen_is_checked_then_sent_once_more(
    client: LaafficClient, simulator: RunningSimulator, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    fault(simulator, endpoints.ADD_GROUP, kind)
    group_id = await client.add_group("Dropped Group")
    assert count(simulator, endpoints.ADD_GROUP) == 2
    assert await group_names(client, "Dropped Group") == [group_id]
    assert "did not take effect; sending it once more" in caplog.text


@impatient
async def test_add_group_delayed_before_apply_ends_with_one_group(
    client: LaafficClient, simulator: RunningSimulator
) -> None:
    # The simulator still applies the delayed request after the client gave up on it; the resend
    # wins, and the late original is refused as a duplicate name.
    fault(simulator, endpoints.ADD_GROUP, "delay_before_apply", SLOW)
    group_id = await client.add_group("Late Group")
    await asyncio.sleep(SLOW)
    assert await group_names(client, "Late Group") == [group_id]


async def test_add_group_failing_twice_says_nothing_was_created(
    client: LaafficClient, simulator: RunningSimulator
) -> None:
    fault(simulator, endpoints.ADD_GROUP, "drop", times=2)
    with pytest.raises(PlatformUnavailable) as caught:
        await client.add_group("Never Group")
    assert count(simulator, endpoints.ADD_GROUP) == 2
    assert not caught.value.may_have_taken_effect
    assert "nothing was created" in caught.value.message


async def test_a_chinese_team_reads_the_clients_own_sentences_in_chinese(
    client: LaafficClient, simulator: RunningSimulator
) -> None:
    fault(simulator, endpoints.ADD_GROUP, "drop", times=2)
    with speaking("zh"), pytest.raises(PlatformUnavailable) as caught:
        await client.add_group("Never Group")
    assert caught.value.message == (
        "无法创建坐席组：平台两次都没有回复。机器人已核对过，没有创建任何东西，几分钟后可以放心重试。"
    )
    with speaking("zh"), pytest.raises(InvalidRequest) as refused:
        await client.add_agents(1, 0)
    assert refused.value.message.startswith("坐席数量每次至少 1 个"), refused.value.message


async def test_the_last_error_is_read_in_the_language_of_whoever_reads_it(
    client: LaafficClient, simulator: RunningSimulator
) -> None:
    # Made in English (a job's call), read by a Chinese chat's /status, and the other way round.
    with pytest.raises(PlatformError):
        await client.edit_task(5_999_999, 1)
    failure = client.last_error
    assert failure is not None
    with speaking("zh"):
        assert failure.sentence == explain("-24", endpoints.EDIT_TASK)
        assert failure.sentence.startswith("无法修改任务的外呼倍率："), failure.sentence
    fault(simulator, endpoints.QUERY_GROUPS, "http_500")
    with speaking("zh"):
        await client.query_groups()
    assert client.last_error is not None and client.last_error.sentence == (
        "Could not reach the Laaffic platform to list the agent groups: HTTP 500."
    )
    with speaking("zh"):
        assert client.last_error.sentence == "无法连接 Laaffic 平台来列出坐席组：HTTP 500。"


@impatient
async def test_create_whose_check_fails_is_outcome_unknown(
    client: LaafficClient, simulator: RunningSimulator
) -> None:
    fault(simulator, endpoints.ADD_GROUP, "delay_after_apply", SLOW)
    adding = asyncio.create_task(client.add_group("Unsure Group"))

    async def create_arrived() -> bool:
        return count(simulator, endpoints.ADD_GROUP) == 1

    await wait_until(create_arrived)  # the snapshot is done; now every group query fails
    fault(simulator, endpoints.QUERY_GROUPS, "http_500", times=3)
    with pytest.raises(PlatformOutcomeUnknown) as caught:
        await adding
    assert count(simulator, endpoints.ADD_GROUP) == 1
    assert "could not confirm whether it happened" in caught.value.message
    assert "before trying again" in caught.value.message


@impatient
async def test_submit_task_with_lost_answer_is_recovered_without_resending(
    client: LaafficClient, simulator: RunningSimulator
) -> None:
    upload = await client.upload_numbers("numbers.csv", NUMBERS_CSV)
    older = await client.submit_task(
        file_path=upload.file_path, file_name="numbers.csv", task_type=TaskType.AUTOMATIC
    )
    second = await client.upload_numbers("numbers2.csv", NUMBERS_CSV)
    fault(simulator, endpoints.SUBMIT_TASK, "delay_after_apply", SLOW)
    task_id = await client.submit_task(
        file_path=second.file_path, file_name="numbers2.csv", task_type=TaskType.AUTOMATIC
    )
    assert count(simulator, endpoints.SUBMIT_TASK) == 2  # the first task, and this one once
    tasks = (await client.query_tasks()).records
    assert sorted(t.task_id for t in tasks) == sorted([older, task_id]) and task_id != older


async def test_submit_task_applied_late_is_found_after_settling_not_sent_twice(
    simulator: RunningSimulator, outcomes: Outcomes
) -> None:
    """The platform is still working on the request when the client gives up waiting: the client
    lets it settle, finds the task, and never sends a second one (which would call everyone twice)."""
    async with make_client(simulator, outcomes, read_timeout=READ_TIMEOUT, settle=SLOW) as client:
        upload = await client.upload_numbers("numbers.csv", NUMBERS_CSV)
        fault(simulator, endpoints.SUBMIT_TASK, "delay_before_apply", READ_TIMEOUT + 0.1)
        task_id = await client.submit_task(
            file_path=upload.file_path, file_name="numbers.csv", task_type=TaskType.AUTOMATIC
        )
        assert count(simulator, endpoints.SUBMIT_TASK) == 1
        assert [t.task_id for t in (await client.query_tasks()).records] == [task_id]


async def test_submit_task_that_did_not_happen_is_sent_once_more(
    client: LaafficClient, simulator: RunningSimulator
) -> None:
    group_id = await client.add_group("Drop Task Group")
    upload = await client.upload_numbers("numbers.csv", NUMBERS_CSV)
    fault(simulator, endpoints.SUBMIT_TASK, "drop")
    task_id = await client.submit_task(
        file_path=upload.file_path,
        file_name="numbers.csv",
        task_type=TaskType.AGENT_GROUP_CALL,
        voice_group_ids=[group_id],
        callout_rate=1,
    )
    assert count(simulator, endpoints.SUBMIT_TASK) == 2
    assert [t.task_id for t in (await client.query_tasks()).records] == [task_id]


@impatient
async def test_add_agents_with_lost_answer_returns_the_created_agents(
    client: LaafficClient, simulator: RunningSimulator
) -> None:
    group_id = await client.add_group("Slow Agents")
    await client.add_agents(group_id, 2)
    fault(simulator, endpoints.ADD_AGENTS, "delay_after_apply", SLOW)
    created = await client.add_agents(group_id, 3)
    assert count(simulator, endpoints.ADD_AGENTS) == 2
    agents = await client.list_agents(group_id)
    assert len(agents) == 5
    newest = sorted(agents, key=lambda a: a.key_id)[-3:]
    assert [(a.key_id, a.name) for a in created] == [(a.key_id, a.name) for a in newest]


async def test_add_agents_that_did_not_happen_is_sent_once_more(
    client: LaafficClient, simulator: RunningSimulator
) -> None:
    group_id = await client.add_group("Drop Agents")
    fault(simulator, endpoints.ADD_AGENTS, "http_500")
    created = await client.add_agents(group_id, 2)
    assert len(created) == 2 and count(simulator, endpoints.ADD_AGENTS) == 2
    assert len(await client.list_agents(group_id)) == 2


@impatient
async def test_upload_with_lost_answer_is_sent_once_more(
    client: LaafficClient, simulator: RunningSimulator
) -> None:
    fault(simulator, endpoints.UPLOAD, "delay_after_apply", SLOW)
    result = await client.upload_numbers("numbers.csv", NUMBERS_CSV)
    assert result.number_total_count == 3 and count(simulator, endpoints.UPLOAD) == 2


@impatient
async def test_other_writes_are_not_repeated_after_a_lost_answer(
    client: LaafficClient, simulator: RunningSimulator
) -> None:
    group_id = await client.add_group("Write Group")
    await client.add_agents(group_id, 1)
    upload = await client.upload_numbers("numbers.csv", NUMBERS_CSV)
    task_id = await client.submit_task(
        file_path=upload.file_path,
        file_name="numbers.csv",
        task_type=TaskType.AGENT_GROUP_CALL,
        voice_group_ids=[group_id],
        callout_rate=1,
    )
    writes = [
        (endpoints.EDIT_TASK, lambda: client.edit_task(task_id, 3)),
        (endpoints.CANCEL_TASK, lambda: client.cancel_task(task_id)),
    ]
    for path, call in writes:
        fault(simulator, path, "delay_after_apply", SLOW)
        with pytest.raises(PlatformUnavailable) as caught:
            await call()
        assert count(simulator, path) == 1, path
        assert caught.value.may_have_taken_effect
        assert "check on the platform before trying again" in caught.value.message
    # They did take effect: the check is the user's, as the message says.
    assert (await client.get_task(task_id)).task_status is TaskStatus.CANCELLED


async def test_observer_gets_one_outcome_per_request(
    client: LaafficClient, simulator: RunningSimulator, outcomes: Outcomes
) -> None:
    with pytest.raises(PlatformError):
        await client.edit_task(5_999_999, 1)
    await client.balance()
    assert [(o.endpoint, o.code, o.ok) for o in outcomes] == [
        (endpoints.EDIT_TASK, "-24", False),
        (endpoints.BALANCE, "0", True),
    ]
    assert outcomes[0].arguments == {"taskId": 5_999_999, "calloutRate": 1}
    assert outcomes[0].error == explain("-24", endpoints.EDIT_TASK)
    assert all(o.duration_ms >= 0 for o in outcomes) and outcomes[1].error is None


async def test_create_is_not_sent_when_its_snapshot_cannot_be_read(
    client: LaafficClient, simulator: RunningSimulator
) -> None:
    group_id = await client.add_group("Snapshot Group")
    fault(simulator, endpoints.QUERY_AGENTS, "http_500", times=3)
    with pytest.raises(PlatformUnavailable) as caught:
        await client.add_agents(group_id, 2)
    assert count(simulator, endpoints.ADD_AGENTS) == 0
    assert caught.value.message.startswith(
        "Could not reach the Laaffic platform to create the agents"
    )
    assert "nothing changed" in caught.value.message and not caught.value.may_have_taken_effect


# ---------------------------------------------------------------- the platform's time zone

KOLKATA = ZoneInfo("Asia/Kolkata")  # +05:30: a half-hour offset shows any rounding to hours
WALL = "%Y-%m-%d %H:%M:%S"


async def test_times_are_written_and_read_in_the_configured_platform_zone(
    start_simulator: Callable[..., RunningSimulator], outcomes: Outcomes
) -> None:
    running = start_simulator(
        speed=4000, answer_rate=1.0, agent_answer_rate=1.0, platform_timezone="Asia/Kolkata"
    )
    before = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    async with make_client(running, outcomes, platform_tz=KOLKATA) as client:
        group_id = await client.add_group("Zone Group")
        await client.add_agents(group_id, 1)
        upload = await client.upload_numbers("numbers.csv", NUMBERS_CSV)
        task_id = await client.submit_task(
            file_path=upload.file_path,
            file_name="numbers.csv",
            task_type=TaskType.AGENT_GROUP_CALL,
            voice_group_ids=[group_id],
            callout_rate=1,
        )

        async def finished() -> Any:
            task = await client.get_task(task_id)
            return task if task and task.is_finished else None

        task = await wait_until(finished)
        after = datetime.now(UTC) + timedelta(seconds=1)

        # Read: the platform's Kolkata wall times come back as the same instants, in UTC.
        assert task.create_time is not None and task.create_time.tzinfo is UTC
        assert before <= task.create_time <= after
        [agent] = await client.list_agents(group_id)
        assert agent.create_time is not None and before <= agent.create_time <= after

        # Written: aware UTC in, Kolkata wall time out.
        window = [o.arguments["params"] for o in outcomes if o.endpoint == endpoints.QUERY_AGENTS]
        stats_end = datetime.strptime(window[-1]["endTime"], WALL).replace(tzinfo=KOLKATA)
        assert abs((stats_end - datetime.now(UTC)).total_seconds()) < 60
        by_day = await client.query_tasks(start=before, end=after)
        days = [o.arguments["params"] for o in outcomes if o.endpoint == endpoints.QUERY_TASKS]
        assert days[-1]["startTime"] == before.astimezone(KOLKATA).date().isoformat()
        assert [t.task_id for t in by_day.records] == [task_id]


async def test_a_client_in_another_zone_than_the_platform_reads_other_hours(
    start_simulator: Callable[..., RunningSimulator],
) -> None:
    """Why PLATFORM_TIMEZONE matters: the platform's wall times read in the wrong zone are other
    hours."""
    running = start_simulator(speed=4000, answer_rate=1.0, platform_timezone="America/New_York")
    start = datetime.now(UTC) - timedelta(minutes=5)
    async with make_client(running) as wrong:  # the default, Asia/Shanghai
        upload = await wrong.upload_numbers("numbers.csv", NUMBERS_CSV)
        task_id = await wrong.submit_task(
            file_path=upload.file_path, file_name="numbers.csv", task_type=TaskType.AUTOMATIC
        )

        async def finished() -> Any:
            task = await wrong.get_task(task_id)
            return task if task and task.is_finished else None

        await wait_until(finished)
        end = datetime.now(UTC) + timedelta(minutes=1)
        created = (await wrong.get_task(task_id)).create_time
        assert created is not None and not start <= created <= end
    async with make_client(running, platform_tz=ZoneInfo("America/New_York")) as right:
        created = (await right.get_task(task_id)).create_time
        assert created is not None and start <= created <= end


# ---------------------------------------------------------------- one task settings model


async def test_one_task_settings_object_serves_submit_and_rerun(
    start_simulator: Callable[..., RunningSimulator], outcomes: Outcomes
) -> None:
    running = start_simulator(speed=4000, answer_rate=1.0, agent_answer_rate=1.0)
    async with make_client(running, outcomes) as client:
        group_id = await client.add_group("Settings Group")
        await client.add_agents(group_id, 1)
        upload = await client.upload_numbers("numbers.csv", NUMBERS_CSV)
        settings = client.task_settings(
            TaskType.AGENT_GROUP_CALL,
            voice_group_ids=[group_id],
            callout_rate=2,
            remark="wave one",
            max_ringing_time=30,
        )
        with pytest.raises(TypeError, match="not both"):
            await client.submit_task(
                file_path=upload.file_path, file_name="numbers.csv", settings=settings, remark="x"
            )
        task_id = await client.submit_task(
            file_path=upload.file_path, file_name="numbers.csv", settings=settings
        )

        async def finished() -> Any:
            task = await client.get_task(task_id)
            return task if task and task.is_finished else None

        task = await wait_until(finished)
        assert task.remark == "wave one" and task.voice_group_ids == [group_id]
        await client.resend_task(task_id, ResendType.ALL, settings=settings)
        await wait_until(finished)
    submitted = next(o for o in outcomes if o.endpoint == endpoints.SUBMIT_TASK).arguments
    rerun = next(o for o in outcomes if o.endpoint == endpoints.RESEND_TASK).arguments
    shared = ("type", "voiceGroupId", "appId", "calloutRate", "remark")
    assert {k: submitted[k] for k in shared} == {k: rerun[k] for k in shared}
    assert submitted["appId"] == running.config.app_id and submitted["maxRingingTime"] == 30
    assert "maxRingingTime" not in rerun  # resendTask has no such field
    assert count(running, endpoints.SUBMIT_TASK) == 1 and count(running, endpoints.RESEND_TASK) == 1


# ---------------------------------------------------------------- metrics and the last error


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def calls(endpoint: str, code: str) -> float:
    return sample("ccbot_platform_calls_total", endpoint=endpoint, code=code)


def errors(endpoint: str, code: str) -> float:
    return sample("ccbot_platform_errors_total", endpoint=endpoint, code=code)


def timed(endpoint: str) -> float:
    return sample("ccbot_platform_call_seconds_count", endpoint=endpoint)


async def test_every_platform_call_moves_the_platform_metrics(
    client: LaafficClient, simulator: RunningSimulator
) -> None:
    assert client.last_error is None
    ok_before, timed_before = calls("getBalance", "0"), timed("getBalance")
    await client.balance()
    assert calls("getBalance", "0") == ok_before + 1 and timed("getBalance") == timed_before + 1

    refused, refused_errors = (
        calls("preview/agent/editTask", "-24"),
        errors("preview/agent/editTask", "-24"),
    )
    with pytest.raises(PlatformError):
        await client.edit_task(5_999_999, 1)
    assert calls("preview/agent/editTask", "-24") == refused + 1
    assert errors("preview/agent/editTask", "-24") == refused_errors + 1
    last = client.last_error
    assert last is not None and (last.endpoint, last.code) == ("preview/agent/editTask", "-24")
    assert last.sentence == explain("-24", endpoints.EDIT_TASK)
    assert abs((datetime.now(UTC) - last.at).total_seconds()) < 60

    # A retried read counts each attempt: the 500 as "http", then the success.
    http, ok = errors("seatGroup/query", "http"), calls("seatGroup/query", "0")
    fault(simulator, endpoints.QUERY_GROUPS, "http_500")
    await client.query_groups()
    assert errors("seatGroup/query", "http") == http + 1 and calls("seatGroup/query", "0") == ok + 1
    assert client.last_error is not None and client.last_error.code == "http"
    assert client.last_error.sentence == (
        "Could not reach the Laaffic platform to list the agent groups: HTTP 500."
    )

    network = calls("getBalance", "network")
    fault(simulator, endpoints.BALANCE, "drop")
    await client.balance()
    assert calls("getBalance", "network") == network + 1
    assert errors("getBalance", "network") >= 1
    # A success afterwards leaves the last error in place, for /status.
    assert client.last_error is not None and client.last_error.code == "network"


@impatient
async def test_a_timeout_is_counted_as_timeout(
    client: LaafficClient, simulator: RunningSimulator
) -> None:
    before = errors("seat/querySipTotal", "timeout")
    fault(simulator, endpoints.AGENT_QUOTA, "delay_before_apply", SLOW)
    group_id = await client.add_group("Timeout Group")
    await client.agent_quota(group_id)
    assert errors("seat/querySipTotal", "timeout") == before + 1
    assert client.last_error is not None and client.last_error.code == "timeout"
    assert client.last_error.sentence.startswith(
        "Could not reach the Laaffic platform to read the agent quota"
    )
