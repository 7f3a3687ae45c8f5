"""Pre-flight checks: a value the platform would refuse is refused before anything is sent.

Each check raises InvalidRequest with a plain sentence (what is wrong and what it must be) built
from the numbers in `limits.py`, so the client, the bot's own checks and the simulator agree on
every limit. The bot may call these directly to refuse a value as soon as it is typed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.i18n import _
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
        _(
            "The group name {name} has {length} characters; it must have {low} to {high}.",
            name=repr(group_name),
            length=len(group_name),
            low=GROUP_NAME_MIN,
            high=GROUP_NAME_MAX,
        ),
    )


def check_display_num(display_num: str | None) -> None:
    if display_num is not None:
        require(
            bool(DISPLAY_NUM_RE.match(display_num)),
            _(
                "The caller ID {value} must be 1 to {high} letters or digits (A-Z, a-z, 0-9).",
                value=repr(display_num),
                high=DISPLAY_NUM_MAX,
            ),
        )


def check_ccode(ccode: str | None) -> None:
    if ccode is not None:
        require(
            bool(CCODE_RE.match(ccode)),
            _(
                "The country code {value} must be the calling code in digits, such as 91.",
                value=repr(ccode),
            ),
        )


def check_remark(remark: str | None) -> None:
    if remark is not None:
        require(
            len(remark) <= REMARK_MAX,
            _(
                "The remark has {length} characters; at most {high} fit.",
                length=len(remark),
                high=REMARK_MAX,
            ),
        )


def check_callout_rate(rate: int | None) -> None:
    if rate is not None:
        require(
            _whole(rate) and CALLOUT_RATE_MIN <= rate <= CALLOUT_RATE_MAX,
            _(
                "The call-out rate (numbers dialled per free agent) must be {low} or more and at "
                "most {high}, not {value}.",
                low=CALLOUT_RATE_MIN,
                high=CALLOUT_RATE_MAX,
                value=repr(rate),
            ),
        )


def check_ringing_time(seconds: int | None) -> None:
    if seconds is not None:
        require(
            _whole(seconds) and RINGING_TIME_MIN <= seconds <= RINGING_TIME_MAX,
            _(
                "The maximum ringing time must be {low} to {high} seconds, not {value}.",
                low=RINGING_TIME_MIN,
                high=RINGING_TIME_MAX,
                value=repr(seconds),
            ),
        )


def check_agent_count(count: int) -> None:
    require(
        _whole(count) and 1 <= count <= AGENT_BATCH_MAX,
        _(
            "The number of agents must be 1 or more and at most {high} at a time, not {value}.",
            high=AGENT_BATCH_MAX,
            value=repr(count),
        ),
    )


def check_upload_file_name(file_name: str) -> None:
    require(
        UPLOAD_FILE_NAME_MIN <= len(file_name) <= UPLOAD_FILE_NAME_MAX,
        _(
            "The file name {name} has {length} characters; the platform needs {low} to {high}. "
            "Rename the file.",
            name=repr(file_name),
            length=len(file_name),
            low=UPLOAD_FILE_NAME_MIN,
            high=UPLOAD_FILE_NAME_MAX,
        ),
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
