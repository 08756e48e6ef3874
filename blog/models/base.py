"""The columns every model shares: aware UTC times, ids, statuses kept to their values."""

import secrets
from datetime import UTC, datetime
from enum import StrEnum
from uuid import uuid4

from sqlalchemy import (
    DateTime,
    TypeDecorator,
)


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# The largest id a row can have (PostgreSQL's integer); SQLite's driver overflows past it.
LARGEST_ID = 2**31 - 1


def as_utc(moment: datetime | str | None) -> datetime | None:
    """An aggregate's datetime as aware UTC (SQLite hands back naive values or strings)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_guid() -> str:
    """A feed id for a new post; stored once, so edits and slug changes never change it."""
    return f"urn:uuid:{uuid4()}"


def one_of(column: str, statuses: type[StrEnum]) -> str:
    """The CHECK condition that keeps a status column to the enum's values."""
    return f"{column} IN ({', '.join(repr(status.value) for status in statuses)})"


def new_token_secret() -> str:
    return secrets.token_urlsafe(24)


def new_message_key() -> str:
    return secrets.token_hex(6)
