"""What members type about tasks, checked before anything is stored or sent to the platform.

Numbers are ASCII digits only (`str.isdigit()` lets "²" and "٣" through, and `int("٣")` is 3) and
bounded to their real range, so an absurd id is a sentence, not a database overflow. Limits come
from `bot.laaffic.limits`. Every error is a plain-text `UserFacingError`; the handler guard escapes
it. A usage mistake names its command (`UsageError(command="newtask")`) and the guard adds the usage
and example from the command catalogue (`bot/handlers/catalogue.py`), as for every command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.args import split_args_marked
from bot.errors import UsageError, UserFacingError
from bot.i18n import _
from bot.laaffic import limits
from bot.laaffic.models import TaskType

_ASCII_DIGITS = re.compile(r"[0-9]+")

# Our own autoincrement keys (uploads, drafts, confirmations) are 32-bit integers on PostgreSQL.
ROW_ID_MAX = 2**31 - 1
# The platform makes at most a few parts of one upload (100,000 numbers each).
UPLOAD_PART_MAX = 999


def shown(text: str, length: int = 20) -> str:
    """A member's text quoted back in an error, cut so a pasted essay stays one line."""
    text = " ".join(text.split())
    return text if len(text) <= length else f"{text[: length - 1]}…"


def whole_number(text: str, low: int, high: int) -> int | None:
    """`text` as an integer in [low, high], or None. ASCII digits only, no sign, no spaces inside."""
    text = text.strip()
    if not _ASCII_DIGITS.fullmatch(text) or len(text.lstrip("0")) > len(str(high)):
        return None
    value = int(text)
    return value if low <= value <= high else None


def parse_task_id(text: str, usage: str = "") -> int:
    task_id = whole_number(text, 1, limits.PLATFORM_ID_MAX)
    if task_id is None:
        raise UsageError(
            _(
                "“{shown}” is not a task id: a task id is a whole number written with the digits 0–9, "
                "like 5000123. /tasks lists this chat's tasks.",
                shown=shown(text),
            )
            + (f"\n{usage}" if usage else "")
        )
    return task_id


def parse_rate(text: str) -> int:
    rate = whole_number(text, limits.CALLOUT_RATE_MIN, limits.CALLOUT_RATE_MAX)
    if rate is None:
        raise UserFacingError(
            _(
                "The call-out rate is a whole number from {callout_rate_min} to {callout_rate_max} "
                "(numbers dialled at once per available agent); “{shown}” is not.",
                callout_rate_min=limits.CALLOUT_RATE_MIN,
                callout_rate_max=limits.CALLOUT_RATE_MAX,
                shown=shown(text),
            )
        )
    return rate


def parse_ring(text: str) -> int:
    seconds = whole_number(text, limits.RINGING_TIME_MIN, limits.RINGING_TIME_MAX)
    if seconds is None:
        raise UserFacingError(
            _(
                "The maximum ringing time is a whole number of seconds from {ringing_time_min} to "
                "{ringing_time_max}; “{shown}” is not.",
                ringing_time_min=limits.RINGING_TIME_MIN,
                ringing_time_max=limits.RINGING_TIME_MAX,
                shown=shown(text),
            )
        )
    return seconds


def check_remark(text: str) -> str:
    remark = " ".join(text.split())  # one line: the platform shows it in a table cell
    if len(remark) > limits.REMARK_MAX:
        raise UserFacingError(
            _(
                "A remark is at most {remark_max} characters; yours has {count}. Shorten it and send "
                "it again.",
                remark_max=limits.REMARK_MAX,
                count=len(remark),
            )
        )
    return remark


@dataclass(frozen=True)
class UploadRef:
    upload_id: int
    part: int | None  # None: not said (fine when the upload has one part)


def parse_upload_ref(text: str) -> UploadRef:
    """`12`, `#12` or `12.2` (upload 12, part 2)."""
    head, dot, tail = text.strip().lstrip("#").partition(".")
    upload_id = whole_number(head, 1, ROW_ID_MAX)
    part = whole_number(tail, 1, UPLOAD_PART_MAX) if dot else None
    if upload_id is None or (dot and part is None):
        raise UserFacingError(
            _(
                "“{shown}” is not an upload number. Use the number from the file's report, like 12 (or "
                "12.2 for the second file of a split list).",
                shown=shown(text),
            )
        )
    return UploadRef(upload_id, part)


@dataclass(frozen=True)
class OneLineTask:
    ref: UploadRef
    task_type: TaskType
    group: str | None
    rate: int | None
    ring: int | None
    remark: str | None


def split_quoted(text: str) -> list[tuple[str, bool]]:
    """The words of the one-line form, each with whether it was quoted: the one splitter that
    every command uses (`bot.args`), so quoting works the same everywhere."""
    return split_args_marked(text)


def parse_one_line(text: str) -> OneLineTask:
    """The one-line form: `<upload> agents|auto [group] [rate=N] [ring=S] ["remark"]`.

    For `agents` the first free word is the group (quoted when it has spaces) and the rest is the
    remark. For `auto` the group is optional: an unquoted first word is the group, a quoted one the
    remark, and `group="…"` names a group with spaces.
    """
    words = split_quoted(text)
    if len(words) < 2:
        raise UsageError(command="newtask")
    ref = parse_upload_ref(words[0][0])
    kind = words[1][0].lower()
    if kind in ("agents", "agent", "transfer"):
        task_type = TaskType.AGENT_GROUP_CALL
    elif kind in ("auto", "automatic"):
        task_type = TaskType.AUTOMATIC
    else:
        raise UsageError(
            _(
                "The task type is “agents” or “auto”, not “{shown}”.",
                shown=shown(kind),
            ),
            command="newtask",
        )
    group: str | None = None
    rate = ring = None
    remark_words: list[str] = []
    for word, quoted in words[2:]:
        key, eq, value = word.partition("=")
        key = key.lower() if eq and not quoted else ""
        if key == "rate":
            rate = parse_rate(value)
        elif key == "ring":
            ring = parse_ring(value)
        elif key == "group":
            group = value.strip()
        elif key == "remark":
            remark_words.append(value)
        elif (
            group is None
            and not remark_words
            and (task_type == TaskType.AGENT_GROUP_CALL or not quoted)
        ):
            group = word.strip()
        else:
            remark_words.append(word)
    if not group:
        group = None
    if task_type == TaskType.AGENT_GROUP_CALL and group is None:
        raise UsageError(
            _("A task with transfer to agents needs an agent group."), command="newtask"
        )
    if task_type == TaskType.AUTOMATIC and rate is not None:
        raise UserFacingError(
            _(
                "Automatic calling has no call-out rate (that is for transfer to agents): leave out "
                "rate=, or use “agents” with a group.",
            )
        )
    remark = check_remark(" ".join(remark_words)) if remark_words else None
    return OneLineTask(ref, task_type, group, rate, ring, remark)
