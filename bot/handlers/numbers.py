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
from bot.i18n import CHOICES, N_, _, speaking
from bot.i18n import t as in_language
from bot.numbers import MAX_FILE_BYTES, SUPPORTED_EXTENSIONS
from bot.render import esc
from bot.services import uploads as upload_service
from bot.services.access import Role
from bot.services.uploads import FileTooBig, UploadOutcome, UploadResult
from bot.views import number_files as views
from storage.models import NumberUpload, UploadPart, UploadStatus

log = logging.getLogger(__name__)

UPLOAD_PROMPT = N_("Send me the number file as a reply to this message")
STALE_BUTTON = N_("This button is no longer valid; nothing was done.")
_UPLOAD_ID = re.compile(r"[0-9]{1,18}")  # ASCII digits only; forged callback data is refused
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
        _(
            "{upload_prompt} (xlsx, xls, ods, csv or txt, at most 20 MB). I check the numbers, "
            "show you a report, and upload only when you say so.",
            upload_prompt=_(UPLOAD_PROMPT),
        ),
        reply_to=message.message_id,
        placeholder=_("Attach the number file"),
    )


def _card_for(
    upload: NumberUpload, parts: Sequence[UploadPart], reason: str | None = None
) -> tuple[str, Keyboard | None]:
    assert upload.id is not None
    report = upload_service.stored_report(upload)
    return views.report_card(upload.id, report, parts, UploadStatus(upload.status), reason)


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
            _(
                "I can't read {name}: number files must be {join}. Save it in one of those formats and "
                "send it again.",
                name=name,
                join=", ".join(SUPPORTED_EXTENSIONS),
            )
        )
    if document.file_size and document.file_size > MAX_FILE_BYTES:
        raise FileTooBig(name, document.file_size)
    progress = await req.reply(views.downloading(name))
    try:
        checked = await _download_and_check(req, document, name, suffix, progress)
    except UserFacingError as exc:
        await _show(req, progress, esc(str(exc)), None)
        return
    except Exception:
        ref = secrets.token_hex(3)
        log.exception("number file failed (ref %s)", ref)
        await _show(req, progress, views.check_crashed(name, ref), None)
        return
    upload = checked.upload
    assert upload.id is not None
    text, rows = views.report_card(
        upload.id, checked.report, checked.parts, UploadStatus(upload.status)
    )
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
                views.rejected_rows_caption(name),
            )
        except DeliveryError as exc:
            log.warning("could not send the rejected rows of upload %s: %s", upload_id, exc)
            await req.reply(views.rejected_rows_not_sent(name, str(exc)))
    elif report.rejected:
        await req.reply(views.rejected_rows_too_big(name))


async def _download_and_check(
    req: Request, document: Document, name: str, suffix: str, progress: Message
) -> upload_service.CheckedUpload:
    with tempfile.TemporaryDirectory(prefix="ccbot-doc-") as tmp:
        path = Path(tmp) / f"input{suffix}"
        await _download(document, name, path)
        try:
            await req.edit(progress, views.checking(name))
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
            raise UserFacingError(
                _(
                    "I couldn't check {name}: {exc}",
                    name=name,
                    exc=exc,
                )
            ) from None


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
                _(
                    "Telegram did not answer while I fetched {name} ({message}): send the file again in a "
                    "minute.",
                    name=name,
                    message=exc.message,
                )
            ) from None
        raise UserFacingError(
            _(
                "Telegram would not hand over {name} ({message}): send the file again.",
                name=name,
                message=exc.message,
            )
        ) from None
    if tg_file.file_size and tg_file.file_size > MAX_FILE_BYTES:
        raise FileTooBig(name, tg_file.file_size)
    if not tg_file.file_path:
        raise UserFacingError(
            _(
                "Telegram gave no address to download {name}: send it again.",
                name=name,
            )
        )
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
        and any(in_language(lang)(UPLOAD_PROMPT) in (reply_to.text or "") for lang in CHOICES)
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
            with speaking(req.language):
                await req.reply(
                    _(
                        "Only members with the operator role can upload number files. Ask a ccbot admin for "
                        "the role with /role operator.",
                    )
                )
        return
    await run_guarded(req, N_("number file"), handle_document)


# --- the buttons ---------------------------------------------------------------------------

_REFUSALS = {
    UploadResult.ALREADY_UPLOADED: N_(
        "This file is already on the platform; nothing more was done."
    ),
    UploadResult.ALREADY_DISCARDED: N_("This file was discarded; send it again to upload it."),
    UploadResult.IN_PROGRESS: N_(
        "This file is being uploaded right now; its card shows the result."
    ),
    UploadResult.NOTHING_TO_UPLOAD: N_(
        "This file has no valid numbers: there is nothing to upload."
    ),
    UploadResult.NOT_FOUND: STALE_BUTTON,
}


@button("up", Role.OPERATOR)
async def upload_button(req: Request) -> None:
    args = req.args
    if len(args) != 2 or not _UPLOAD_ID.fullmatch(args[0]) or args[1] not in ("go", "drop"):
        await req.toast(_(STALE_BUTTON), alert=True)
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
        await req.toast(_("Uploading…"))  # the press won; the card says how it ends

    try:
        outcome = await upload_service.upload_to_platform(
            db, req.runtime.client, upload_id, req.chat_id, on_start=started
        )
    except Exception:
        ref = secrets.token_hex(3)
        log.exception("upload #%s failed (ref %s)", upload_id, ref)
        upload, parts = await db.run(lambda s: upload_service.get_upload(s, upload_id))
        reason = _(
            "something went wrong on our side (reference {ref}).",
            ref=ref,
        )
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
        refusal = _(refusal)
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
