"""A throw-away PostgreSQL database for a benchmark run, next to the server's admin database."""

from __future__ import annotations

import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storage.db import normalise_url


def fresh_database(admin_url: str) -> tuple[str, str]:
    """Create an empty database on the server of `admin_url`; returns (its URL, its name)."""
    admin = make_url(normalise_url(admin_url))
    name = f"ccbot_bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin.set(database=name).render_as_string(hide_password=False), name


def drop_database(admin_url: str, name: str) -> None:
    engine = create_engine(make_url(normalise_url(admin_url)), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()
