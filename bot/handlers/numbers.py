"""Number files: /upload, documents dropped into a bound chat, and the [Upload] [Discard] buttons."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from telegram import ForceReply, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.errors import UserFacingError
from bot.handlers.base import Context, Request, button, command, resolve, run_guarded
from bot.laaffic.errors import PlatformError
from bot.numbers import MAX_FILE_BYTES, SUPPORTED_EXTENSIONS, NumberReport
from bot.render import code, esc
from bot.services import uploads as upload_service
from bot.services.access import Role
from storage.models import NumberUpload

log = logging.getLogger(__name__)

UPLOAD_PROMPT = "Send me the number file as a reply to this message"


@command("/upload", Role.OPERATOR)
async def upload_prompt(req: Request) -> None:
    message = req.message
    assert message is not None
    if message.document is not None:  # the file came with /upload as its caption
        await handle_document(req)
        return
    await message.reply_text(
        f"{UPLOAD_PROMPT} (xlsx, xls, ods, csv or txt, at most 20 MB). I check the numbers, show you a "
        f"report, and upload only when you say so.",
        reply_markup=ForceReply(selective=True, input_field_placeholder="Attach the number file"),
        do_quote=True,
    )


def _report_text(upload_id: int, report: NumberReport, parts: int) -> str:
    lines = [f"<b>Number file check</b> — upload #{upload_id}"]
    lines += [esc(line) for line in report.lines()]
    if parts > 1:
        lines.append(
            f"The platform takes at most 100,000 numbers per file, so this becomes {parts} files "
            f"(upload #{upload_id}.1 … #{upload_id}.{parts})."
        )
    return "\n".join(lines)


async def handle_document(req: Request) -> None:
    message = req.message
    assert message is not None and message.document is not None
    document = message.document
    name = document.file_name or "numbers"
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        raise UserFacingError(
            f"I can't read {esc(name)}: number files must be {', '.join(SUPPORTED_EXTENSIONS)}. "
            f"Save it in one of those formats and send it again."
        )
    if document.file_size and document.file_size > MAX_FILE_BYTES:
        raise UserFacingError(
            f"{esc(name)} is {document.file_size / 1024 / 1024:.1f} MB; Telegram lets bots download at "
            f"most 20 MB. Split the list into smaller files (or save it as .csv, which is smaller) "
            f"and send them one by one."
        )
    progress = await req.reply(f"Downloading {esc(name)}…")
    with tempfile.TemporaryDirectory(prefix="ccbot-doc-") as tmp:
        path = Path(tmp) / f"input{suffix}"
        tg_file = await document.get_file()
        await tg_file.download_to_drive(path)
        await req.edit(progress, f"Checking the numbers in {esc(name)}…")
        fmt = req.runtime.settings.number_file_format
        try:
            checked = await upload_service.check_file(
                req.runtime.database,
                req.runtime.number_checker,
                path=path,
                file_name=name,
                chat_id=req.chat_id,
                user_id=req.user_id,
                ccode=req.ccode,
                fmt=fmt,
            )
        except UserFacingError as exc:
            await req.edit(progress, f"I couldn't check {esc(name)}: {exc}")
            return
    upload = checked.upload
    text = _report_text(upload.id, checked.report, len(checked.parts))
    if checked.parts:
        rows = [
            [("⬆ Upload to platform", f"up:{upload.id}:go"), ("✖ Discard", f"up:{upload.id}:drop")]
        ]
    else:
        text += "\nNo valid numbers, so there is nothing to upload. Fix the file and send it again."
        rows = None
    await req.edit(progress, text, rows)
    await _save_message_id(req, upload.id, progress.message_id)
    if checked.rejected_bytes is not None:
        await message.reply_document(
            checked.rejected_bytes,
            filename=checked.rejected_name,
            caption=f"Rejected rows of {esc(name)}, with the reason for each.",
            parse_mode=ParseMode.HTML,
            do_quote=False,
        )


async def _save_message_id(req: Request, upload_id: int, message_id: int) -> None:
    def save(session):  # noqa: ANN001, ANN202
        row = session.get(NumberUpload, upload_id)
        row.message_id = message_id
        session.add(row)

    await req.runtime.database.run(save)


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


@button("up", Role.OPERATOR)
async def upload_button(req: Request) -> None:
    upload_id, action = int(req.args[0]), req.args[1]
    db = req.runtime.database
    message = req.query.message if req.query else None
    if action == "drop":
        if await db.run(
            lambda s: upload_service.claim_upload(s, upload_id, req.chat_id, "checked", "discarded")
        ):
            await req.toast("Discarded.")
            if message is not None:
                await req.edit(
                    message, f"{message.text_html}\n\n✖ Discarded; nothing was uploaded."
                )
        else:
            await req.toast("This file was already uploaded or discarded.", alert=True)
        return
    if not await db.run(
        lambda s: upload_service.claim_upload(s, upload_id, req.chat_id, "checked", "uploading")
    ):
        upload, _ = await db.run(lambda s: upload_service.get_upload(s, upload_id))
        state = upload.status if upload else "gone"
        await req.toast(f"Nothing done: this file is already {state}.", alert=True)
        return
    await req.toast("Uploading…")
    upload, parts = await db.run(lambda s: upload_service.get_upload(s, upload_id))
    try:
        parts = await upload_service.upload_parts(db, req.runtime.client, upload_id, parts)
    except BaseException as exc:
        # Back to "checked" whatever went wrong, so the file never stays stuck in "uploading";
        # uploading again is safe (an unused file costs nothing on the platform, and parts that
        # arrived keep their path and are not sent again).
        await db.run(
            lambda s: upload_service.claim_upload(s, upload_id, req.chat_id, "uploading", "checked")
        )
        if not isinstance(exc, PlatformError):
            raise
        done = sum(1 for p in parts if p.platform_file_path)
        if message is not None:
            await req.edit(
                message,
                f"{message.text_html}\n\n✗ The upload failed: {esc(str(exc))}\n"
                f"{done} of {len(parts)} file(s) reached the platform. Press Upload "
                f"to try again.",
                [
                    [
                        ("⬆ Upload to platform", f"up:{upload_id}:go"),
                        ("✖ Discard", f"up:{upload_id}:drop"),
                    ]
                ],
            )
        return
    lines = [f"✓ Uploaded upload #{upload_id} to the platform:"]
    for p in parts:
        label = f"#{upload_id}.{p.part}" if len(parts) > 1 else f"#{upload_id}"
        lines.append(
            f"{label} {code(p.file_name)}: the platform counted {p.platform_total} number(s), "
            f"{p.platform_same} duplicate(s)."
        )
    rows = [[("📞 Create task…", f"nt:new:{p.id}")] for p in parts]
    if message is not None:
        await req.edit(message, f"{message.text_html}\n\n" + "\n".join(lines), rows)


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
