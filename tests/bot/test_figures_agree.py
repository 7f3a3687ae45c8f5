"""A finished sandbox task's card, the day's summary, the chat's digest and the day's export agree
number for number: called, answered, transferred, failed, lost waiting for an agent. The whole
loop over real HTTP: the simulator places the calls (some reach agents, some fail before any
agent rang, so their records name no agent group), the listener stores the pushes, the relay
attributes them to the chat, the fake Bot API shows what the chat got."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import timedelta

from python_calamine import CalamineWorkbook
from sqlmodel import func, select

from bot.relay.digest import SETTLE, run_digests
from storage.models import BoundChat, CallRecord, PushInbox, utcnow
from tests.bot.conftest import GROUP, OPERATOR, VIEWER, BotHarness
from tests.bot.test_relay_end_to_end import _point_pushes_at_the_bot
from tests.bot.test_task_life import submit_one_line, uploaded

COUNTERS = ("called", "answered", "transferred", "failed", "lost waiting for an agent")


def counters(text: str) -> dict[str, int]:
    """The counters a message shows, by the task card's words (absent: 0)."""
    plain = re.sub(r"<[^>]+>", "", text)
    found = {}
    for word in COUNTERS:
        match = re.search(rf"(?i)\b{word} ([0-9,]+)", plain)
        found[word] = int(match.group(1).replace(",", "")) if match else 0
    return found


def _count(bot: BotHarness, stmt) -> int:  # noqa: ANN001
    with bot.service.runtime.database.session() as s:
        return s.exec(stmt).one()


async def _settled(bot: BotHarness, called: int) -> None:
    """Until every call record of the task is stored and every push relayed (bounded)."""
    for _ in range(300):
        records = _count(bot, select(func.count()).select_from(CallRecord))
        pending = _count(
            bot, select(func.count()).select_from(PushInbox).where(PushInbox.status != "done")
        )
        if records >= called and not pending:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{records} of {called} records stored, {pending} pushes unrelayed")


async def test_a_finished_tasks_card_summary_digest_and_export_agree(fast_bot: BotHarness) -> None:
    bot = fast_bot
    _point_pushes_at_the_bot(bot)
    upload_id = await uploaded(bot)
    mark = bot.telegram.mark()
    task_id = await submit_one_line(bot, upload_id)
    final = await bot.telegram.wait_for(
        lambda c: (
            c.chat_id == GROUP
            and c.ok
            and task_id in (c.text or "")
            and "Final counters" in (c.text or "")
        ),
        60,
        since=mark,
    )
    card = counters(final.text)
    assert card["called"] > 0 and card["failed"] > 0, final.text
    await _settled(bot, card["called"])

    # The day's summary (today, in the chat's zone).
    mark = bot.telegram.mark()
    bot.telegram.send_command(GROUP, VIEWER, "/summary today")
    summary = await bot.telegram.wait_for(
        lambda c: (
            c.chat_id == GROUP
            and c.method in ("sendPhoto", "sendMessage")
            and "Summary" in (c.text or "")
        ),
        20,
        since=mark,
    )
    assert counters(summary.text) == card, (summary.text, final.text)

    # The chat's digest of the window the calls arrived in.
    db = bot.service.runtime.database

    def open_window(session):  # noqa: ANN001, ANN202
        row = session.get(BoundChat, GROUP)
        row.notify_calls, row.last_digest_at = "digest", utcnow() - timedelta(hours=1)
        session.add(row)

    db.call(open_window)
    zone = bot.service.settings.default_zone
    assert run_digests(db, default_zone=zone, now=utcnow() + SETTLE) == 1
    with db.session() as s:
        from storage.models import OutboxMessage

        digest = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "digest")).one()
    assert counters(digest.text) == card, (digest.text, final.text)

    # The day's export: one row per call, with the same outcomes.
    mark = bot.telegram.mark()
    bot.telegram.send_command(GROUP, OPERATOR, "/export today")
    doc = await bot.telegram.wait_for(lambda c: c.method == "sendDocument", 20, since=mark)
    rows = (
        CalamineWorkbook.from_filelike(io.BytesIO(doc.files["document"].content))
        .get_sheet_by_index(0)
        .to_python()
    )
    header, body = rows[0], rows[1:]
    column = {name: i for i, name in enumerate(header)}

    def yes(name: str) -> int:
        return sum(1 for row in body if row[column[name]] == "yes")

    exported = {
        "called": len(body),
        "answered": yes("answered"),
        "transferred": yes("transferred to an agent"),
        "failed": len(body) - yes("answered"),
        "lost waiting for an agent": yes("lost waiting for an agent"),
    }
    assert exported == card, (exported, final.text)
