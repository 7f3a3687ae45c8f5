"""Number files from chats: fetch them (capped), check them with the pipeline, keep the clean
parts, upload them to the platform.

Every function here returns data or raises UserFacingError with plain text; the handler renders.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path

import httpx
from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.errors import UserFacingError
from bot.i18n import N_, _
from bot.laaffic.client import LaafficClient
from bot.laaffic.errors import PlatformError
from bot.numbers import MAX_FILE_BYTES, NumberFileError, NumberReport
from bot.numbers.worker import NumberChecker
from bot.tls import client_tls
from storage.db import Database
from storage.models import NumberUpload, UploadPart, UploadStatus, utcnow

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024
# Reading a document from Telegram's file server: generous, a 20 MB file on a slow link.
_DOWNLOAD_TIMEOUT = httpx.Timeout(30.0, read=60.0)


# --- fetching the document -----------------------------------------------------------------


class FileTooBig(UserFacingError):
    """A document over the 20 MB a bot may download; `size` is None when nobody said how big."""

    def __init__(self, file_name: str, size: int | None) -> None:
        self.size = size
        how_big = (
            _(
                "is {value} MB",
                value=f"{size / 2**20:.1f}",
            )
            if size
            else _("is larger than 20 MB")
        )
        super().__init__(
            _(
                "{file_name} {how_big}; Telegram lets bots download at most 20 MB. Split the list into "
                "smaller files (or save it as .csv, which is smaller) and send them one by one.",
                file_name=file_name,
                how_big=how_big,
            )
        )


async def download_capped(
    source: str, dest: Path, *, file_name: str, limit: int = MAX_FILE_BYTES
) -> int:
    """Copy `source` (the file's URL, or its path with a local Bot API server) to `dest`, reading
    at most `limit` bytes: a document whose update did not say its size could be any size.

    Returns the size. Raises FileTooBig past the limit, UserFacingError if the file server fails
    (without the URL, which holds the bot token).
    """
    if not source.startswith(("http://", "https://")):
        return _copy_capped(Path(source), dest, file_name=file_name, limit=limit)
    received = 0
    try:
        async with (
            httpx.AsyncClient(
                timeout=_DOWNLOAD_TIMEOUT, follow_redirects=False, verify=client_tls()
            ) as http,
            http.stream("GET", source) as response,
        ):
            if response.status_code != 200:
                raise UserFacingError(
                    _(
                        "Telegram's file server did not hand over {file_name} (HTTP {status_code}): send the "
                        "file again.",
                        file_name=file_name,
                        status_code=response.status_code,
                    )
                )
            declared = response.headers.get("content-length", "")
            if declared.isascii() and declared.isdigit() and int(declared) > limit:
                raise FileTooBig(file_name, int(declared))
            with dest.open("wb") as out:
                async for chunk in response.aiter_bytes(_CHUNK):
                    received += len(chunk)
                    if received > limit:
                        raise FileTooBig(file_name, None)  # stop reading here
                    out.write(chunk)
    except httpx.HTTPError as exc:
        raise UserFacingError(
            _(
                "Downloading {file_name} from Telegram failed ({name}): send the file again in a "
                "minute.",
                file_name=file_name,
                name=type(exc).__name__,
            )
        ) from None
    return received


def _copy_capped(source: Path, dest: Path, *, file_name: str, limit: int) -> int:
    try:
        with source.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError:
        raise UserFacingError(
            _(
                "The local Bot API server's copy of {file_name} cannot be read: send the file again.",
                file_name=file_name,
            )
        ) from None
    if len(data) > limit:
        raise FileTooBig(file_name, None)
    dest.write_bytes(data)
    return len(data)


# --- checking -------------------------------------------------------------------------------


@dataclass
class CheckedUpload:
    upload: NumberUpload
    parts: list[UploadPart]
    report: NumberReport
    rejected_name: str | None
    rejected_bytes: bytes | None


async def check_file(
    database: Database,
    checker: NumberChecker,
    *,
    path: Path,
    file_name: str,
    chat_id: int,
    user_id: int,
    ccode: str | None,
    fmt: str,
) -> CheckedUpload:
    """Run the pipeline in a checker process, store the report and the clean parts."""
    try:
        checked = await checker.check(path, file_name, ccode, fmt)
    except NumberFileError as exc:
        raise UserFacingError(exc.message) from None
    parts, rejected = checked.parts, checked.rejected
    report = checked.report

    def store(session: Session) -> tuple[NumberUpload, list[UploadPart]]:
        upload = NumberUpload(
            chat_id=chat_id,
            user_id=user_id,
            original_name=file_name[:256],
            report=json.dumps(asdict(report), ensure_ascii=False, default=str),
            ccode=ccode,
            valid=report.valid,
            status=UploadStatus.CHECKED if parts else UploadStatus.EMPTY,
        )
        session.add(upload)
        session.flush()
        assert upload.id is not None  # the flush gave it its id
        rows = []
        for i, (name, count, content) in enumerate(parts, start=1):
            part = UploadPart(
                upload_id=upload.id, part=i, file_name=name, rows=count, content=content
            )
            session.add(part)
            rows.append(part)
        session.flush()
        return upload, rows

    upload, stored = await database.run(store)
    return CheckedUpload(
        upload=upload,
        parts=stored,
        report=report,
        rejected_name=rejected[0] if rejected else None,
        rejected_bytes=rejected[1] if rejected else None,
    )


def stored_report(upload: NumberUpload) -> NumberReport:
    """The report kept with the upload, to render its card again."""
    return NumberReport.from_dict(json.loads(upload.report))


def save_message_id(session: Session, upload_id: int, message_id: int) -> None:
    """The card's message, so that later presses and retries edit that one."""
    session.execute(
        update(NumberUpload).where(col(NumberUpload.id) == upload_id).values(message_id=message_id)
    )


# --- uploading --------------------------------------------------------------------------------


def claim_upload(
    session: Session,
    upload_id: int,
    chat_id: int,
    from_status: UploadStatus | tuple[UploadStatus, ...],
    to_status: UploadStatus,
) -> bool:
    """Move an upload between states only if nobody else did (double taps, two operators)."""
    allowed = from_status if isinstance(from_status, tuple) else (from_status,)
    result = session.exec(
        update(NumberUpload)
        .where(
            col(NumberUpload.id) == upload_id,
            col(NumberUpload.chat_id) == chat_id,
            col(NumberUpload.status).in_([str(status) for status in allowed]),
        )
        .values(status=to_status)
    )
    return result.rowcount == 1


def get_upload(session: Session, upload_id: int) -> tuple[NumberUpload | None, list[UploadPart]]:
    upload = session.get(NumberUpload, upload_id)
    parts = (
        list(
            session.exec(
                select(UploadPart)
                .where(UploadPart.upload_id == upload_id)
                .order_by(col(UploadPart.part))
            )
        )
        if upload
        else []
    )
    return upload, parts


class UploadResult(StrEnum):
    """How a press of [Upload to platform] (or [Discard]) ended."""

    UPLOADED = "uploaded"  # this press put every part on the platform
    DISCARDED = "discarded"  # this press discarded it
    ALREADY_UPLOADED = N_("already uploaded")  # an earlier press did
    ALREADY_DISCARDED = N_("already discarded")
    IN_PROGRESS = N_("in progress")  # another press is uploading it right now
    NOTHING_TO_UPLOAD = N_("nothing to upload")  # no valid numbers
    NOT_FOUND = N_("not found")  # no such upload in this chat
    FAILED = "failed"  # the platform refused or did not answer: `reason`


@dataclass
class UploadOutcome:
    result: UploadResult
    upload: NumberUpload | None
    parts: list[UploadPart] = field(default_factory=list)
    reason: str | None = None  # FAILED: what went wrong, plain text

    @property
    def parts_on_platform(self) -> int:
        return sum(1 for part in self.parts if part.platform_file_path)


_RETRYABLE = (UploadStatus.CHECKED, UploadStatus.FAILED)
_ALREADY = {
    UploadStatus.UPLOADED: UploadResult.ALREADY_UPLOADED,
    UploadStatus.UPLOADING: UploadResult.IN_PROGRESS,
    UploadStatus.DISCARDED: UploadResult.ALREADY_DISCARDED,
    UploadStatus.EMPTY: UploadResult.NOTHING_TO_UPLOAD,
}


async def _not_claimed(database: Database, upload_id: int, chat_id: int) -> UploadOutcome:
    upload, parts = await database.run(lambda s: get_upload(s, upload_id))
    if upload is None or upload.chat_id != chat_id:
        return UploadOutcome(UploadResult.NOT_FOUND, None)
    # A state that allows the move, seen after the claim failed: another press just moved it.
    result = _ALREADY.get(UploadStatus(upload.status), UploadResult.IN_PROGRESS)
    return UploadOutcome(result, upload, parts)


async def upload_to_platform(
    database: Database,
    client: LaafficClient,
    upload_id: int,
    chat_id: int,
    *,
    on_start: Callable[[], Awaitable[None]] | None = None,
) -> UploadOutcome:
    """Claim the upload, send each part that is not on the platform yet, record the result.
    `on_start` runs once the claim is won, before the (possibly slow) platform calls.

    Only one press wins the claim; the others get the state it is in. A failed attempt leaves the
    upload FAILED, so [Upload] can be pressed again: parts that arrived keep their platform path
    and are not sent twice (an orphan copy on the platform costs nothing: a file is only used
    once a task is submitted with its path). An unexpected error also leaves it FAILED, then
    propagates.
    """
    claimed = await database.run(
        lambda s: claim_upload(s, upload_id, chat_id, _RETRYABLE, UploadStatus.UPLOADING)
    )
    if not claimed:
        return await _not_claimed(database, upload_id, chat_id)
    upload, parts = await database.run(lambda s: get_upload(s, upload_id))
    assert upload is not None
    try:
        if on_start is not None:
            await on_start()
        for part in parts:
            if part.platform_file_path is None:
                await _send_part(database, client, part)
    except BaseException as exc:
        await database.run(
            lambda s: claim_upload(
                s, upload_id, chat_id, UploadStatus.UPLOADING, UploadStatus.FAILED
            )
        )
        upload.status = UploadStatus.FAILED
        if isinstance(exc, PlatformError):
            return UploadOutcome(UploadResult.FAILED, upload, parts, reason=str(exc))
        raise

    def finish(session: Session) -> NumberUpload:
        row = session.get(NumberUpload, upload_id)
        assert row is not None
        row.status = UploadStatus.UPLOADED
        row.uploaded_at = utcnow()
        session.add(row)
        return row

    upload = await database.run(finish)
    return UploadOutcome(UploadResult.UPLOADED, upload, parts)


async def _send_part(database: Database, client: LaafficClient, part: UploadPart) -> None:
    result = await client.upload_numbers(part.file_name, part.content)
    part.platform_file_path = result.file_path
    part.platform_total = result.number_total_count
    part.platform_same = result.number_same_count

    def save(session: Session) -> None:
        row = session.get(UploadPart, part.id)
        assert row is not None
        row.platform_file_path = part.platform_file_path
        row.platform_total = part.platform_total
        row.platform_same = part.platform_same
        session.add(row)

    await database.run(save)


async def discard_upload(database: Database, upload_id: int, chat_id: int) -> UploadOutcome:
    """Discard a checked (or failed) upload; nothing of it is uploaded after that."""
    claimed = await database.run(
        lambda s: claim_upload(s, upload_id, chat_id, _RETRYABLE, UploadStatus.DISCARDED)
    )
    if not claimed:
        return await _not_claimed(database, upload_id, chat_id)
    upload, parts = await database.run(lambda s: get_upload(s, upload_id))
    return UploadOutcome(UploadResult.DISCARDED, upload, parts)
