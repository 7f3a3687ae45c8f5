"""Number files: /upload, documents dropped into a bound chat, and the [Upload] [Discard] buttons.

A file gets one message, its card: "Downloading…", then "Checking…", then the report, then what
became of it (uploaded, failed, discarded). Every state ends that message with a sentence, and the
card is rendered anew from the stored report each time, never appended to, shortened deliberately
so that it stays one message.
"""

from __future__ import annotations

import logging
import re
import secrets
import tempfile
from collections.abc import Sequence
from pathlib import Path

from telegram import Document, Message, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.delivery.telegram_errors import DeliveryError, Transient, classify
from bot.delivery.telegram_errors import FileTooBig as TelegramFileTooBig
from bot.errors import UserFacingError
from bot.handlers.base import Context, Keyboard, Request, button, command, resolve, run_guarded
from bot.numbers import MAX_FILE_BYTES, PLATFORM_MAX_ROWS, SUPPORTED_EXTENSIONS, NumberReport
from bot.numbers.normalise import NO_COUNTRY_CODE
from bot.render import MESSAGE_LIMIT, code, esc
from bot.services import uploads as upload_service
from bot.services.access import Role
from bot.services.uploads import FileTooBig, UploadOutcome, UploadResult
from storage.models import NumberUpload, UploadPart, UploadStatus

log = logging.getLogger(__name__)

UPLOAD_PROMPT = "Send me the number file as a reply to this message"
STALE_BUTTON = "This button is no longer valid; nothing was done."
_UPLOAD_ID = re.compile(r"[0-9]{1,18}")  # ASCII digits only; forged callback data is refused
_SHOWN_NAME = 60  # characters of a file or column name shown on the card
_COLUMNS_BUDGET = 1200  # of the card's characters, for the column names: the rest is for rows
# Bidirectional controls (overrides, embeddings, isolates, marks): in a file name they reorder how
# it and the rest of its line show ("list\u202efdp.csv" shows as "listvsc.pdf"), so a name is
# shown, checked and stored without them.
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@command("/upload", Role.OPERATOR)
async def upload_prompt(req: Request) -> None:
    message = req.message
    assert message is not None
    if message.document is not None:  # the file came with /upload as its caption
        await handle_document(req)
        return
    await req.ask(
        f"{UPLOAD_PROMPT} (xlsx, xls, ods, csv or txt, at most 20 MB). I check the numbers, show you a "
        f"report, and upload only when you say so.",
        reply_to=message.message_id,
        placeholder="Attach the number file",
    )


# --- the card -------------------------------------------------------------------------------


def _short(name: str, limit: int = _SHOWN_NAME) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def _label(upload_id: int, part: UploadPart, parts: int) -> str:
    return f"#{upload_id}.{part.part}" if parts > 1 else f"#{upload_id}"


def _status_lines(
    upload_id: int, status: UploadStatus, parts: Sequence[UploadPart], reason: str | None
) -> list[str]:
    """What became of the file, right under the counts: the line people look for."""
    if status == UploadStatus.UPLOADED:
        lines = [f"✓ Uploaded upload #{upload_id} to the platform:"]
        for p in parts:
            total = f"{p.platform_total:,}" if p.platform_total is not None else "?"
            same = f"{p.platform_same:,}" if p.platform_same is not None else "?"
            lines.append(
                f"{_label(upload_id, p, len(parts))} {code(p.file_name)}: the platform counted "
                f"{total} number(s), {same} duplicate(s)."
            )
        return lines
    if status == UploadStatus.FAILED:
        done = sum(1 for p in parts if p.platform_file_path)
        why = f"✗ The upload failed: {esc(reason)}" if reason else "✗ The last upload failed."
        return [
            why,
            f"{done} of {len(parts)} file(s) reached the platform. Press Upload to try again.",
        ]
    if status == UploadStatus.DISCARDED:
        return ["✖ Discarded; nothing was uploaded."]
    if status == UploadStatus.UPLOADING:
        return ["⏳ Uploading to the platform…"]
    return []


def _split_line(upload_id: int, parts: Sequence[UploadPart]) -> str | None:
    if len(parts) < 2:
        return None
    each = ", ".join(f"#{upload_id}.{p.part} ({_plural(p.rows, 'number')})" for p in parts)
    return (
        f"The platform takes at most {PLATFORM_MAX_ROWS:,} numbers per file, so this list is "
        f"split into {len(parts)} files: {each}."
    )


def _columns_line(names: Sequence[str], budget: int) -> str | None:
    """The callee information columns, as many as fit in `budget` characters, then a count."""
    head = "Callee information columns: "
    if not names:
        return head + "none"
    shown: list[str] = []
    length = len(head)
    for i, name in enumerate(names):
        piece = esc(_short(name))
        rest = len(names) - i - 1
        tail = len(f", … and {rest:,} more columns") if rest else 0
        if length + len(piece) + 2 + tail > budget:
            break
        shown.append(piece)
        length += len(piece) + 2
    rest = len(names) - len(shown)
    if not shown:
        line = f"{head}{_plural(len(names), 'column')}"
        return line if len(line) <= budget else None
    more = f", … and {rest:,} more column{'s' if rest != 1 else ''}" if rest else ""
    return head + ", ".join(shown) + more


def report_card(
    upload_id: int,
    report: NumberReport,
    parts: Sequence[UploadPart],
    status: UploadStatus,
    reason: str | None = None,
    limit: int = MESSAGE_LIMIT,
) -> tuple[str, Keyboard | None]:
    """The card's HTML and buttons. The counts, what became of the file and the split come first;
    the details follow while they fit in `limit`, the columns and invalid rows shortened with a
    count of what is left out. Lines are whole, so no tag or entity is ever cut."""
    sheet = f", sheet {esc(repr(report.sheet_name))}" if report.sheet_name else ""
    lines = [
        f"<b>Number file check</b> — upload #{upload_id}",
        f"File: {esc(_short(report.file_name, 120))}{sheet}",
        esc(report.counts_line()),
        *_status_lines(upload_id, status, parts, reason),
    ]
    split = _split_line(upload_id, parts)
    if split:
        lines.append(split)
    if report.valid == 0:
        lines.append(
            "No valid numbers, so there is nothing to upload. Fix the file and send it again."
        )
    used = sum(map(len, lines)) + len(lines) - 1

    def add(line: str | None) -> bool:
        nonlocal used
        if line is None or used + 1 + len(line) > limit:
            return False
        lines.append(line)
        used += 1 + len(line)
        return True

    for line in [*report.swallowed_lines(), *report.layout_lines()]:
        add(esc(line))
    add(f"Phone column: {esc(_short(report.phone_column))}")
    add(_columns_line(report.info_columns, min(limit - used - 1, _COLUMNS_BUDGET)))
    other = report.other_phones_line()
    add(esc(_short(other, 600)) if other else None)
    add(esc(report.country_line()))
    if _needs_country_code(report):
        add(
            "National numbers need a country code: set this chat's with "
            "<code>/settings ccode 91</code> (your country's code) and send the file again."
        )
    for line in report.cleanups.lines():
        add(esc(line))
    if report.rejected:
        add("Every rejected row, with its reason, is in the rejected-rows file.")
    if report.rejected_samples:
        samples = report.rejected_samples
        # Room for the heading and the line saying how many were left out.
        reserve = 80
        if add(esc(report.sample_heading())):
            for i, sample in enumerate(samples):
                line = esc(sample.line())
                if used + 1 + len(line) + reserve > limit:
                    add(f"  … and {len(samples) - i} more shown in the rejected-rows file.")
                    break
                add(line)
    return "\n".join(lines), _card_buttons(upload_id, status, parts)


def _needs_country_code(report: NumberReport) -> bool:
    return not report.country_code and any(
        sample.reason == NO_COUNTRY_CODE for sample in report.rejected_samples
    )


def _card_buttons(
    upload_id: int, status: UploadStatus, parts: Sequence[UploadPart]
) -> Keyboard | None:
    if status in (UploadStatus.CHECKED, UploadStatus.FAILED) and parts:
        return [
            [("⬆ Upload to platform", f"up:{upload_id}:go"), ("✖ Discard", f"up:{upload_id}:drop")]
        ]
    if status == UploadStatus.UPLOADED:
        if len(parts) == 1:
            return [[("📞 Create task…", f"nt:new:{parts[0].id}")]]
        return [
            [(f"📞 Create task… (part {p.part}, {_plural(p.rows, 'number')})", f"nt:new:{p.id}")]
            for p in parts
        ]
    return None


def _card_for(
    upload: NumberUpload, parts: Sequence[UploadPart], reason: str | None = None
) -> tuple[str, Keyboard | None]:
    assert upload.id is not None
    report = upload_service.stored_report(upload)
    return report_card(upload.id, report, parts, UploadStatus(upload.status), reason)


async def _show(req: Request, message: Message | None, text: str, rows: Keyboard | None) -> Message:
    """Edit the card (or the progress message); if that is impossible, say it anew. Returns the
    message that now shows it."""
    if message is not None:
        try:
            return await req.edit(message, text, rows)
        except DeliveryError:
            log.warning("could not edit message %s in chat %s", message.message_id, req.chat_id)
    return await req.reply(text, rows)


# --- a document arrives ------------------------------------------------------------------


async def handle_document(req: Request) -> None:
    message = req.message
    assert message is not None and message.document is not None
    document = message.document
    name = _BIDI_CONTROLS.sub("", document.file_name or "").strip() or "numbers"
    # Path(".csv").suffix is "": a name that is only an extension is still that type.
    suffix = "." + name.rsplit(".", 1)[1].lower() if "." in name else ""
    if suffix not in SUPPORTED_EXTENSIONS:
        raise UserFacingError(
            f"I can't read {name}: number files must be {', '.join(SUPPORTED_EXTENSIONS)}. "
            f"Save it in one of those formats and send it again."
        )
    if document.file_size and document.file_size > MAX_FILE_BYTES:
        raise FileTooBig(name, document.file_size)
    progress = await req.reply(f"Downloading {esc(name)}…")
    try:
        checked = await _download_and_check(req, document, name, suffix, progress)
    except UserFacingError as exc:
        await _show(req, progress, esc(str(exc)), None)
        return
    except Exception:
        ref = secrets.token_hex(3)
        log.exception("number file failed (ref %s)", ref)
        await _show(
            req,
            progress,
            f"Something went wrong on our side while checking {esc(name)}, so the check did not "
            f"finish. Send the file again; if it keeps failing, tell your admin the reference "
            f"{ref}.",
            None,
        )
        return
    upload = checked.upload
    assert upload.id is not None
    text, rows = report_card(upload.id, checked.report, checked.parts, UploadStatus(upload.status))
    card = await _show(req, progress, text, rows)
    upload_id = upload.id
    await req.runtime.database.run(
        lambda s: upload_service.save_message_id(s, upload_id, card.message_id)
    )
    report = checked.report
    if checked.rejected_bytes is not None:
        try:
            await req.send_document(
                checked.rejected_bytes,
                checked.rejected_name or "rejected.csv",
                f"Rejected rows of {esc(name)}, with the reason for each.",
            )
        except DeliveryError as exc:
            log.warning("could not send the rejected rows of upload %s: %s", upload_id, exc)
            await req.reply(
                f"The rejected-rows file of {esc(name)} could not be sent ({esc(str(exc))}); "
                f"the card above lists the first rejected rows and the check itself is kept. "
                f"Send the file again to get the rejected rows."
            )
    elif report.rejected:
        await req.reply(
            f"The rejected-rows file of {esc(name)} would be larger than the 50 MB Telegram lets "
            f"a bot send, so it was not sent; the card above lists the first invalid rows. Fix "
            f"those, or split the file, and send it again to get the rest."
        )


async def _download_and_check(
    req: Request, document: Document, name: str, suffix: str, progress: Message
) -> upload_service.CheckedUpload:
    with tempfile.TemporaryDirectory(prefix="ccbot-doc-") as tmp:
        path = Path(tmp) / f"input{suffix}"
        await _download(document, name, path)
        try:
            await req.edit(progress, f"Checking the numbers in {esc(name)}…")
        except DeliveryError as exc:  # only news of progress: the check goes on, the card follows
            log.warning("could not edit the progress message in chat %s: %s", req.chat_id, exc)
        try:
            return await upload_service.check_file(
                req.runtime.database,
                req.runtime.number_checker,
                path=path,
                file_name=name,
                chat_id=req.chat_id,
                user_id=req.user_id,
                ccode=req.ccode,
                fmt=req.runtime.settings.number_file_format,
            )
        except UserFacingError as exc:
            raise UserFacingError(f"I couldn't check {name}: {exc}") from None


async def _download(document: Document, name: str, path: Path) -> None:
    """getFile, then the download itself, never more than 20 MB whatever the update claimed."""
    try:
        tg_file = await document.get_file()
    except TelegramError as exc:
        outcome = classify(exc)
        if isinstance(outcome, TelegramFileTooBig):  # the Bot API's answer above 20 MB
            raise FileTooBig(name, None) from None
        if isinstance(outcome, Transient):
            raise UserFacingError(
                f"Telegram did not answer while I fetched {name} ({exc.message}): send the file "
                f"again in a minute."
            ) from None
        raise UserFacingError(
            f"Telegram would not hand over {name} ({exc.message}): send the file again."
        ) from None
    if tg_file.file_size and tg_file.file_size > MAX_FILE_BYTES:
        raise FileTooBig(name, tg_file.file_size)
    if not tg_file.file_path:
        raise UserFacingError(f"Telegram gave no address to download {name}: send it again.")
    await upload_service.download_capped(tg_file.file_path, path, file_name=name)


async def on_document(update: Update, context: Context) -> None:
    """A document without the /upload caption: take it if it answers our prompt, or if it comes from
    an operator in a chat where we see every message (privacy mode off, or the bot is an admin)."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    reply_to = message.reply_to_message
    answers_prompt = (
        reply_to is not None
        and reply_to.from_user is not None
        and reply_to.from_user.id == context.bot.id
        and UPLOAD_PROMPT in (reply_to.text or "")
    )
    req = await resolve(update, context)
    if req is None or (req.chat is None and not req.is_private):
        return  # unbound chats are ignored, except for commands
    if req.role < Role.OPERATOR:
        log.info(
            "ignored a document from user %s (%s) in chat %s",
            req.user_id,
            req.role.label,
            req.chat_id,
        )
        if answers_prompt or req.is_private:
            await req.reply(
                "Only members with the operator role can upload number files. Ask a ccbot "
                "admin for the role with /role operator."
            )
        return
    await run_guarded(req, "number file", handle_document)


# --- the buttons ---------------------------------------------------------------------------

_REFUSALS = {
    UploadResult.ALREADY_UPLOADED: "This file is already on the platform; nothing more was done.",
    UploadResult.ALREADY_DISCARDED: "This file was discarded; send it again to upload it.",
    UploadResult.IN_PROGRESS: "This file is being uploaded right now; its card shows the result.",
    UploadResult.NOTHING_TO_UPLOAD: "This file has no valid numbers: there is nothing to upload.",
    UploadResult.NOT_FOUND: STALE_BUTTON,
}


@button("up", Role.OPERATOR)
async def upload_button(req: Request) -> None:
    args = req.args
    if len(args) != 2 or not _UPLOAD_ID.fullmatch(args[0]) or args[1] not in ("go", "drop"):
        await req.toast(STALE_BUTTON, alert=True)
        return
    upload_id, action = int(args[0]), args[1]
    db = req.runtime.database
    card = req.query.message if req.query is not None else None
    message = card if isinstance(card, Message) else None  # an old card may be inaccessible
    if action == "drop":
        outcome = await upload_service.discard_upload(db, upload_id, req.chat_id)
        if outcome.result == UploadResult.DISCARDED:
            await req.toast("Discarded.")
        await _render_outcome(req, message, outcome)
        return

    async def started() -> None:
        await req.toast("Uploading…")  # the press won; the card says how it ends

    try:
        outcome = await upload_service.upload_to_platform(
            db, req.runtime.client, upload_id, req.chat_id, on_start=started
        )
    except Exception:
        ref = secrets.token_hex(3)
        log.exception("upload #%s failed (ref %s)", upload_id, ref)
        upload, parts = await db.run(lambda s: upload_service.get_upload(s, upload_id))
        reason = f"something went wrong on our side (reference {ref})."
        if upload is not None:
            await _show(req, message, *_card_for(upload, parts, reason))
        return
    await _render_outcome(req, message, outcome)


# Outcomes after which the card is rendered again: the file's state is final (or failed). A
# press that found the upload in progress leaves the card to the press that is uploading.
_SHOWN = {
    UploadResult.UPLOADED,
    UploadResult.FAILED,
    UploadResult.DISCARDED,
    UploadResult.ALREADY_UPLOADED,
    UploadResult.ALREADY_DISCARDED,
}


async def _render_outcome(req: Request, message: Message | None, outcome: UploadOutcome) -> None:
    refusal = _REFUSALS.get(outcome.result)
    if refusal is not None:
        await req.toast(refusal, alert=True)
    if outcome.upload is not None and outcome.result in _SHOWN:
        # The card shows the state the file is in now, whichever press this was.
        await _show(req, message, *_card_for(outcome.upload, outcome.parts, outcome.reason))


def register(application: Application) -> None:
    application.add_handler(CommandHandler("upload", upload_prompt))
    # A document whose caption is /upload: CommandHandler does not look at captions.
    application.add_handler(
        MessageHandler(
            filters.Document.ALL & filters.CaptionRegex(r"^/upload(@\w+)?\b"), upload_prompt
        )
    )
    application.add_handler(MessageHandler(filters.Document.ALL, on_document))
    application.add_handler(
        CallbackQueryHandler(upload_button, pattern=upload_button.callback_pattern)
    )
