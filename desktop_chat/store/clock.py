"""The database's clock: SQLite has no time zones, so times are stored as naive UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def db_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
