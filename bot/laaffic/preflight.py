"""Pre-flight checks: a value the platform would refuse is refused before anything is sent.

Each check raises InvalidRequest with a plain sentence (what is wrong and what it must be) built
from the numbers in `limits.py`, so the client, the bot's own checks and the simulator agree on
every limit. The bot may call these directly to refuse a value as soon as it is typed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.laaffic.errors import InvalidRequest
from bot.laaffic.limits import (
    AGENT_BATCH_MAX,
    CALLOUT_RATE_MAX,
    CALLOUT_RATE_MIN,
    CCODE_RE,
    DISPLAY_NUM_MAX,
    DISPLAY_NUM_RE,
    GROUP_NAME_MAX,
    GROUP_NAME_MIN,
    PAGE_SIZE_MAX,
    REMARK_MAX,
    RINGING_TIME_MAX,
    RINGING_TIME_MIN,
    UPLOAD_FILE_NAME_MAX,
    UPLOAD_FILE_NAME_MIN,
)


def require(condition: bool, sentence: str) -> None:
    """Refuse with `sentence` unless `condition` holds."""
    if not condition:
        raise InvalidRequest(sentence)


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_page(page: int, size: int) -> None:
    require(_whole(page) and page >= 1, f"The page number must be 1 or more, not {page!r}.")
    require(
        _whole(size) and 1 <= size <= PAGE_SIZE_MAX,
        f"The page size must be between 1 and {PAGE_SIZE_MAX}, not {size!r}.",
    )


def check_group_name(group_name: str) -> None:
    require(
        GROUP_NAME_MIN <= len(group_name) <= GROUP_NAME_MAX,
        f"The group name {group_name!r} has {len(group_name)} characters; it must have "
        f"{GROUP_NAME_MIN} to {GROUP_NAME_MAX}.",
    )


def check_display_num(display_num: str | None) -> None:
    if display_num is not None:
        require(
            bool(DISPLAY_NUM_RE.match(display_num)),
            f"The caller ID {display_num!r} must be 1 to {DISPLAY_NUM_MAX} letters or digits "
            "(A-Z, a-z, 0-9).",
        )


def check_ccode(ccode: str | None) -> None:
    if ccode is not None:
        require(
            bool(CCODE_RE.match(ccode)),
            f"The country code {ccode!r} must be the calling code in digits, such as 91.",
        )


def check_remark(remark: str | None) -> None:
    if remark is not None:
        require(
            len(remark) <= REMARK_MAX,
            f"The remark has {len(remark)} characters; at most {REMARK_MAX} fit.",
        )


def check_callout_rate(rate: int | None) -> None:
    if rate is not None:
        require(
            _whole(rate) and CALLOUT_RATE_MIN <= rate <= CALLOUT_RATE_MAX,
            f"The call-out rate (numbers dialled per free agent) must be {CALLOUT_RATE_MIN} or "
            f"more and at most {CALLOUT_RATE_MAX}, not {rate!r}.",
        )


def check_ringing_time(seconds: int | None) -> None:
    if seconds is not None:
        require(
            _whole(seconds) and RINGING_TIME_MIN <= seconds <= RINGING_TIME_MAX,
            f"The maximum ringing time must be {RINGING_TIME_MIN} to {RINGING_TIME_MAX} seconds, "
            f"not {seconds!r}.",
        )


def check_agent_count(count: int) -> None:
    require(
        _whole(count) and 1 <= count <= AGENT_BATCH_MAX,
        f"The number of agents must be 1 or more and at most {AGENT_BATCH_MAX} at a time, "
        f"not {count!r}.",
    )


def check_upload_file_name(file_name: str) -> None:
    require(
        UPLOAD_FILE_NAME_MIN <= len(file_name) <= UPLOAD_FILE_NAME_MAX,
        f"The file name {file_name!r} has {len(file_name)} characters; the platform needs "
        f"{UPLOAD_FILE_NAME_MIN} to {UPLOAD_FILE_NAME_MAX}. Rename the file.",
    )


def check_aware(moment: datetime, what: str) -> datetime:
    """A time the client will write in the platform's zone: it must say which instant it is."""
    require(
        moment.tzinfo is not None and moment.utcoffset() is not None,
        f"The {what} ({moment.isoformat(sep=' ')}) has no time zone, so it could mean several "
        "instants; give a time with its zone.",
    )
    return moment


def check_window(start: datetime, end: datetime, what: str, max_days: int | None = None) -> None:
    """`start` to `end` (both aware) in order, and at most `max_days` long."""
    require(start <= end, f"The start of the {what} must be before its end.")
    if max_days is not None:
        require(
            end - start <= timedelta(days=max_days),
            f"The {what} may span at most {max_days} days.",
        )
