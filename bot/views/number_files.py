"""The number file's card (the check's report, what became of the file, its buttons) and the
short messages around it: downloading, checking, the rejected-rows file.

The card is rendered anew from the stored report each time and shortened deliberately so that it
stays one message: the counts, what became of the file and the split come first; the details
follow while they fit.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.i18n import _
from bot.numbers import PLATFORM_MAX_ROWS, NumberReport
from bot.numbers.normalise import NO_COUNTRY_CODE
from bot.render import MESSAGE_LIMIT, code, esc
from bot.views.keyboards import Keyboard
from storage.models import UploadPart, UploadStatus

_SHOWN_NAME = 60  # characters of a file or column name shown on the card
_COLUMNS_BUDGET = 1200  # of the card's characters, for the column names: the rest is for rows


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
        lines = [
            _(
                "✓ Uploaded upload #{upload_id} to the platform:",
                upload_id=upload_id,
            )
        ]
        for p in parts:
            total = f"{p.platform_total:,}" if p.platform_total is not None else "?"
            same = f"{p.platform_same:,}" if p.platform_same is not None else "?"
            lines.append(
                _(
                    "{label} {file_name}: the platform counted {total} number(s), {same} duplicate(s).",
                    label=_label(upload_id, p, len(parts)),
                    file_name=code(p.file_name),
                    total=total,
                    same=same,
                )
            )
        return lines
    if status == UploadStatus.FAILED:
        done = sum(1 for p in parts if p.platform_file_path)
        why = (
            _(
                "✗ The upload failed: {reason}",
                reason=esc(reason),
            )
            if reason
            else _("✗ The last upload failed.")
        )
        return [
            why,
            _(
                "{done} of {count} file(s) reached the platform. Press Upload to try again.",
                done=done,
                count=len(parts),
            ),
        ]
    if status == UploadStatus.DISCARDED:
        return [_("✖ Discarded; nothing was uploaded.")]
    if status == UploadStatus.UPLOADING:
        return [_("⏳ Uploading to the platform…")]
    return []


def _split_line(upload_id: int, parts: Sequence[UploadPart]) -> str | None:
    if len(parts) < 2:
        return None
    each = ", ".join(f"#{upload_id}.{p.part} ({_plural(p.rows, 'number')})" for p in parts)
    return _(
        "The platform takes at most {platform_max_rows} numbers per file, so this list is "
        "split into {count} files: {each}.",
        platform_max_rows=f"{PLATFORM_MAX_ROWS:,}",
        count=len(parts),
        each=each,
    )


def _columns_line(names: Sequence[str], budget: int) -> str | None:
    """The callee information columns, as many as fit in `budget` characters, then a count."""
    head = _("Callee information columns: ")
    if not names:
        return head + "none"
    shown: list[str] = []
    length = len(head)
    for i, name in enumerate(names):
        piece = esc(_short(name))
        rest = len(names) - i - 1
        tail = (
            len(
                _(
                    ", … and {rest} more columns",
                    rest=f"{rest:,}",
                )
            )
            if rest
            else 0
        )
        if length + len(piece) + 2 + tail > budget:
            break
        shown.append(piece)
        length += len(piece) + 2
    rest = len(names) - len(shown)
    if not shown:
        line = f"{head}{_plural(len(names), 'column')}"
        return line if len(line) <= budget else None
    more = (
        _(
            ", … and {rest} more column{value}",
            rest=f"{rest:,}",
            value="s" if rest != 1 else "",
        )
        if rest
        else ""
    )
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
    sheet = (
        _(
            ", sheet {repr}",
            repr=esc(repr(report.sheet_name)),
        )
        if report.sheet_name
        else ""
    )
    lines = [
        _(
            "<b>Number file check</b> — upload #{upload_id}",
            upload_id=upload_id,
        ),
        _(
            "File: {short}{sheet}",
            short=esc(_short(report.file_name, 120)),
            sheet=sheet,
        ),
        esc(report.counts_line()),
        *_status_lines(upload_id, status, parts, reason),
    ]
    split = _split_line(upload_id, parts)
    if split:
        lines.append(split)
    if report.valid == 0:
        lines.append(
            _("No valid numbers, so there is nothing to upload. Fix the file and send it again.")
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
    add(
        _(
            "Phone column: {short}",
            short=esc(_short(report.phone_column)),
        )
    )
    add(_columns_line(report.info_columns, min(limit - used - 1, _COLUMNS_BUDGET)))
    other = report.other_phones_line()
    add(esc(_short(other, 600)) if other else None)
    add(esc(report.country_line()))
    if _needs_country_code(report):
        add(
            _(
                "National numbers need a country code: set this chat's with <code>/settings ccode "
                "91</code> (your country's code) and send the file again.",
            )
        )
    for line in report.cleanups.lines():
        add(esc(line))
    if report.rejected:
        add(_("Every rejected row, with its reason, is in the rejected-rows file."))
    if report.rejected_samples:
        samples = report.rejected_samples
        # Room for the heading and the line saying how many were left out.
        reserve = 80
        if add(esc(report.sample_heading())):
            for i, sample in enumerate(samples):
                line = esc(sample.line())
                if used + 1 + len(line) + reserve > limit:
                    add(
                        _(
                            "  … and {value} more shown in the rejected-rows file.",
                            value=len(samples) - i,
                        )
                    )
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
            [
                (_("⬆ Upload to platform"), f"up:{upload_id}:go"),
                (_("✖ Discard"), f"up:{upload_id}:drop"),
            ]
        ]
    if status == UploadStatus.UPLOADED:
        if len(parts) == 1:
            return [[(_("📞 Create task…"), f"nt:new:{parts[0].id}")]]
        return [
            [
                (
                    _(
                        "📞 Create task… (part {part}, {plural})",
                        part=p.part,
                        plural=_plural(p.rows, "number"),
                    ),
                    f"nt:new:{p.id}",
                )
            ]
            for p in parts
        ]
    return None


# --- around the card ----------------------------------------------------------------------


def downloading(name: str) -> str:
    return _(
        "Downloading {name}…",
        name=esc(name),
    )


def checking(name: str) -> str:
    return _(
        "Checking the numbers in {name}…",
        name=esc(name),
    )


def check_crashed(name: str, ref: str) -> str:
    """The check failed on our side; `ref` finds it in the log."""
    return _(
        "Something went wrong on our side while checking {name}, so the check did not finish. "
        "Send the file again; if it keeps failing, tell your admin the reference {ref}.",
        name=esc(name),
        ref=esc(ref),
    )


def rejected_rows_caption(name: str) -> str:
    return _(
        "Rejected rows of {name}, with the reason for each.",
        name=esc(name),
    )


def rejected_rows_not_sent(name: str, telegram_said: str) -> str:
    return _(
        "The rejected-rows file of {name} could not be sent ({telegram_said}); the card above "
        "lists the first rejected rows and the check itself is kept. Send the file again to "
        "get the rejected rows.",
        name=esc(name),
        telegram_said=esc(telegram_said),
    )


def rejected_rows_too_big(name: str) -> str:
    return _(
        "The rejected-rows file of {name} would be larger than the 50 MB Telegram lets a bot "
        "send, so it was not sent; the card above lists the first invalid rows. Fix those, or "
        "split the file, and send it again to get the rest.",
        name=esc(name),
    )
