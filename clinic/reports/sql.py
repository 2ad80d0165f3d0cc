"""Expressions that mean the same on PostgreSQL and SQLite: a clinic day, a clinic hour,
seconds between two instants.

PostgreSQL converts with the zone's rules (``timezone(zone, instant)``). SQLite has no zone
database: it shifts by the zone's offset at the start of the period, which is exact for a
zone without daylight saving time, such as Asia/Tashkent (UTC+5 all year).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Integer, cast, extract, func, literal


class Dialect:
    def __init__(self, name: str, tz: ZoneInfo, at: datetime) -> None:
        self.name = name
        self.tz = tz
        offset = at.astimezone(tz).utcoffset()
        self.offset_minutes = int(offset.total_seconds() // 60)

    @property
    def is_postgresql(self) -> bool:
        return self.name == "postgresql"

    def _shift(self) -> str:
        return f"{self.offset_minutes:+d} minutes"

    def local_day(self, instant):
        if self.is_postgresql:
            return cast(func.timezone(self.tz.key, instant), Date())
        return func.date(_whole_seconds(instant), self._shift())

    def local_hour(self, instant):
        if self.is_postgresql:
            return cast(extract("hour", func.timezone(self.tz.key, instant)), Integer)
        return cast(func.strftime("%H", _whole_seconds(instant), self._shift()), Integer)

    def seconds(self, earlier, later):
        if self.is_postgresql:
            return extract("epoch", later - earlier)
        # Julian days are doubles: 1443 s comes out as 1442.99999..., which a tenth of a
        # minute rounded half up would take down. They hold the time to about 0.05 ms, so
        # the milliseconds are exact.
        return func.round((func.julianday(later) - func.julianday(earlier)) * literal(86400.0), 3)


def _whole_seconds(instant):
    """A stored SQLite instant (``2026-02-28 18:59:59.999700``) without its fraction: SQLite's
    date functions round it to the millisecond first, and 18:59:59.9995 UTC and later would
    become 19:00, the next clinic day's first instant (and the next hour)."""
    return func.substr(instant, 1, 19)


def as_date(value) -> date | None:
    """A day as the driver returned it (SQLite gives text)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
