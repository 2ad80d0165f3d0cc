"""The reports: each is one aggregating SQL statement, streamed row by row.

Figures are summed by the database; Python sees one row per group (per day, per doctor...),
never one per payment or visit, so a month of a large clinic costs the worker the same
memory as a quiet week. Results are read with ``yield_per`` (a server-side cursor on
PostgreSQL).
"""

from __future__ import annotations

from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from clinic.reports.cashier import reconciliation_report, shifts_report
from clinic.reports.common import Built, Column
from clinic.reports.params import ReportParams
from clinic.reports.queue_figures import queue_report
from clinic.reports.revenue import revenue_report
from clinic.reports.sql import Dialect
from clinic.reports.visit_figures import visits_report

__all__ = ["Built", "Column", "REPORTS", "build", "period_text"]

REPORTS: dict[str, Callable] = {
    "revenue": revenue_report,
    "visits": visits_report,
    "queue": queue_report,
    "shifts": shifts_report,
    "reconciliation": reconciliation_report,
}


def build(session: Session, params: ReportParams, tz: ZoneInfo) -> Built:
    """The report's columns and its rows, read lazily as the caller iterates."""
    lo, hi = params.bounds(tz)
    dialect = Dialect(session.get_bind().dialect.name, tz, lo)
    return REPORTS[params.report](session, params, dialect, lo, hi)


def period_text(params: ReportParams) -> str:
    if params.start == params.end:
        return params.start.isoformat()
    return f"{params.start.isoformat()} — {params.end.isoformat()}"
