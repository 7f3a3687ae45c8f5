"""Number files from chats: check them with the pipeline, keep the clean parts, upload them."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import update
from sqlmodel import Session, select

from bot.errors import UserFacingError
from bot.laaffic.client import LaafficClient
from bot.numbers import NumberFileError, NumberReport
from bot.numbers.worker import NumberChecker
from bot.render import esc
from storage.db import Database
from storage.models import NumberUpload, UploadPart, utcnow

log = logging.getLogger(__name__)


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
        raise UserFacingError(esc(exc.message)) from None
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
            status="checked" if parts else "empty",
        )
        session.add(upload)
        session.flush()
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


def claim_upload(
    session: Session, upload_id: int, chat_id: int, from_status: str, to_status: str
) -> bool:
    """Move an upload between states only if nobody else did (double taps, two operators)."""
    result = session.execute(
        update(NumberUpload)
        .where(
            NumberUpload.id == upload_id,
            NumberUpload.chat_id == chat_id,
            NumberUpload.status == from_status,
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
                .order_by(UploadPart.part)
            )
        )
        if upload
        else []
    )
    return upload, parts


async def upload_parts(
    database: Database,
    client: LaafficClient,
    upload_id: int,  # noqa: ANN001
    parts: list[UploadPart],
) -> list[UploadPart]:
    """Upload each clean part that has no platform path yet; record what the platform counted."""
    done: list[UploadPart] = []
    for part in parts:
        if part.platform_file_path is None:
            result = await client.upload_numbers(part.file_name, part.content)
            part.platform_file_path = result.file_path
            part.platform_total = result.number_total_count
            part.platform_same = result.number_same_count

            def save(session: Session, part: UploadPart = part) -> None:
                row = session.get(UploadPart, part.id)
                row.platform_file_path = part.platform_file_path
                row.platform_total = part.platform_total
                row.platform_same = part.platform_same
                session.add(row)

            await database.run(save)
        done.append(part)

    def finish(session: Session) -> None:
        upload = session.get(NumberUpload, upload_id)
        upload.status = "uploaded"
        upload.uploaded_at = utcnow()
        session.add(upload)

    await database.run(finish)
    return done
