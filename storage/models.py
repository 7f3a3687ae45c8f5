"""The tables. Platform IDs (voiceGroupId, keyId, taskId, callSessionId, callId) are the keys."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, Column, Index, Text
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
