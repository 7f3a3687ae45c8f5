"""Plain query functions taking a session."""

from __future__ import annotations

from sqlmodel import Session, select

from storage.models import AuditEntry


def add_audit_entry(session: Session, entry: AuditEntry) -> AuditEntry:
    session.add(entry)
    session.flush()
    return entry


def recent_audit_entries(session: Session, limit: int = 20) -> list[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)  # type: ignore[union-attr]
    return list(session.exec(stmt))
