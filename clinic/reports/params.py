"""A report's parameters, validated once for every door (API, page, subscription, bench).

The period is a range of clinic days (``CLINIC_TZ``, Asia/Tashkent by default), both ends
included: a day starts at 00:00 clinic time, not UTC.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from clinic.accounts.permissions import Staff
from clinic.base import FIRST_DAY, LAST_DAY, is_id
from clinic.errors import Forbidden, ValidationFailed
from clinic.reference.models import Department, Doctor
from clinic.reports import refusals as R

LANGUAGES = ("ru", "uz", "en")
FORMATS = ("csv", "xlsx", "pdf")
MAX_DAYS = 366
# Clinic days as YYYY-MM-DD only (not 20260310 or 2026-W11-2), within the calendar's reach.
DAY_FORMAT = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")

# Each report and the groupings it offers (the first is its default).
GROUPINGS = {
    "revenue": ("day", "department", "doctor", "service", "method", "provider", "cashier"),
    "visits": ("status", "day", "department", "doctor"),
    "queue": ("queue", "room", "hour"),
    "shifts": ("shift",),
    "reconciliation": ("kind",),
}
# Reports whose figures belong to no doctor: a doctor may not build them.
CLINIC_ONLY = ("shifts", "reconciliation")
# Reports that take no department or doctor filter.
UNFILTERED = ("shifts", "reconciliation")
# Reports of what is written as it happens (payments, tickets, shifts): a period that starts
# after today holds nothing of theirs. Visits are booked ahead: next week's are a report.
PAST_ONLY = ("revenue", "queue", "shifts", "reconciliation")


@dataclass(frozen=True)
class ReportParams:
    report: str
    by: str
    start: date
    end: date
    department_id: int | None = None
    doctor_id: int | None = None
    language: str = "ru"

    def as_dict(self) -> dict:
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "ReportParams":
        return cls(
            report=data["report"],
            by=data["by"],
            start=date.fromisoformat(data["start"]),
            end=date.fromisoformat(data["end"]),
            department_id=data.get("department_id"),
            doctor_id=data.get("doctor_id"),
            language=data.get("language", "ru"),
        )

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The period as UTC instants [from, to): clinic midnight to clinic midnight."""
        return day_start(self.start, tz), day_start(self.end + timedelta(days=1), tz)


def day_start(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(ZoneInfo("UTC"))


# The reason a badly written (or missing) day of each end of the period is refused for.
_DAY_FORMAT = {"start": R.START_FORMAT, "end": R.END_FORMAT}


def _date(value, field: str, reasons: dict) -> date | None:
    if isinstance(value, str) and DAY_FORMAT.match(value.strip()):
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            day = None
        if day is not None and FIRST_DAY <= day <= LAST_DAY:
            return day
        if day is not None:
            reasons[field] = [(R.DAY_OUT_OF_RANGE, f"A date from {FIRST_DAY} to {LAST_DAY}.")]
            return None
    reasons[field] = [(_DAY_FORMAT[field], "A date is required, as YYYY-MM-DD.")]
    return None


def _optional_id(value, field: str, reasons: dict) -> int | None:
    if value is None:
        return None
    if not is_id(value):
        reasons[field] = [(R.NOT_AN_ID, "Not a valid id.")]
        return None
    return value


def parse_params(
    session: Session,
    data: dict,
    staff: Staff,
    *,
    with_period: bool = True,
    refused: dict[str, list[tuple[str, str]]] | None = None,
    today: date | None = None,
    active_filters: bool = False,
) -> ReportParams:
    """Validated parameters, scoped to who asks: a doctor's report is always his own.

    Raises ValidationFailed with per-field errors and their reasons' codes
    (clinic/reports/refusals.py), or Forbidden for a report a doctor may not see. Without
    ``with_period`` (a subscription) the period is left to the delivery. ``refused``: the
    caller's other fields found wrong already (the formats, a subscription's address), named
    in the same refusal, so every field wrong is told at once. ``today``: the clinic's day
    now; a period of a ``PAST_ONLY`` report that starts after it is refused (a year mistyped
    would give a report of zeros, read as a period without revenue). ``active_filters``: a
    department or doctor deactivated is refused as a filter (a subscription's, which mails the
    periods to come); a report of past periods takes one, for the periods it worked.
    """
    reasons: dict[str, list[tuple[str, str]]] = dict(refused or {})
    report = data.get("report")
    if report not in GROUPINGS:
        reasons["report"] = [(R.UNKNOWN_REPORT, f"One of: {', '.join(GROUPINGS)}.")]
        raise R.refusal(ValidationFailed, "The report parameters are not valid.", reasons)
    by = data.get("by") or GROUPINGS[report][0]
    if by not in GROUPINGS[report]:
        reasons["by"] = [
            (
                R.UNKNOWN_GROUPING,
                f"This report groups by one of: {', '.join(GROUPINGS[report])}.",
            )
        ]
    language = data.get("language") or "ru"
    if language not in LANGUAGES:
        reasons["language"] = [(R.UNKNOWN_LANGUAGE, f"One of: {', '.join(LANGUAGES)}.")]
    start = end = date(2000, 1, 1)
    if with_period:
        start = _date(data.get("start"), "start", reasons)
        end = _date(data.get("end"), "end", reasons)
        if start and today is not None and report in PAST_ONLY and start > today:
            reasons["start"] = [
                (R.PERIOD_IN_FUTURE, f"The period starts after today ({today.isoformat()}).")
            ]
        if start and end:
            if end < start:
                reasons["end"] = [(R.PERIOD_REVERSED, "The period ends before it starts.")]
            elif (end - start).days >= MAX_DAYS:
                reasons["end"] = [(R.PERIOD_TOO_LONG, f"A report covers at most {MAX_DAYS} days.")]
    department_id = _optional_id(data.get("department_id"), "department_id", reasons)
    doctor_id = _optional_id(data.get("doctor_id"), "doctor_id", reasons)
    if report in UNFILTERED:
        for field, value in (("department_id", department_id), ("doctor_id", doctor_id)):
            if value is not None:
                reasons[field] = [(R.NOT_FILTERED, "This report takes no such filter.")]
    # A filter the report does not take is refused for that, whatever it names.
    for field, value, model, unknown, inactive in (
        ("department_id", department_id, Department, R.UNKNOWN_DEPARTMENT, R.INACTIVE_DEPARTMENT),
        ("doctor_id", doctor_id, Doctor, R.UNKNOWN_DOCTOR, R.INACTIVE_DOCTOR),
    ):
        if value is None or field in reasons:
            continue
        found = session.get(model, value)
        name = field.removesuffix("_id")
        if found is None:
            reasons[field] = [(unknown, f"No such {name}.")]
        elif active_filters and not found.active:
            reasons[field] = [(inactive, f"This {name} is deactivated: choose an active one.")]
    if reasons:
        raise R.refusal(ValidationFailed, "The report parameters are not valid.", reasons)
    if not staff.can("reports.read"):
        # A doctor sees his own figures, whatever he asked for.
        if staff.doctor_id is None or report in CLINIC_ONLY:
            raise Forbidden("You may see only your own figures.", code=R.OWN_FIGURES_ONLY)
        if doctor_id not in (None, staff.doctor_id):
            raise Forbidden("You may see only your own figures.", code=R.OWN_FIGURES_ONLY)
        doctor_id = staff.doctor_id
    return ReportParams(report, by, start, end, department_id, doctor_id, language)
