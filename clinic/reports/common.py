"""What every report shares: its columns, the lazily read rows, and small SQL helpers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Callable, Iterator

from sqlalchemy import and_, literal_column
from sqlalchemy.orm import Session

from clinic.reports.labels import label
from clinic.reports.params import ReportParams
from clinic.reports.sql import as_date

YIELD_PER = 1000


@dataclass(frozen=True)
class Column:
    """``kind``: text, count, money (tiyin), minutes or percent. A percent column names its
    numerator and denominator, so the totals row computes it from the totals."""

    key: str
    kind: str = "count"
    rate_of: tuple[str, str] | None = None
    # A row without a value (a shift not yet counted) leaves the total unknown, not lower.
    total_needs_every_row: bool = False

    @property
    def summed(self) -> bool:
        return self.kind in ("count", "money")


@dataclass
class Built:
    params: ReportParams
    columns: tuple[Column, ...]
    rows: Iterator[tuple]


def stream(session: Session, statement) -> Iterator:
    return session.execute(statement.execution_options(yield_per=YIELD_PER))


def within(column, lo: datetime, hi: datetime):
    return and_(column >= lo, column < hi)


TENTH = Decimal("0.1")


def _tenths(value: Decimal) -> float:
    """To a tenth, a half up, as a manager rounds by hand (6.25 is 6.3): Python's ``round``
    of a float would give 6.2 (halves to even)."""
    return float(value.quantize(TENTH, rounding=ROUND_HALF_UP))


def rate(part: int, whole: int) -> float | None:
    return _tenths(Decimal(part * 100) / Decimal(whole)) if whole else None


def minutes(seconds) -> float | None:
    return None if seconds is None else _tenths(Decimal(str(seconds)) / 60)


def by_position(position: int):
    """GROUP BY the select list's n-th expression: the same on both databases, and on
    PostgreSQL it matches an expression holding bound parameters (the time zone)."""
    return literal_column(str(position))


def key_text(p: ReportParams, key, name) -> str:
    if key is None:
        return label("none", p.language)
    if p.by == "day":
        return as_date(key).isoformat()
    if p.by in ("method", "provider", "status"):
        prefix = "status." if p.by == "status" else ""
        return label(f"{prefix}{key}", p.language)
    if p.by == "hour":
        return f"{int(key):02d}:00"
    if name is not None:
        return str(name)
    return str(key)


def every_day(p: ReportParams, rows: Iterator[tuple], empty: Callable[[str], tuple]):
    """The rows of a grouping by day, with every clinic day of the period (``start`` to
    ``end``, both included) in order: a day with nothing in it is ``empty(day)``, its figures
    zero, rather than left out, so a week is seven rows and its chart seven bars. ``rows``
    come ordered by day, each keyed by its day written ``YYYY-MM-DD`` (which sorts as the
    day does); they are passed on as they arrive."""
    day, end = p.start, p.end
    for row in rows:
        while day <= end and day.isoformat() < row[0]:
            yield empty(day.isoformat())
            day += timedelta(days=1)
        if day <= end and day.isoformat() == row[0]:
            day += timedelta(days=1)
        yield row
    while day <= end:
        yield empty(day.isoformat())
        day += timedelta(days=1)
