"""What the relay posts (ringing events, call records, digests, live task cards) and the daily
summary, rendered for a chat in another language: every text comes from the catalog (the pseudo
language wraps each one in ⟦ ⟧, so an unwrapped English sentence bypassed it), and a Chinese chat
reads Chinese with its values formatted the Chinese way."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import PSEUDO, speaking
from bot.relay.digest import DigestStats
from bot.reports.figures import DayFigures, Tally
from bot.views import task_cards
from bot.views.digests import digest_message
from bot.views.relayed import call_message, mask_shown_numbers, ringing_message
from bot.views.summaries import summary_text
from bot.views.values import ChatDisplay
from tests.bot.test_languages import english_left
from tests.fakes.telegram import parse_html
from tests.views.rows import as_call, as_ringing

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 4, 10, 35, tzinfo=UTC)


def _digest() -> DigestStats:
    stats = DigestStats(
        since=datetime(2026, 12, 4, 10, 0, tzinfo=UTC),
        until=datetime(2026, 12, 4, 10, 15, tzinfo=UTC),
        groups=["销售一组"],
        calls=12345,
        answered=6000,
        talk_seconds=3900,
        transfers=5,
        lost=1,
        failures=2,
        failure_reasons=Counter({0: 1, 7: 1}),
        cost=1.5,
        costed=3,
    )
    stats.missed["坐席1"] |= {"c1", "c2"}
    return stats


def _progress(**fields: object) -> task_cards.TaskProgress:
    values: dict = dict(
        task_id=5000123,
        state="calling",
        status=11,
        total=500,
        remaining=380,
        transferred=40,
        lost=3,
        answered=60,
        failed=20,
        remark="三月名单",
        updated_at=NOW,
    )
    values.update(fields)
    return task_cards.TaskProgress(**values)


def _summary() -> str:
    day = DayFigures(day=date(2026, 12, 3), calls=253, answered=252, costed=1, cost=0.5)
    day.by_group = {"一组": Tally(1, 1, 10), "二组": Tally(252, 251, 3900)}
    day.hangup_reasons = Counter({1: 200, 7: 3})
    return summary_text(
        day, DayFigures(day=date(2026, 12, 2), calls=100), zone_name="Asia/Shanghai"
    )


def _rendered(language: str) -> list[str]:
    display = ChatDisplay(zone=ZONE, language=language)
    ringing = as_ringing(
        received_at=NOW,
        sipAccount="坐席1",
        seatGroupName="销售一组",
        called="919812345210",
        noAnswerSipList=["坐席2"],
        taskId=5000123,
        callinEventTime="2026-12-04 18:35:00",
    )
    call = as_call(
        received_at=NOW,
        called="919812345210",
        agentName="王五",
        agentGroupName="销售一组",
        callDuration=3900,
        callStartTime="2026-12-03 17:00:00",
        hangupReason=7,
        hangingDirection=0,
        calledInfo="张三，金卡",
        ccode="91",
    )
    with speaking(language):
        summary = _summary()
    return [
        ringing_message(ringing, display),
        call_message(call, display),
        digest_message(_digest(), display),
        task_cards.live_card_message(_progress(), display),
        task_cards.live_card_message(
            _progress(state="cancelled", status=14, final=True, answered=None, failed=None), display
        ),
        summary,
    ]


def test_every_relayed_text_comes_from_the_catalog() -> None:
    for html in _rendered(PSEUDO):
        text, _ = parse_html(html)
        assert not english_left(text), text


def test_a_chinese_chat_reads_relayed_messages_in_chinese() -> None:
    ringing, call, digest, card, final, summary = (parse_html(h)[0] for h in _rendered("zh"))
    assert ringing.startswith("🔔 振铃：坐席 坐席1 · 销售一组")
    assert "被叫号码：+91 9812345210" in ringing and "已漏接的坐席：坐席2" in ringing
    assert "✅ 已接通" in call or "❌ 未接通" in call
    assert "通话时长：1小时5分" in call and "结束：被叫忙；客户挂断" in call
    assert "12月3日" in call  # a call of another day shows its date, the Chinese way
    assert "呼叫 12,345" in digest and "接通 6,000（48.6%）" in digest
    assert "外呼任务 5000123" in card and "外呼中" in card and "剩余 380" in card
    assert final.splitlines()[0] == "✖ 外呼任务 5000123 — 已取消 · 三月名单"
    assert summary.startswith("每日汇总 · 2026年12月3日 周四")
    assert "按坐席组" in summary and "通话结束方式" in summary


@pytest.mark.parametrize("language", ["en", "zh"])
def test_masking_a_waiting_message_works_in_each_language(language: str) -> None:
    ringing = as_ringing(received_at=NOW, called="919812345210")
    shown = ringing_message(ringing, ChatDisplay(language=language))
    masked = ringing_message(ringing, ChatDisplay(language=language, mask_numbers=True))
    assert mask_shown_numbers(shown) == masked
    call = as_call(received_at=NOW, called="919812345210", callType=1, ccode="91")
    display = ChatDisplay(language=language)
    assert mask_shown_numbers(call_message(call, display)) == call_message(
        call, replace(display, mask_numbers=True)
    )


# ---- the screen pop: every case the agent may read, in each language ---------------------------


def _pops() -> list[str]:
    from bot.views.screen_pops import EarlierCall, PopRingView, RingOutcome, pop_text

    history = [
        EarlierCall(datetime(2026, 12, 3, 9, 0, tzinfo=UTC), True, 3900, "坐席甲"),
        EarlierCall(None, True, 12, None),
        EarlierCall(NOW, False, 0, None),
    ]
    outcomes = [
        None,
        RingOutcome(missed=True),
        RingOutcome(missed=True, rang_next="坐席乙"),
        RingOutcome(ended=True, answered=True, agent="s_001", talk_seconds=83),
        RingOutcome(ended=True, answered=True, agent="坐席乙", talk_seconds=5),
        RingOutcome(ended=True, answered=True, hangup_reason=7),
        RingOutcome(ended=True, hangup_reason=None, voice_url="https://rec.example.com/a.mp3"),
    ]
    wide = [(f"列{i}", f"值{i}") for i in range(15)]
    rings = [
        PopRingView(
            "s_001",
            "919876543210",
            group_name=group,
            task_id=task,
            info=info,
            called_info=called_info,
            history=earlier,
            history_complete=complete,
            event_at=NOW,
            outcome=outcome,
        )
        for outcome in outcomes
        for group, task, info, called_info, earlier, complete in (
            ("销售一组", 5000123, [("姓名", "王伟")], None, history, True),
            (None, None, wide, None, [], False),
            (None, None, [], "客户资料", history, True),
            (None, None, [], None, [], True),  # the first call to the number
        )
    ]
    texts = [pop_text([ring], ZONE, NOW) for ring in rings]
    texts.append(pop_text((rings * 2)[:45], ZONE, NOW))  # merged: the newest in full, 40 lines, the rest
    texts.append(pop_text([], ZONE, NOW))
    return texts


def test_every_screen_pop_text_comes_from_the_catalog() -> None:
    with speaking(PSEUDO):
        texts = _pops()
    for html in texts:
        assert not english_left(parse_html(html)[0]), html


def test_an_agent_whose_telegram_is_chinese_reads_the_pop_in_chinese() -> None:
    with speaking("zh"):
        texts = _pops()
    joined = "\n".join(parse_html(html)[0] for html in texts)
    assert "你的电话正在振铃" in joined and "姓名：王伟" in joined and "另有 3 列" in joined
    assert "1小时5分" in joined and "此前刚振铃的来电（44）" in joined and "… 另有 4 个" in joined
    for html in texts:
        text = parse_html(html)[0]
        assert not english_left(text), text
