"""Persistence: SQLModel tables, engine and sessions, queries, Alembic migrations."""
