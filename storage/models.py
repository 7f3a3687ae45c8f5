"""The tables. Platform IDs (voiceGroupId, keyId, taskId, callSessionId, callId) are the keys."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, Dialect, Index, LargeBinary, Text
from sqlalchemy.types import TypeDecorator
from sqlmodel import AutoString, Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class StrEnumColumn(TypeDecorator[StrEnum]):
    """A `StrEnum` stored as its plain value in a VARCHAR column, read back as the enum.

    SQLModel would otherwise make an SQL ENUM of the member *names*; the stored values must stay
    the strings earlier versions wrote ("draft", "pending", …).
    """

    impl = AutoString
    cache_ok = True

    def __init__(self, enum: type[StrEnum], length: int) -> None:
        super().__init__(length=length)
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self.enum(value)


class AuditEntry(SQLModel, table=True):
    """One platform API call: who asked, what was called, how it ended, how long it took."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_chat_at", "chat_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    user_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    command: str | None = Field(default=None, max_length=64)
    endpoint: str = Field(max_length=128)
    arguments: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    result_code: str | None = Field(default=None, max_length=16)
    ok: bool = False
    duration_ms: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class BoundChat(SQLModel, table=True):
    """A Telegram chat (or forum topic) an admin bound with /bind, and its defaults."""

    __tablename__ = "bound_chat"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    title: str | None = Field(default=None, max_length=256)
    chat_type: str = Field(default="group", max_length=32)
    # Forum groups: the topic where notifications go (None = the general chat).
    thread_id: int | None = None
    active: bool = True
    bound_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    bound_at: datetime = Field(default_factory=utcnow)
    ccode: str | None = Field(default=None, max_length=8)
    display_num: str | None = Field(default=None, max_length=20)
    timezone: str | None = Field(default=None, max_length=64)
    app_id: str | None = Field(default=None, max_length=64)


class ChatRole(SQLModel, table=True):
    """A member's role in a bound chat; members without a row are viewers."""

    __tablename__ = "chat_role"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    user_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    role: str = Field(max_length=16)
    granted_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    granted_at: datetime = Field(default_factory=utcnow)


class KnownUser(SQLModel, table=True):
    """Users the bot has seen, so /role can take an @username."""

    __tablename__ = "known_user"

    user_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    username: str | None = Field(default=None, max_length=64, index=True)
    full_name: str | None = Field(default=None, max_length=256)
    last_seen: datetime = Field(default_factory=utcnow)


class GroupRoute(SQLModel, table=True):
    """Where an agent group's ringing events and call records are relayed."""

    __tablename__ = "group_route"

    voice_group_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    group_name: str = Field(max_length=64, index=True)
    app_id: str | None = Field(default=None, max_length=64)
    active: bool = True
    created_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)


class NumberUpload(SQLModel, table=True):
    """A number file dropped into a chat: its check report and what became of it."""

    __tablename__ = "number_upload"

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    original_name: str = Field(max_length=256)
    # checked → uploading → uploaded | failed; or discarded
    status: str = Field(default="checked", max_length=16)
    report: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    ccode: str | None = Field(default=None, max_length=8)
    valid: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    uploaded_at: datetime | None = None
    message_id: int | None = None


class UploadPart(SQLModel, table=True):
    """One platform-ready file of an upload (more than one when over 100,000 numbers)."""

    __tablename__ = "upload_part"

    id: int | None = Field(default=None, primary_key=True)
    upload_id: int = Field(foreign_key="number_upload.id", index=True)
    part: int = 1
    file_name: str = Field(max_length=64)
    rows: int = 0
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    platform_file_path: str | None = Field(default=None, max_length=512)
    platform_total: int | None = None
    platform_same: int | None = None


class CallTask(SQLModel, table=True):
    """A calling task submitted from a chat (taskId is the platform's): which team it belongs to,
    and the settings a re-run sends again."""

    __tablename__ = "call_task"

    task_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    upload_part_id: int | None = Field(default=None, foreign_key="upload_part.id")
    task_type: int = 0
    voice_group_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    callout_rate: int | None = None  # kept current by a confirmed /rate
    max_ringing_time: int | None = None
    remark: str | None = Field(default=None, max_length=64)
    file_name: str | None = Field(default=None, max_length=64)
    app_id: str | None = Field(default=None, max_length=64)
    created_by: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True)
    )  # who pressed Submit
    created_at: datetime = Field(default_factory=utcnow)
    # Nothing writes this yet: the push relay is to record the last taskStatus it saw here.
    last_status: int | None = None


class DraftStatus(StrEnum):
    """Where a task draft stands. The move out of DRAFT is a compare-and-set (`claim_draft`), which
    is what makes a double submit create one task."""

    DRAFT = "draft"  # being filled in, or back after the platform refused it (`error` says why)
    SUBMITTING = "submitting"  # claimed by one Submit press; the platform call is under way
    SUBMITTED = "submitted"  # the platform created the task (`task_id`, when it said the id)
    UNKNOWN = "unknown"  # the answer was lost; nobody knows whether the task exists
    CANCELLED = "cancelled"  # dropped before submitting


class DraftStep(StrEnum):
    """The question the draft's card asks now; *_TEXT steps wait for a typed reply."""

    TYPE = "type"
    GROUP = "group"
    RATE = "rate"
    RATE_TEXT = "rate_text"
    RING = "ring"
    RING_TEXT = "ring_text"
    REMARK = "remark"
    REMARK_TEXT = "remark_text"
    CONFIRM = "confirm"

    @classmethod
    def _missing_(cls, value: object) -> DraftStep | None:
        # Earlier versions kept the group picker's page in the step ("group:2").
        if isinstance(value, str) and value.startswith("group:"):
            return cls.GROUP
        return None

    @property
    def is_typed(self) -> bool:
        return self in (DraftStep.RATE_TEXT, DraftStep.RING_TEXT, DraftStep.REMARK_TEXT)


class TaskDraft(SQLModel, table=True):
    """A calling task being put together in a chat (guided /newtask, or the one-line form).

    The draft is the team's: any operator of the chat may press its buttons. `user_id` is who
    started it and then whoever pressed Type… last: the member a typed answer is taken from.
    `message_id` is the draft's card, edited in place through every step.
    """

    __tablename__ = "task_draft"

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    upload_part_id: int | None = Field(default=None, foreign_key="upload_part.id")
    step: DraftStep = Field(
        default=DraftStep.TYPE, sa_type=StrEnumColumn(DraftStep, 32), nullable=False
    )
    task_type: int | None = None  # bot.laaffic.models.TaskType once chosen
    voice_group_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    callout_rate: int | None = None
    max_ringing_time: int | None = None  # 0: the platform's default
    remark: str | None = Field(default=None, max_length=64)  # "": none
    # draft → submitting → submitted | unknown, or back to draft when the platform refuses;
    # draft → cancelled.
    status: DraftStatus = Field(
        default=DraftStatus.DRAFT, sa_type=StrEnumColumn(DraftStatus, 16), nullable=False
    )
    task_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    message_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ActionKind(StrEnum):
    """What a confirmation button will do to a task."""

    CANCEL = "cancel"
    RATE = "rate"
    RERUN = "rerun"


class ActionStatus(StrEnum):
    PENDING = "pending"  # the question is open
    # The answer is a compare-and-set from PENDING, so two presses do it once. CONFIRMED means the
    # platform call was made (whatever it answered): it is never made a second time.
    CONFIRMED = "done"
    DECLINED = "cancelled"


class PendingAction(SQLModel, table=True):
    """A change to a task waiting for its confirmation button (cancel, rate, re-run)."""

    __tablename__ = "pending_action"

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: ActionKind = Field(sa_type=StrEnumColumn(ActionKind, 32), nullable=False)
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # ActionPayload
    # pending → done (confirmed) | cancelled (declined)
    status: ActionStatus = Field(
        default=ActionStatus.PENDING, sa_type=StrEnumColumn(ActionStatus, 16), nullable=False
    )
    created_at: datetime = Field(default_factory=utcnow)
