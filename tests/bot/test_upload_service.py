"""bot/services/uploads.py on each database backend, against the simulator: typed outcomes for every
way a press of [Upload] or [Discard] can end, and the capped download."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from pathlib import Path

import pytest

from bot.errors import UserFacingError
from bot.laaffic.client import LaafficClient
from bot.numbers.worker import NumberChecker
from bot.services import uploads
from bot.services.uploads import FileTooBig, UploadResult
from storage.db import Database
from storage.models import NumberUpload, UploadPart, UploadStatus

CHAT, OTHER_CHAT, USER = -100111, -100222, 42
UPLOAD = "/v3/cc/preview/upload"


def numbers_csv(path: Path, valid: int = 5, invalid: int = 1) -> Path:
    rows = ["phone,name"] + [f"9198765432{i:02d},n{i}" for i in range(valid)]
    rows += ["12345,bad"] * invalid
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
async def client(simulator) -> AsyncIterator[LaafficClient]:
    config = simulator.config
    platform = LaafficClient(
        simulator.base_url,
        config.api_key,
        config.api_secret,
        config.app_id,
        backoff=0.01,
        settle=0.01,
        retries=1,
    )
    yield platform
    await platform.aclose()


@pytest.fixture
def checker() -> AsyncIterator[NumberChecker]:
    pool = NumberChecker(workers=1)
    yield pool
    pool.close()


async def checked_upload(
    database: Database, checker: NumberChecker, tmp_path: Path, **rows: int
) -> int:
    checked = await uploads.check_file(
        database,
        checker,
        path=numbers_csv(tmp_path / "leads.csv", **rows),
        file_name="leads.csv",
        chat_id=CHAT,
        user_id=USER,
        ccode="91",
        fmt="auto",
    )
    assert checked.upload.id is not None
    return checked.upload.id


def status_of(database: Database, upload_id: int) -> str:
    upload = database.call(lambda s: s.get(NumberUpload, upload_id))
    assert upload is not None
    return upload.status


async def test_an_upload_ends_uploaded_once_and_already_uploaded_after(
    database: Database, checker: NumberChecker, client: LaafficClient, simulator, tmp_path: Path
) -> None:
    upload_id = await checked_upload(database, checker, tmp_path)
    assert status_of(database, upload_id) == UploadStatus.CHECKED
    outcome = await uploads.upload_to_platform(database, client, upload_id, CHAT)
    assert outcome.result == UploadResult.UPLOADED and outcome.reason is None
    assert outcome.parts_on_platform == 1 and outcome.parts[0].platform_total == 5
    assert status_of(database, upload_id) == UploadStatus.UPLOADED
    stored = database.call(lambda s: uploads.get_upload(s, upload_id))[1]
    assert stored[0].platform_file_path == outcome.parts[0].platform_file_path
    again = await uploads.upload_to_platform(database, client, upload_id, CHAT)
    assert again.result == UploadResult.ALREADY_UPLOADED
    assert simulator.simulator.requests[UPLOAD] == 1


async def test_a_platform_failure_is_a_failed_outcome_with_a_plain_reason_and_can_be_retried(
    database: Database, checker: NumberChecker, client: LaafficClient, simulator, tmp_path: Path
) -> None:
    upload_id = await checked_upload(database, checker, tmp_path)
    simulator.call(simulator.simulator.inject_fault, UPLOAD, "http_500", 0, 2)
    outcome = await uploads.upload_to_platform(database, client, upload_id, CHAT)
    assert outcome.result == UploadResult.FAILED
    assert outcome.reason and "<" not in outcome.reason and "HTTP 500" in outcome.reason
    assert outcome.parts_on_platform == 0
    assert status_of(database, upload_id) == UploadStatus.FAILED
    retry = await uploads.upload_to_platform(database, client, upload_id, CHAT)
    assert retry.result == UploadResult.UPLOADED
    assert status_of(database, upload_id) == UploadStatus.UPLOADED
    assert simulator.simulator.requests[UPLOAD] == 3


async def test_two_presses_at_once_upload_once(
    database: Database, checker: NumberChecker, client: LaafficClient, simulator, tmp_path: Path
) -> None:
    upload_id = await checked_upload(database, checker, tmp_path)
    first, second = await asyncio.gather(
        uploads.upload_to_platform(database, client, upload_id, CHAT),
        uploads.upload_to_platform(database, client, upload_id, CHAT),
    )
    results = {first.result, second.result}
    assert UploadResult.UPLOADED in results
    assert results & {UploadResult.IN_PROGRESS, UploadResult.ALREADY_UPLOADED}
    assert simulator.simulator.requests[UPLOAD] == 1


async def test_discarded_uploads_stay_discarded(
    database: Database, checker: NumberChecker, client: LaafficClient, simulator, tmp_path: Path
) -> None:
    upload_id = await checked_upload(database, checker, tmp_path)
    assert (await uploads.discard_upload(database, upload_id, CHAT)).result == "discarded"
    again = await uploads.discard_upload(database, upload_id, CHAT)
    assert again.result == UploadResult.ALREADY_DISCARDED
    pressed = await uploads.upload_to_platform(database, client, upload_id, CHAT)
    assert pressed.result == UploadResult.ALREADY_DISCARDED
    assert status_of(database, upload_id) == UploadStatus.DISCARDED
    assert simulator.simulator.requests[UPLOAD] == 0


async def test_another_chat_or_a_missing_upload_is_not_found_and_nothing_changes(
    database: Database, checker: NumberChecker, client: LaafficClient, simulator, tmp_path: Path
) -> None:
    upload_id = await checked_upload(database, checker, tmp_path)
    for chat, target in ((OTHER_CHAT, upload_id), (CHAT, upload_id + 1000)):
        outcome = await uploads.upload_to_platform(database, client, target, chat)
        assert (outcome.result, outcome.upload) == (UploadResult.NOT_FOUND, None)
        outcome = await uploads.discard_upload(database, target, chat)
        assert outcome.result == UploadResult.NOT_FOUND
    assert status_of(database, upload_id) == UploadStatus.CHECKED
    assert simulator.simulator.requests[UPLOAD] == 0


async def test_a_file_without_valid_numbers_has_nothing_to_upload(
    database: Database, checker: NumberChecker, client: LaafficClient, tmp_path: Path
) -> None:
    upload_id = await checked_upload(database, checker, tmp_path, valid=0, invalid=2)
    assert status_of(database, upload_id) == UploadStatus.EMPTY
    outcome = await uploads.upload_to_platform(database, client, upload_id, CHAT)
    assert outcome.result == UploadResult.NOTHING_TO_UPLOAD


async def test_an_unexpected_error_leaves_the_upload_failed_not_stuck_uploading(
    database: Database, checker: NumberChecker, client: LaafficClient, simulator, tmp_path: Path
) -> None:
    upload_id = await checked_upload(database, checker, tmp_path)

    async def telegram_went_away() -> None:
        raise ConnectionResetError("the toast could not be sent")

    with pytest.raises(ConnectionResetError):
        await uploads.upload_to_platform(
            database, client, upload_id, CHAT, on_start=telegram_went_away
        )
    assert status_of(database, upload_id) == UploadStatus.FAILED
    outcome = await uploads.upload_to_platform(database, client, upload_id, CHAT)
    assert outcome.result == UploadResult.UPLOADED


async def test_the_stored_report_reads_back_whole(
    database: Database, checker: NumberChecker, tmp_path: Path
) -> None:
    checked = await uploads.check_file(
        database,
        checker,
        path=numbers_csv(tmp_path / "l.csv", valid=3, invalid=2),
        file_name="l.csv",
        chat_id=CHAT,
        user_id=USER,
        ccode="91",
        fmt="auto",
    )
    upload = database.call(lambda s: s.get(NumberUpload, checked.upload.id))
    assert upload is not None
    assert uploads.stored_report(upload) == checked.report
    # a report stored before the newer fields existed still reads
    old = {k: v for k, v in asdict(checked.report).items() if k not in ("cleanups", "title_rows")}
    upload.report = json.dumps(old)
    assert uploads.stored_report(upload).cleanups.invisible == 0


def test_upload_statuses_are_the_stored_strings() -> None:
    assert [s.value for s in UploadStatus] == [
        "checked",
        "empty",
        "uploading",
        "uploaded",
        "failed",
        "discarded",
    ]
    part = UploadPart(upload_id=1, file_name="x_abc.xls", content=b"x")
    assert part.platform_file_path is None


# --- the capped download --------------------------------------------------------------------


async def settled(read: Callable[[], int], quiet: float = 0.3, timeout: float = 10) -> int:
    """The value once it stopped changing for `quiet` seconds (a server still sending)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    value = read()
    while loop.time() < deadline:
        await asyncio.sleep(quiet)
        now = read()
        if now == value:
            return now
        value = now
    raise AssertionError(f"still changing after {timeout} s: {value}")


async def test_a_download_stops_at_the_cap_and_says_so(fake_telegram, tmp_path: Path) -> None:
    big = fake_telegram.register_file(b"9" * (24 * 2**20), "big.csv", declare_size=False)
    url = f"{fake_telegram.base_file_url}{fake_telegram.token}/{big.file_path}"
    with pytest.raises(FileTooBig) as caught:
        await uploads.download_capped(url, tmp_path / "big.csv", file_name="big.csv", limit=2**20)
    assert str(caught.value).startswith("big.csv is larger than 20 MB; Telegram lets bots")
    # stopped after about 1 MB: what the server sent beyond it sits in socket buffers, not 24 MB
    assert await settled(lambda: fake_telegram.served_bytes(big.file_id)) < 12 * 2**20
    small = fake_telegram.register_file(b"phone\n919876543210\n", "s.csv")
    url = f"{fake_telegram.base_file_url}{fake_telegram.token}/{small.file_path}"
    size = await uploads.download_capped(url, tmp_path / "s.csv", file_name="s.csv")
    assert (tmp_path / "s.csv").read_bytes() == small.content and size == len(small.content)


async def test_a_failed_download_names_no_token(fake_telegram, tmp_path: Path) -> None:
    url = f"{fake_telegram.base_file_url}{fake_telegram.token}/documents/missing.csv"
    with pytest.raises(UserFacingError) as caught:
        await uploads.download_capped(url, tmp_path / "m.csv", file_name="m.csv")
    assert "HTTP 404" in str(caught.value) and fake_telegram.token not in str(caught.value)
    with pytest.raises(UserFacingError) as caught:
        await uploads.download_capped(
            f"http://127.0.0.1:1/file/bot{fake_telegram.token}/x", tmp_path / "n", file_name="n"
        )
    assert "ConnectError" in str(caught.value) and fake_telegram.token not in str(caught.value)


async def test_a_local_bot_api_file_is_copied_with_the_same_cap(tmp_path: Path) -> None:
    source = tmp_path / "local.csv"
    source.write_bytes(b"1" * 2048)
    with pytest.raises(FileTooBig):
        await uploads.download_capped(
            str(source), tmp_path / "d", file_name="local.csv", limit=1024
        )
    assert await uploads.download_capped(str(source), tmp_path / "d", file_name="local.csv") == 2048
