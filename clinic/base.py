"""Declarative base, column types and the naming convention migrations rely on."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# A 64-bit key that is still SQLite's rowid (only INTEGER PRIMARY KEY autoincrements there).
BigId = BigInteger().with_variant(Integer(), "sqlite")
JsonDoc = JSON().with_variant(JSONB(), "postgresql")


MAX_ID = 2**31 - 1
# The calendar's reach for the days people type: any real date, far enough from the ends of
# what a date can hold that a clinic day's edges in UTC, and searches after it, stay inside.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)


def is_id(value) -> bool:
    """Whether ``value`` can be a row id (a whole number the databases can store)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def iso(value) -> str | None:
    """A date or an aware datetime as ISO 8601, UTC written as ``Z``; None stays None."""
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


# A wall-clock time written "24:00", the end of the clinic day: the day's last instant, so that
# it compares after every other time of the day (doctors' hours, a queue's closing).
END_OF_DAY = time.max


def clock_text(at: time | None) -> str | None:
    """A wall-clock time as people write it, ``HH:MM``; the end of the day is ``24:00``."""
    if at is None:
        return None
    return "24:00" if at == END_OF_DAY else at.strftime("%H:%M")


# The clinic's zone where no settings are at hand (CLINIC_TZ's default).
CLINIC_TZ = ZoneInfo("Asia/Tashkent")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
