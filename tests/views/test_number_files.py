"""The number file's card: whole lines under any limit, the essentials first, every value
escaped; and the messages around it."""

from __future__ import annotations

from bot.numbers import NumberReport
from bot.numbers.report import RejectedRow
from bot.views import number_files
from bot.views.number_files import report_card
from storage.models import UploadPart, UploadStatus
from tests.fakes.telegram import parse_html

HOSTILE = '<b>&"x'


def test_the_card_keeps_whole_lines_and_the_essentials_first_at_any_limit() -> None:
    report = NumberReport(
        file_name=f"{HOSTILE}.xlsx",
        total_rows=45,
        valid=20,
        invalid=25,
        duplicates=0,
        empty=0,
        phone_column="phone",
        info_columns=[f"<col {i}> & " + "n" * 80 for i in range(300)],
        country_code="91",
        rejected_samples=[RejectedRow(i, "<b>" * 30, "not a phone number") for i in range(20)],
    )
    parts = [UploadPart(id=7, upload_id=1, part=1, file_name="x_abcdef.xls", rows=20, content=b"")]
    for limit in (400, 1000, 2500, 4000):
        text, _ = report_card(
            1, report, parts, UploadStatus.FAILED, "the platform <said> no", limit
        )
        assert len(text) <= limit
        plain, _ = parse_html(text)  # valid Telegram HTML: nothing was cut inside a tag or entity
        lines = plain.splitlines()
        assert lines[:5] == [
            "Number file check — upload #1",
            f"File: {HOSTILE}.xlsx",
            "Rows: 45. Valid: 20. Invalid: 25. Duplicates removed: 0. Empty: 0.",
            "✗ The upload failed: the platform <said> no",
            "0 of 1 file(s) reached the platform. Press Upload to try again.",
        ]
        columns = [line for line in lines if line.startswith("Callee information columns")]
        if columns:
            assert columns[0].endswith(" more columns")


def test_an_uploaded_split_list_offers_one_task_button_per_part() -> None:
    report = NumberReport(
        file_name="leads.csv", total_rows=3, valid=3, invalid=0, duplicates=0, empty=0,
        phone_column="phone", info_columns=[], country_code="91", rejected_samples=[],
    )  # fmt: skip
    parts = [
        UploadPart(id=7, upload_id=1, part=1, file_name="a_1.xls", rows=2, content=b""),
        UploadPart(id=8, upload_id=1, part=2, file_name="a_2.xls", rows=1, content=b""),
    ]
    text, rows = report_card(1, report, parts, UploadStatus.UPLOADED)
    plain, _ = parse_html(text)
    assert "✓ Uploaded upload #1 to the platform:" in plain
    assert rows == [
        [("📞 Create task… (part 1, 2 numbers)", "nt:new:7")],
        [("📞 Create task… (part 2, 1 number)", "nt:new:8")],
    ]


def test_the_messages_around_the_card_show_the_file_name_literally() -> None:
    for text in (
        number_files.downloading(HOSTILE),
        number_files.checking(HOSTILE),
        number_files.check_crashed(HOSTILE, "a1b2c3"),
        number_files.rejected_rows_caption(HOSTILE),
        number_files.rejected_rows_not_sent(HOSTILE, "Request Entity <Too> Large"),
        number_files.rejected_rows_too_big(HOSTILE),
    ):
        plain, entities = parse_html(text)
        assert HOSTILE in plain and entities == []
