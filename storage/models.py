"""The tables. Platform IDs (voiceGroupId, keyId, taskId, callSessionId, callId) are the keys."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Index, LargeBinary, Text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


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


class UploadStatus(StrEnum):
    """What became of a number file (NumberUpload.status); the values are what is stored."""

    CHECKED = "checked"  # checked and stored, waiting for [Upload] or [Discard]
    EMPTY = "empty"  # checked, no valid number: nothing to upload
    UPLOADING = "uploading"  # one press claimed it; its parts are being sent
    UPLOADED = "uploaded"  # every part is on the platform
    FAILED = "failed"  # the last attempt failed; [Upload] may be pressed again
    DISCARDED = "discarded"  # [Discard] pressed: nothing is uploaded


class NumberUpload(SQLModel, table=True):
    """A number file dropped into a chat: its check report and what became of it."""

    __tablename__ = "number_upload"

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    original_name: str = Field(max_length=256)
    # UploadStatus: checked → uploading → uploaded | failed, failed → uploading (a retry),
    # checked | failed → discarded; empty (nothing valid) stays empty.
    status: str = Field(default=UploadStatus.CHECKED, max_length=16)
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
    """A calling task submitted from a chat (taskId is the platform's)."""

    __tablename__ = "call_task"

    task_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    upload_part_id: int | None = Field(default=None, foreign_key="upload_part.id")
    task_type: int = 0
    voice_group_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    callout_rate: int | None = None
    max_ringing_time: int | None = None
    remark: str | None = Field(default=None, max_length=64)
    file_name: str | None = Field(default=None, max_length=64)
    app_id: str | None = Field(default=None, max_length=64)
    created_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)
    last_status: int | None = None


class TaskDraft(SQLModel, table=True):
    """The guided /newtask flow; its idempotency key makes a double submit create one task."""

    __tablename__ = "task_draft"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    upload_part_id: int | None = Field(default=None, foreign_key="upload_part.id")
    step: str = Field(default="type", max_length=32)
    task_type: int | None = None
    voice_group_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    callout_rate: int | None = None
    max_ringing_time: int | None = None
    remark: str | None = Field(default=None, max_length=64)
    # draft → submitting → submitted | failed | cancelled
    status: str = Field(default="draft", max_length=16)
    task_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    message_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class PendingAction(SQLModel, table=True):
    """A destructive action waiting for its confirmation button (cancel, rate, re-run, unbind)."""

    __tablename__ = "pending_action"

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(max_length=32)
    payload: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    # pending → done | cancelled
    status: str = Field(default="pending", max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
