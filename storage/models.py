"""The tables. Platform IDs (voiceGroupId, keyId, taskId, callSessionId, callId) are the keys."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Dialect,
    Float,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator
from sqlmodel import AutoString, Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A time read back from the database, timezone-aware: SQLite gives naive values, in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def json_strings(raw: str | None, *, skip_empty: bool = False) -> list[str]:
    """A list kept as JSON text (a ringing event's `no_answer_sip_list`) read back as strings,
    without the empty entries with `skip_empty`. A value that is not a JSON list reads as no
    entries: one odd row must not stop the relay or a summary."""
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return [str(v) for v in value if v or not skip_empty] if isinstance(value, list) else []


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a table model, for statements on plain rows (bulk inserts, upserts)."""
    # SQLAlchemy's declarative mapping sets __table__ on the class; SQLModel does not declare it.
    return model.__table__  # type: ignore[attr-defined]


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
    # Relay settings (/notify, /mute, /settings mask).
    notify_ringing: bool = True
    # each | answered | digest | off (NotifyCalls)
    notify_calls: str = Field(default="digest", max_length=16)
    muted_until: datetime | None = None
    mask_numbers: bool = False
    # The language of the chat's messages (bot/i18n.py: en, zh); None: English, or in a private
    # chat the user's own Telegram language. Set at /bind from the binding admin's language.
    language: str | None = Field(default=None, max_length=8)
    last_digest_at: datetime | None = None
    # Daily summary (/schedule): local time "HH:MM" in the chat's one zone (`timezone`, else
    # DEFAULT_TIMEZONE: bot.config.chat_zone); summary_enabled False after /schedule off.
    summary_time: str = Field(default="09:00", max_length=5)
    # What an older version kept as the summaries' own zone: migration 0004a moved it into
    # `timezone`; nothing writes it any more.
    summary_timezone: str | None = Field(default=None, max_length=64)
    summary_enabled: bool = True


class ChatRole(SQLModel, table=True):
    """A member's role in a bound chat; members without a row are viewers."""

    __tablename__ = "chat_role"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    user_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    role: str = Field(max_length=16)
    granted_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    granted_at: datetime = Field(default_factory=utcnow)


class KnownUser(SQLModel, table=True):
    """Users the bot has seen, so /role can take an @username (and their private chat's
    language is known when the bot writes there unasked)."""

    __tablename__ = "known_user"

    user_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    username: str | None = Field(default=None, max_length=64, index=True)
    full_name: str | None = Field(default=None, max_length=256)
    last_seen: datetime = Field(default_factory=utcnow)
    # Telegram's language_code as the user's app last sent it ("zh-hans"): the language of the
    # messages the bot sends into their private chat on its own (screen pops), bot/i18n.py.
    language_code: str | None = Field(default=None, max_length=16)


class GroupRoute(SQLModel, table=True):
    """Where an agent group's ringing events and call records are relayed.

    A group may be routed to several chats (the team's and the managers'), once per chat. The group
    name is what pushes carry (`seatGroupName` / `agentGroupName`), so routing matches on it.
    """

    __tablename__ = "group_route"
    __table_args__ = (
        UniqueConstraint("voice_group_id", "chat_id", name="uq_group_route_group_chat"),
    )

    id: int | None = Field(default=None, primary_key=True)
    voice_group_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
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
    # The last taskStatus the task card poller saw.
    last_status: int | None = None
    # The calling number the task was submitted with (the chat's /settings displaynum then): a
    # call record whose caller differs is not this task's call (bot/relay/routing.py).
    display_num: str | None = Field(default=None, max_length=20)


class TaskCallee(SQLModel, table=True):
    """One callee of a submitted task, from the number file it was created from: written when the
    task is submitted (bot/services/task_callees.py), kept for the task's life plus RETENTION_DAYS.

    The relay finds the chat of a call record that names no agent group and no task through it
    (a called number dialled by one of the chat's tasks around that time); the row keeps the
    callee's information with its column names too, for a screen pop to show. The primary key
    answers "this task, this number"; the index answers "which tasks dialled this number".
    """

    __tablename__ = "task_callee"
    __table_args__ = (Index("ix_task_callee_digits", "callee_digits", "task_id"),)

    task_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    callee_digits: str = Field(max_length=32, primary_key=True)  # country code included
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    row: int = 0  # the row in the platform file (1 = the first under the header)
    # {"column name": "value", …} of the callee information columns, JSON.
    info: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)  # when the task was submitted


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


# ---- the push relay ------------------------------------------------------------------------------


class InboxStatus(StrEnum):
    PENDING = "pending"  # stored, answered 200, not yet relayed
    DONE = "done"  # parsed into typed rows and routed into the outbox
    FAILED = "failed"  # could not be processed after its attempts (kept for inspection)


class PushInbox(SQLModel, table=True):
    """A push exactly as the platform sent it, stored before the listener answers 200.

    The relay worker claims rows (compare-and-set on status + lease, or FOR UPDATE SKIP LOCKED on
    PostgreSQL), so several replicas can share the table; a lease that expires is taken over.
    """

    __tablename__ = "push_inbox"
    __table_args__ = (Index("ix_push_inbox_status_id", "status", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # ringing | call (PushKind)
    body: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(default_factory=utcnow)
    status: str = Field(default=InboxStatus.PENDING, max_length=16)
    attempts: int = 0
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = None
    processed_at: datetime | None = None
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class DeadLetter(SQLModel, table=True):
    """A body the listener refused (not JSON, not a known push shape, wrong types), kept for
    inspection; bounded, the oldest dropped past a limit."""

    __tablename__ = "dead_letter"

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = Field(default_factory=utcnow, index=True)
    path: str = Field(max_length=256)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    content_type: str | None = Field(default=None, max_length=128)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class RingingEvent(SQLModel, table=True):
    """One agent-ringing event (push P2). Unique by (callId, sipAccount, callinEventTime, type):
    the platform's retries and repeated events are stored once."""

    __tablename__ = "ringing_event"
    __table_args__ = (
        Index("ix_ringing_event_event_at", "event_at"),
        Index("ix_ringing_event_group_event_at", "group_name", "event_at"),
        Index("ix_ringing_event_task", "task_id"),
        Index("ix_ringing_event_call", "call_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # "callId|sipAccount|callinEventTime|type" exactly as pushed (NULLs would defeat a UNIQUE).
    dedupe_key: str = Field(max_length=256, sa_column_kwargs={"unique": True})
    call_id: str | None = Field(default=None, max_length=64)
    event_type: int | None = None  # 1 group-call transfer, 2 call-center transfer, 3 API call
    task_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    called: str | None = Field(default=None, max_length=64)
    called_info: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    group_name: str | None = Field(default=None, max_length=128)
    sip_account: str | None = Field(default=None, max_length=128)
    no_answer_sip_list: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON
    event_at: datetime | None = None  # callinEventTime read in PLATFORM_TIMEZONE, kept in UTC
    received_at: datetime = Field(default_factory=utcnow)
    inbox_id: int | None = None
    extra: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # unknown fields, JSON


class CallRecord(SQLModel, table=True):
    """One call-center call record (push P1), unique by callSessionId across replicas."""

    __tablename__ = "call_record"
    __table_args__ = (
        Index("ix_call_record_start", "call_start_at"),
        Index("ix_call_record_group_start", "agent_group_name", "call_start_at"),
        Index("ix_call_record_called_digits", "called_digits", "call_start_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    call_session_id: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    call_id: str | None = Field(default=None, max_length=64)
    called: str | None = Field(default=None, max_length=64)
    # The callee's digits only (country code included), for /calls <number>.
    called_digits: str | None = Field(default=None, max_length=32)
    called_info: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    caller: str | None = Field(default=None, max_length=64)
    ccode: str | None = Field(default=None, max_length=8)
    ccode_name: str | None = Field(default=None, max_length=64)
    agent_name: str | None = Field(default=None, max_length=128)
    agent_group_name: str | None = Field(default=None, max_length=128)
    agent_account: str | None = Field(default=None, max_length=128)
    call_duration: int = 0  # talk seconds
    answered: bool = False
    call_type: int | None = None  # 1 group call to agent, 2 inbound, 3 outbound
    hangup_code: str | None = Field(default=None, max_length=32)
    hangup_reason: int | None = None  # 0–9, platform-api.md §3.19
    hanging_direction: int | None = None  # 0 customer, 1 agent, 3 system
    labels: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON
    base_cost: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    cost: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    remark: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    call_start_at: datetime | None = None  # platform times read in PLATFORM_TIMEZONE, kept in UTC
    answer_at: datetime | None = None
    call_end_at: datetime | None = None
    voice_url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    received_at: datetime = Field(default_factory=utcnow)
    inbox_id: int | None = None
    extra: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # unknown fields, JSON


class CallChat(SQLModel, table=True):
    """A call record counted in a chat: decided once, by the relay, when it stored the record
    (bot/relay/routing.py `Router.call_chats`), so a past day keeps the chats it had that day.

    A record is counted once in each chat it is attributed to; a record with no row here is
    unattributed (shown to admins by /routes). Summaries read the rollups, which the same
    transaction keys by these chats; /export, /calls and digests read these rows.
    """

    __tablename__ = "call_chat"
    __table_args__ = (
        Index("ix_call_chat_chat_start", "chat_id", "call_start_at"),
        Index("ix_call_chat_chat_relayed", "chat_id", "relayed_at"),
    )

    call_record_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    call_start_at: datetime | None = None  # the record's, for a day's records of a chat
    relayed_at: datetime = Field(default_factory=utcnow)  # digests count by this


class OutboxStatus(StrEnum):
    PENDING = "pending"  # waiting for its turn (not_before) and a sender
    SENDING = "sending"  # claimed by a sender until lease_until
    SENT = "sent"
    MERGED = "merged"  # shown inside another message (merged_into)
    FAILED = "failed"  # given up after its attempts; counted and shown to admins
    # Taken back before its turn: the chat was muted, or switched that kind of message off.
    WITHDRAWN = "withdrawn"


class OutboxMessage(SQLModel, table=True):
    """A message the bot sends on its own (relays, digests, summaries, notices): stored before it
    is sent, marked sent with its Telegram message id after, so a restart resumes where it stopped.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_not_before", "status", "not_before"),
        # A chat's next message: the most urgent (lowest), then the oldest.
        Index("ix_outbox_chat_status_urgency_id", "chat_id", "status", "urgency", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    thread_id: int | None = None
    kind: str = Field(
        max_length=16
    )  # OutboxKind: ringing, call, digest, task_card, summary, notice
    text: str = Field(sa_column=Column(Text, nullable=False))  # HTML, escaped by the renderer
    photo: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    # Messages with the same edit_key edit one Telegram message in place (the live task card).
    edit_key: str | None = Field(default=None, max_length=64, index=True)
    # Which of a chat's waiting messages goes first: lowest first, then oldest (set by
    # bot.delivery.outbox.enqueue from the kind: a ringing event before call records).
    urgency: int = Field(
        default=3, sa_column=Column(SmallInteger, nullable=False, server_default="3")
    )
    status: str = Field(default=OutboxStatus.PENDING, max_length=16)
    attempts: int = 0
    not_before: datetime = Field(default_factory=utcnow)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    # When what it tells of happened (a ringing event's time on the platform), when known:
    # waiting messages merged into one are listed in this order, whatever order they came in.
    event_at: datetime | None = None
    sent_at: datetime | None = None
    telegram_message_id: int | None = None
    merged_into: int | None = None
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # A message sent as several Telegram messages (split text, photo then text): how many went,
    # so a retry or a restart continues with the next one instead of repeating them.
    parts_sent: int = 0
    failed_at: datetime | None = None  # when the sender gave up (status failed)
    # An inline keyboard sent with the message (Bot API InlineKeyboardMarkup as JSON), e.g. an
    # alert's buttons; an edit without one removes the message's keyboard, as on Telegram.
    reply_markup: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ChatPacing(SQLModel, table=True):
    """When the sender may next send to a chat, shared by every replica.

    `next_send_at` is the chat's relay schedule (one message per 1.5 s in a private chat, per
    3.75 s in a group; pushed later by a RetryAfter). The sender locks this row while it claims
    a chat's messages (FOR UPDATE SKIP LOCKED on PostgreSQL, a write first on SQLite), which
    also keeps one chat's messages in order across replicas. See bot/delivery/pacing.py.
    """

    __tablename__ = "chat_pacing"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    next_send_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class LiveMessage(SQLModel, table=True):
    """The Telegram message that an edit_key (e.g. "task:5000123") edits in place."""

    __tablename__ = "live_message"

    edit_key: str = Field(max_length=64, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    message_id: int
    updated_at: datetime = Field(default_factory=utcnow)


# ---- operations ----------------------------------------------------------------------------------


class Replica(SQLModel, table=True):
    """A running ccbot process, seen by the others: its heartbeat tells `/status` who is alive,
    and lets `ccbot run` refuse to poll Telegram while another replica already polls."""

    __tablename__ = "replica"

    replica_id: str = Field(max_length=64, primary_key=True)
    hostname: str = Field(default="", max_length=128)
    pid: int = 0
    version: str = Field(default="", max_length=32)
    telegram_mode: str = Field(default="polling", max_length=16)
    started_at: datetime = Field(default_factory=utcnow)
    last_seen: datetime = Field(default_factory=utcnow, index=True)
    is_leader: bool = False


# ---- daily summaries -----------------------------------------------------------------------------


class CallRollup(SQLModel, table=True):
    """Call records counted per chat, 15-minute bucket (UTC), agent group and hangup reason (a
    record once in each chat it is attributed to: `CallChat`).

    Kept up to date in the transaction that stores each new call record, so a day's summary reads
    a few thousand rollup rows instead of scanning a million records. 15 minutes because every
    time zone's offset is a multiple of it (Asia/Kolkata is UTC+5:30), so local hours and local
    days are exact unions of buckets. Empty strings and -1 stand for "not given" (a primary key
    cannot hold NULL). Agents are counted apart (`AgentRollup`): crossing agents with reasons
    would multiply the rows a summary reads.
    """

    __tablename__ = "call_rollup"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    bucket_start: datetime = Field(primary_key=True)
    group_name: str = Field(default="", max_length=128, primary_key=True)
    hangup_reason: int = Field(default=-1, primary_key=True)
    calls: int = 0  # dialled
    answered: int = 0  # by the callee
    talk_seconds: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    transfers: int = 0  # transferred to an agent: an agent answered
    lost: int = 0  # the callee hung up while agents' phones rang (no agent answered)
    failures: int = 0  # not answered by the callee (the reason is in hangup_reason)
    cost: float = Field(default=0.0, sa_column=Column(Float, nullable=False))
    costed: int = 0  # records that carried a cost


class AgentRollup(SQLModel, table=True):
    """Call records per chat, 15-minute bucket (UTC), agent group and agent, for the rankings."""

    __tablename__ = "agent_rollup"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    bucket_start: datetime = Field(primary_key=True)
    group_name: str = Field(default="", max_length=128, primary_key=True)
    agent_name: str = Field(default="", max_length=128, primary_key=True)
    calls: int = 0
    answered: int = 0
    talk_seconds: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class RingRollup(SQLModel, table=True):
    """Ringing per chat (the chats the event was relayed to), 15-minute bucket (UTC), group and
    agent: rings, and rings the agent missed
    (the agent is in a later event's noAnswerSipList of the same call, counted once per call:
    `RingMiss`)."""

    __tablename__ = "ring_rollup"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    bucket_start: datetime = Field(primary_key=True)
    group_name: str = Field(default="", max_length=128, primary_key=True)
    sip_account: str = Field(default="", max_length=128, primary_key=True)
    rings: int = 0
    missed: int = 0


class RingMiss(SQLModel, table=True):
    """An agent missed a call: one row per (callId, sipAccount), however many ringing events of
    the call list the agent in their noAnswerSipList.

    The transaction that stores the first such event claims the row (INSERT … ON CONFLICT DO
    NOTHING RETURNING) and counts the miss in `ring_rollup` only when it got it. Two replicas
    storing two events of the same call at the same moment therefore count one miss: on
    PostgreSQL the second INSERT waits for the first transaction and then finds the row (reading
    the call's earlier events instead would not see the other's uncommitted one). `missed_at` is
    the moment of that first event, for retention.
    """

    __tablename__ = "ring_miss"
    __table_args__ = (
        UniqueConstraint("call_id", "sip_account", name="uq_ring_miss_call_sip"),
        Index("ix_ring_miss_missed_at", "missed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)  # retention deletes in batches of ids
    call_id: str = Field(max_length=64)
    sip_account: str = Field(max_length=128)
    missed_at: datetime


class DailySummary(SQLModel, table=True):
    """A daily summary that was sent (or is being sent): one per chat and local day, which is what
    makes a restart, or a second replica, harmless."""

    __tablename__ = "daily_summary"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    local_date: date = Field(primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)
    late: bool = False
    outbox_id: int | None = None


# ---- screen pops ----


class AgentLink(SQLModel, table=True):
    """A SIP account linked to the Telegram user who answers it (`/link`, or `/iam` confirmed by
    an operator), for the screen pop: one user per SIP account, several accounts per user.

    `chat_id` is the team chat that linked it and `voice_group_id` the group the platform's agent
    list put the account in when it was linked: a ring pops only while that chat is bound, still
    routes that group, and has not shut the user out (`/role none`)."""

    __tablename__ = "agent_link"

    sip_account: str = Field(max_length=128, primary_key=True)
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    voice_group_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    group_name: str = Field(max_length=128)
    linked_by: int = Field(sa_column=Column(BigInteger, nullable=False))
    linked_at: datetime = Field(default_factory=utcnow)


class LinkRequestStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REFUSED = "refused"


class LinkRequest(SQLModel, table=True):
    """An agent's own `/iam <sipAccount>`: posted with [Confirm] [Refuse] into the chat of the
    team whose group holds the account; decided once, by an operator of that chat."""

    __tablename__ = "link_request"

    id: int | None = Field(default=None, primary_key=True)
    sip_account: str = Field(max_length=128)
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    voice_group_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    group_name: str = Field(max_length=128)
    status: str = Field(default=LinkRequestStatus.PENDING, max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    decided_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    decided_at: datetime | None = None


class PopRecipient(SQLModel, table=True):
    """A user who may get screen pops: whether Telegram lets the bot write to them (`started`:
    they sent /start in a private chat; `blocked`: Telegram answered that they blocked the bot)
    and whether they want pops (`/pop on|off`)."""

    __tablename__ = "pop_recipient"

    user_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    started: bool = False
    blocked: bool = False
    pops_on: bool = True
    updated_at: datetime = Field(default_factory=utcnow)


class ScreenPop(SQLModel, table=True):
    """One private message to an agent: one ring, or rings that came faster than the chat takes
    messages, merged. Its outbox rows carry the edit_key "pop:<id>"."""

    __tablename__ = "screen_pop"
    __table_args__ = (Index("ix_screen_pop_user_id", "user_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, index=True)


class PopRing(SQLModel, table=True):
    """One ring shown in a screen pop: what was shown (`facts`, JSON, fixed at the ring) and what
    became of it (`outcome`, JSON, from a later ring of the call or its call record)."""

    __tablename__ = "pop_ring"
    __table_args__ = (
        UniqueConstraint("call_id", "sip_account", "user_id", name="uq_pop_ring_call_sip_user"),
        Index("ix_pop_ring_pop", "pop_id"),
        Index("ix_pop_ring_received_at", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    pop_id: int
    user_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    call_id: str = Field(max_length=64)
    sip_account: str = Field(max_length=128)
    event_at: datetime | None = None
    received_at: datetime = Field(default_factory=utcnow)
    facts: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    outcome: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
# ---- alerts --------------------------------------------------------------------------------------


class AlertRule(SQLModel, table=True):
    """A chat's setting of one alert rule (bot/alerts/rules.py); no row: the rule's defaults."""

    __tablename__ = "alert_rule"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    rule: str = Field(max_length=32, primary_key=True)
    enabled: bool = True
    # The rule's thresholds, JSON {"name": number}; missing names take the defaults.
    thresholds: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    updated_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    updated_at: datetime = Field(default_factory=utcnow)


class AlertEpisode(SQLModel, table=True):
    """One alert: a rule's condition for a subject (a group, an agent, a task, the account) in a
    chat, from when it started until it cleared.

    Unique by (chat, rule, subject, start), and at most one open episode per (chat, rule, subject)
    (a partial unique index): the relay's transactions and the scheduler's leader insert it with
    ON CONFLICT DO NOTHING, so a restart, a retried push or a second replica never raises it twice.
    """

    __tablename__ = "alert_episode"
    __table_args__ = (
        UniqueConstraint("chat_id", "rule", "subject", "started_at", name="uq_alert_episode"),
        Index(
            "uq_alert_episode_open",
            "chat_id",
            "rule",
            "subject",
            unique=True,
            sqlite_where=text("cleared_at IS NULL"),
            postgresql_where=text("cleared_at IS NULL"),
        ),
        Index("ix_alert_episode_rule_open", "rule", "cleared_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    rule: str = Field(max_length=32)
    subject: str = Field(max_length=160)  # the group's, agent's or task's name; "" for the account
    started_at: datetime  # when the condition started, from the data (the streak's first call)
    raised_at: datetime = Field(default_factory=utcnow)
    cleared_at: datetime | None = None
    # What crossed the threshold, JSON {"figure": value, "threshold": value, ...}.
    figures: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    taken_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    taken_by_name: str | None = Field(default=None, max_length=160)
    taken_at: datetime | None = None


class AlertSnooze(SQLModel, table=True):
    """[Snooze 1 h]: a rule for a subject says nothing in a chat until `until`."""

    __tablename__ = "alert_snooze"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    rule: str = Field(max_length=32, primary_key=True)
    subject: str = Field(max_length=160, primary_key=True)
    until: datetime
    by_user: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class ChatKindSetting(SQLModel, table=True):
    """Per chat and outbox kind: the forum topic it goes to (/topic) and whether it makes a sound
    (/notify sound). NULL: the chat's main place, the kind's default sound."""

    __tablename__ = "chat_kind_setting"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    kind: str = Field(max_length=16, primary_key=True)
    thread_id: int | None = None
    loud: bool | None = None


# An agent's rings, newest first (the missed-rings rule reads an agent's last few).
Index(
    "ix_ringing_event_sip_event_at",
    table_of(RingingEvent).c.sip_account,
    table_of(RingingEvent).c.event_at,
)
# A call's record by its callId (the missed-rings rule asks who answered the calls an agent rang for).
Index("ix_call_record_call", table_of(CallRecord).c.call_id)
