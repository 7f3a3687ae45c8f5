"""The number-file handler end to end (fake Bot API, simulator, SQLite): the progress message always
ends with a sentence, big files are refused however they arrive, the card stays one message and
shows what became of the file, and hostile names show literally."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import xlsxwriter
from sqlalchemy import text

from bot.app import BotService
from storage.models import NumberUpload
from tests.bot.conftest import GROUP, OPERATOR, BotHarness, make_settings
from tests.bot.test_upload_and_tasks import find_button, numbers_csv

TOO_BIG = (
    "Telegram lets bots download at most 20 MB. Split the list into smaller files (or save it as "
    ".csv, which is smaller) and send them one by one."
)
HOSTILE = '<b>&"x'
OTHER_OPERATOR = 2003


@pytest.fixture
async def local_bot(
    fake_telegram_factory, simulator, bot_database_url
) -> AsyncIterator[BotHarness]:
    """The bot behind a local Bot API server (`--local`): getFile has no 20 MB cap there."""
    telegram = fake_telegram_factory(download_limit=None)
    service = BotService(make_settings(telegram, simulator, bot_database_url))
    await service.start()
    try:
        yield BotHarness(service, telegram, simulator)
    finally:
        await service.stop()


async def prepare(bot: BotHarness) -> None:
    """A bound chat with two operators, national numbers read as +91."""
    await bot.bind(operators=(OPERATOR, OTHER_OPERATOR))
    reply = await bot.say(GROUP, OPERATOR, "/settings ccode 91")
    assert "91" in reply.text, reply.text


def message(bot: BotHarness, message_id: int) -> Any:
    return next(m for m in bot.telegram.messages(GROUP) if m.message_id == message_id)


async def final_text(bot: BotHarness, message_id: int, timeout: float = 20) -> str:
    """The progress message's text once it is no longer "Downloading…" or "Checking…"."""
    deadline = time.monotonic() + timeout
    while True:
        shown = message(bot, message_id).text or ""
        if not shown.startswith(("Downloading", "Checking")):
            return shown
        if time.monotonic() > deadline:
            raise AssertionError(f"the progress message was left at {shown!r}")
        await asyncio.sleep(0.05)


async def send_file(bot: BotHarness, name: str, content: bytes, **options: Any) -> int:
    """Send a document with the /upload caption; return the bot's progress message id."""
    mark = bot.telegram.mark()
    bot.telegram.send_document(GROUP, OPERATOR, name, content, caption="/upload", **options)
    sent = await bot.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.ok and c.chat_id == GROUP, 15, since=mark
    )
    return sent.result["message_id"]


async def deliver(bot: BotHarness, press: dict[str, Any]) -> Any:
    """Deliver a button press built earlier; return its answerCallbackQuery call. Telegram
    numbers updates as it sends them, so the press gets a fresh update id."""
    mark = bot.telegram.mark()
    bot.telegram.enqueue({key: value for key, value in press.items() if key != "update_id"})
    return await bot.telegram.wait_for(lambda c: c.method == "answerCallbackQuery", 10, since=mark)


def uploads_stored(bot: BotHarness) -> int:
    return bot.service.runtime.database.call(
        lambda s: len(list(s.exec(text("SELECT id FROM number_upload"))))
    )


async def test_a_file_over_20_mb_gets_one_sentence_whether_or_not_it_says_its_size(
    bot: BotHarness,
) -> None:
    await prepare(bot)
    # declared in the update: refused before anything is downloaded
    mark = bot.telegram.mark()
    bot.telegram.send_document(
        GROUP, OPERATOR, "big.csv", b"phone\n", caption="/upload", file_size=25 * 2**20
    )
    declared = await bot.answer(GROUP, mark)
    assert declared.text == f"big.csv is 25.0 MB; {TOO_BIG}"
    assert not bot.telegram.calls_of("getFile")
    # not declared: the Bot API's getFile refuses it, and the progress message says the same
    progress = await send_file(bot, "big.csv", b"9" * (21 * 2**20), declare_size=False)
    assert await final_text(bot, progress) == f"big.csv is larger than 20 MB; {TOO_BIG}"
    assert uploads_stored(bot) == 0


async def test_without_a_size_and_without_the_bot_api_cap_reading_stops_at_20_mb(
    local_bot: BotHarness,
) -> None:
    bot = local_bot
    await prepare(bot)
    content = b"phone\n" + b"919876543210\n" * (40 * 2**20 // 13)  # 40 MB of numbers
    progress = await send_file(bot, "huge.csv", content, declare_size=False)
    assert await final_text(bot, progress) == f"huge.csv is larger than 20 MB; {TOO_BIG}"
    (get_file,) = bot.telegram.calls_of("getFile")
    assert "file_size" not in get_file.result  # nobody said how big it was
    file_id = get_file.result["file_id"]
    loop = asyncio.get_running_loop()
    served, deadline = -1, loop.time() + 10
    while served != bot.telegram.served_bytes(file_id) and loop.time() < deadline:
        served = bot.telegram.served_bytes(file_id)
        await asyncio.sleep(0.3)
    assert served < 30 * 2**20, served  # 20 MB read, then a few MB in socket buffers, not 40
    assert uploads_stored(bot) == 0


async def test_a_small_file_without_a_size_is_checked_as_usual(local_bot: BotHarness) -> None:
    await prepare(local_bot)
    progress = await send_file(local_bot, "leads.csv", numbers_csv(), declare_size=False)
    card = await final_text(local_bot, progress)
    assert card.startswith("Number file check — upload #")
    assert "Rows: 14. Valid: 12. Invalid: 1. Duplicates removed: 1. Empty: 0." in card


async def test_telegram_refusing_the_file_ends_the_progress_message_with_a_sentence(
    bot: BotHarness,
) -> None:
    await prepare(bot)
    bot.telegram.fail_next(
        "getFile", 400, "Bad Request: wrong file_id or the file is temporarily unavailable"
    )
    progress = await send_file(bot, "leads.csv", numbers_csv())
    assert await final_text(bot, progress) == (
        "Telegram would not hand over leads.csv (Wrong file_id or the file is temporarily "
        "unavailable): send the file again."
    )
    bot.telegram.fail_next("getFile", 502)
    progress = await send_file(bot, "leads.csv", numbers_csv())
    shown = await final_text(bot, progress)
    assert shown.startswith("Telegram did not answer while I fetched leads.csv (")
    assert shown.endswith("): send the file again in a minute.")
    assert uploads_stored(bot) == 0


async def test_an_unexpected_failure_ends_the_progress_message_and_stores_nothing(
    bot: BotHarness,
) -> None:
    await prepare(bot)
    database = bot.service.runtime.database
    database.call(lambda s: s.execute(text("ALTER TABLE upload_part RENAME TO upload_part_gone")))
    progress = await send_file(bot, "leads.csv", numbers_csv())
    shown = await final_text(bot, progress)
    assert shown.startswith(
        "Something went wrong on our side while checking leads.csv, so the check did not finish. "
        "Send the file again; if it keeps failing, tell your admin the reference "
    )
    database.call(lambda s: s.execute(text("ALTER TABLE upload_part_gone RENAME TO upload_part")))
    assert uploads_stored(bot) == 0  # the report and its parts are stored together or not at all


def split_list_csv(count: int) -> bytes:
    return ("phone\n" + "".join(f"9198{i:08d}\n" for i in range(count))).encode()


async def test_a_split_list_says_so_once_and_labels_its_task_buttons_by_part(
    bot: BotHarness,
) -> None:
    await prepare(bot)
    progress = await send_file(bot, "big-list.csv", split_list_csv(100_001))
    card = await final_text(bot, progress, timeout=60)
    assert card.count("split") == 1, card
    assert (
        "The platform takes at most 100,000 numbers per file, so this list is split into 2 "
        "files: #1.1 (50,001 numbers), #1.2 (50,000 numbers)." in card
    )
    mark = bot.telegram.mark()
    await bot.press(GROUP, OPERATOR, progress, "up:1:go")
    await bot.telegram.wait_for_text(GROUP, "Uploaded upload", timeout=60, since=mark)
    card = message(bot, progress)
    assert card.text.count("split") == 1
    assert [b["text"] for b in card.buttons] == [
        "📞 Create task… (part 1, 50,001 numbers)",
        "📞 Create task… (part 2, 50,000 numbers)",
    ]
    assert len({b["callback_data"] for b in card.buttons}) == 2


async def test_a_retried_upload_replaces_the_failure_with_the_success(bot: BotHarness) -> None:
    await prepare(bot)
    progress = await send_file(bot, "leads.csv", numbers_csv())
    await final_text(bot, progress)
    bot.platform.call(
        bot.platform.simulator.inject_fault, "/v3/cc/preview/upload", "http_500", 0, 2
    )
    mark = bot.telegram.mark()
    await bot.press(GROUP, OPERATOR, progress, "up:1:go")
    await bot.telegram.wait_for_text(GROUP, "The upload failed", timeout=15, since=mark)
    failed = message(bot, progress)
    assert "0 of 1 file(s) reached the platform. Press Upload to try again." in failed.text
    assert [b["callback_data"] for b in failed.buttons] == ["up:1:go", "up:1:drop"]
    mark = bot.telegram.mark()
    await bot.press(GROUP, OPERATOR, progress, "up:1:go")
    await bot.telegram.wait_for_text(GROUP, "Uploaded upload", timeout=15, since=mark)
    card = message(bot, progress).text
    assert "failed" not in card and "try again" not in card
    assert card.count("Uploaded upload #1 to the platform") == 1
    assert card.count("Rows: 14.") == 1  # rendered anew, not appended to


def wide_xlsx(path, columns: int, invalid: int) -> bytes:
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Leads")
    header = ["phone"] + [f"Customer attribute <{i:03d}> & more" for i in range(1, columns)]
    sheet.write_row(0, 0, header)
    for r in range(1, 6):
        sheet.write_row(r, 0, [f"91987654{r:04d}"] + [f"v{r}-{c}" for c in range(1, columns)])
    for r in range(6, 6 + invalid):
        sheet.write_row(r, 0, [f"not a number <{r}> " + "x" * 60])
    workbook.close()
    return path.read_bytes()


async def test_a_report_with_300_columns_stays_one_message_with_its_key_lines(
    bot: BotHarness, tmp_path
) -> None:
    await prepare(bot)
    progress = await send_file(bot, "wide.xlsx", wide_xlsx(tmp_path / "w.xlsx", 300, 25))
    card = await final_text(bot, progress)
    sent = message(bot, progress)
    assert len(sent.sent_text) <= 4096 and len(card) <= 4096
    lines = card.splitlines()
    assert lines[0] == "Number file check — upload #1"
    assert lines[2] == "Rows: 30. Valid: 5. Invalid: 25. Duplicates removed: 0. Empty: 0."
    columns = next(line for line in lines if line.startswith("Callee information columns: "))
    assert columns.startswith("Callee information columns: Customer attribute <001> & more, ")
    assert columns.endswith(" more columns") and ", … and " in columns
    shown = columns.count("Customer attribute")
    assert columns.endswith(f", … and {299 - shown} more columns")
    assert "Every rejected row, with its reason, is in the rejected-rows file." in lines
    # after the upload the result is on the card too, under the counts
    mark = bot.telegram.mark()
    await bot.press(GROUP, OPERATOR, progress, "up:1:go")
    await bot.telegram.wait_for_text(GROUP, "Uploaded upload", timeout=15, since=mark)
    uploaded = message(bot, progress)
    assert len(uploaded.sent_text) <= 4096
    lines = uploaded.text.splitlines()
    assert lines[3] == "✓ Uploaded upload #1 to the platform:"
    assert "Callee information columns: " in uploaded.text


async def test_hostile_file_names_show_literally_everywhere(bot: BotHarness, tmp_path) -> None:
    await prepare(bot)
    name = f"{HOSTILE}.csv"
    progress = await send_file(bot, name, numbers_csv())
    downloading = next(
        c
        for c in bot.telegram.calls_of("sendMessage", GROUP)
        if c.ok and c.result["message_id"] == progress
    )
    assert downloading.result["text"] == f"Downloading {name}…"
    card = await final_text(bot, progress)
    assert f"File: {name}" in card
    caption = await bot.telegram.wait_for(lambda c: c.method == "sendDocument" and c.ok)
    assert caption.result["caption"] == f"Rejected rows of {name}, with the reason for each."
    # refused before the download: unsupported type, too big
    for bad, options, expected in (
        (f"{HOSTILE}.pdf", {}, f"I can't read {HOSTILE}.pdf: number files must be "),
        (f"{HOSTILE}.csv", {"file_size": 30 * 2**20}, f"{HOSTILE}.csv is 30.0 MB; "),
    ):
        mark = bot.telegram.mark()
        bot.telegram.send_document(GROUP, OPERATOR, bad, b"x", caption="/upload", **options)
        reply = await bot.answer(GROUP, mark)
        assert reply.ok and reply.result["text"].startswith(expected), reply.result["text"]
    # refused by the check
    progress = await send_file(bot, f"{HOSTILE}.xlsx", b"\x00\x01binary" * 100)
    shown = await final_text(bot, progress)
    assert shown.startswith(f"I couldn't check {HOSTILE}.xlsx: This file is named with .xlsx")


async def test_forged_or_stale_upload_buttons_are_refused_and_do_nothing(
    bot: BotHarness,
) -> None:
    await prepare(bot)
    progress = await send_file(bot, "leads.csv", numbers_csv())
    await final_text(bot, progress)
    for data in ("up:abc:go", "up:١:go", "up:1:burn", "up:1", "up:999:go", "up:999:drop"):
        # a modified client can send any callback data for a real button
        press = bot.telegram.build_button_press(GROUP, OPERATOR, progress, "up:1:go")
        press["callback_query"]["data"] = data
        answer = await deliver(bot, press)
        assert answer.params["text"] == "This button is no longer valid; nothing was done.", data
    assert bot.platform.simulator.requests["/v3/cc/preview/upload"] == 0
    status = bot.service.runtime.database.call(lambda s: s.get(NumberUpload, 1).status)
    assert status == "checked"


async def test_discard_then_upload_says_it_was_discarded(bot: BotHarness) -> None:
    await prepare(bot)
    progress = await send_file(bot, "leads.csv", numbers_csv())
    await final_text(bot, progress)
    # pressed by another operator while the card still showed [Upload]
    late = bot.telegram.build_button_press(GROUP, OTHER_OPERATOR, progress, "up:1:go")
    answer = await bot.press(GROUP, OPERATOR, progress, "up:1:drop")
    assert answer.params["text"] == "Discarded."
    await bot.telegram.wait_until(
        lambda: "✖ Discarded; nothing was uploaded." in (message(bot, progress).text or "")
    )
    assert message(bot, progress).buttons == []
    answer = await deliver(bot, late)
    assert answer.params["text"] == "This file was discarded; send it again to upload it."
    assert bot.platform.simulator.requests["/v3/cc/preview/upload"] == 0


async def test_a_second_press_on_an_uploaded_card_says_so_and_keeps_the_card(
    bot: BotHarness,
) -> None:
    await prepare(bot)
    progress = await send_file(bot, "leads.csv", numbers_csv())
    await final_text(bot, progress)
    late = bot.telegram.build_button_press(GROUP, OTHER_OPERATOR, progress, "up:1:go")
    mark = bot.telegram.mark()
    await bot.press(GROUP, OPERATOR, progress, "up:1:go")
    await bot.telegram.wait_for_text(GROUP, "Uploaded upload", timeout=15, since=mark)
    answer = await deliver(bot, late)
    assert answer.params["text"] == "This file is already on the platform; nothing more was done."
    card, _ = find_button(bot, GROUP, "nt:new:")
    assert card.message_id == progress
    assert bot.platform.simulator.requests["/v3/cc/preview/upload"] == 1


async def test_direction_controls_in_a_file_name_cannot_disguise_it(bot: BotHarness) -> None:
    """U+202E (right-to-left override) makes "leads\u202efdp.csv" show as "leadsvsc.pdf", and
    reorders the rest of the line; the bot shows (and stores) the name without such controls."""
    await prepare(bot)
    name = "leads\u202efdp\u2066.csv"
    progress = await send_file(bot, name, numbers_csv())
    downloading = next(
        c
        for c in bot.telegram.calls_of("sendMessage", GROUP)
        if c.ok and c.result["message_id"] == progress
    )
    assert downloading.result["text"] == "Downloading leadsfdp.csv…"
    card = await final_text(bot, progress)
    assert "File: leadsfdp.csv\n" in card
    caption = await bot.telegram.wait_for(lambda c: c.method == "sendDocument" and c.ok)
    assert caption.result["caption"] == "Rejected rows of leadsfdp.csv, with the reason for each."
    stored = bot.service.runtime.database.call(lambda s: s.get(NumberUpload, 1).original_name)
    assert stored == "leadsfdp.csv"
    # refused before the download, and by the check
    mark = bot.telegram.mark()
    bot.telegram.send_document(GROUP, OPERATOR, "a\u202eslx.pdf", b"x", caption="/upload")
    reply = await bot.answer(GROUP, mark)
    assert reply.result["text"].startswith("I can't read aslx.pdf: "), reply.result["text"]
    progress = await send_file(bot, "\u202e\u200f.csv", b"")
    assert (await final_text(bot, progress)).startswith("I couldn't check .csv: The file is empty")


async def test_a_rejected_rows_file_telegram_refuses_is_explained_and_the_check_is_kept(
    bot: BotHarness,
) -> None:
    await prepare(bot)
    bot.telegram.fail_next("sendDocument", 413, "Request Entity Too Large")
    progress = await send_file(bot, "leads.csv", numbers_csv())
    card = await final_text(bot, progress)
    assert "Rows: 14. Valid: 12. Invalid: 1. Duplicates removed: 1. Empty: 0." in card
    await bot.settled()
    said = [c.result["text"] for c in bot.telegram.calls_of("sendMessage", GROUP) if c.ok]
    assert said[-1] == (
        "The rejected-rows file of leads.csv could not be sent (Request Entity Too Large); the "
        "card above lists the first rejected rows and the check itself is kept. Send the file "
        "again to get the rejected rows."
    )
    assert not any("Something went wrong" in text for text in said)
    assert [b["callback_data"] for b in message(bot, progress).buttons] == ["up:1:go", "up:1:drop"]


async def test_a_cell_holding_rows_of_the_list_is_pointed_out_on_the_card(bot: BotHarness) -> None:
    await prepare(bot)
    content = (
        b'phone,name\n919876543210,Asha\n919876543211,"Ravi\n919876543212,Joe\n'
        b'919876543213,Meena"\n919876543214,Ali\n'
    )
    progress = await send_file(bot, "quotes.csv", content)
    lines = (await final_text(bot, progress)).splitlines()
    assert lines[2] == "Rows: 3. Valid: 3. Invalid: 0. Duplicates removed: 0. Empty: 0."
    assert (
        "Row 3 has a cell that runs over several lines, 2 of which look like rows of the list, so "
        'their numbers are not counted: a quote (") there is probably misplaced. Check that row, '
        "fix the quote and send the file again."
    ) in lines


async def test_a_progress_message_that_cannot_be_edited_does_not_stop_the_check(
    bot: BotHarness,
) -> None:
    """Someone deleted "Downloading…" (or Telegram refused the edit): the file is still checked
    and its card comes as a new message; it ended with "Something went wrong on our side"."""
    await prepare(bot)
    bot.telegram.fail_next(
        "editMessageText", 400, "Bad Request: message to edit not found", times=None
    )
    mark = bot.telegram.mark()
    await send_file(bot, "leads.csv", numbers_csv())
    card = await bot.telegram.wait_for_text(GROUP, "Number file check", timeout=20, since=mark)
    assert "Rows: 14. Valid: 12. Invalid: 1. Duplicates removed: 1. Empty: 0." in card.text
    await bot.settled()
    said = [c.result["text"] for c in bot.telegram.calls_of("sendMessage", GROUP) if c.ok]
    assert not any("Something went wrong" in text for text in said), said
    assert uploads_stored(bot) == 1
    shown = message(bot, card.result["message_id"])
    assert [b["callback_data"] for b in shown.buttons] == ["up:1:go", "up:1:drop"]


async def test_numbers_pasted_side_by_side_are_pointed_out_on_the_card(bot: BotHarness) -> None:
    await prepare(bot)
    progress = await send_file(bot, "pasted.txt", b"9876543210,9876543211,9876543212\n")
    lines = (await final_text(bot, progress)).splitlines()
    assert lines[2] == "Rows: 1. Valid: 1. Invalid: 0. Duplicates removed: 0. Empty: 0."
    assert (
        "Columns 'Column B', 'Column C' also hold phone numbers: only 'phone' is called, they are "
        "kept as callee information. To call them too, put every number in one column, one per "
        "row, and send the file again."
    ) in lines
