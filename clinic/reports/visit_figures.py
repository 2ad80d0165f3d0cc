"""Visits: by status, day, department or doctor, with new against follow-up patients and the
no-show and late-cancellation rates."""

from __future__ import annotations

from typing import Iterator

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session, aliased

from clinic.reference.models import Department, Doctor
from clinic.reports.common import (
    Built,
    Column,
    by_position,
    every_day,
    key_text,
    rate,
    stream,
    within,
)
from clinic.reports.params import ReportParams
from clinic.reports.sql import Dialect
from clinic.visits.events import VisitStatus
from clinic.visits.models import Visit

# The visits a patient came to.
CAME = (VisitStatus.ARRIVED, VisitStatus.IN_PROGRESS, VisitStatus.COMPLETED)


def visits_report(session: Session, p: ReportParams, d: Dialect, lo, hi) -> Built:
    earlier = aliased(Visit)
    # New: the patient's first visit that was not cancelled and that he came to; every later
    # one is a follow-up. An appointment he missed is no visit of his: the patient who did
    # not come to his first one is still new when he first comes; nor is one still to come
    # (a new patient booked twice ahead is new at both until he has been). Each patient of the
    # period's first such visit is looked up once (an index range per patient), not once per
    # visit.
    patients = select(Visit.patient_id).where(within(Visit.starts_at, lo, hi))
    firsts = (
        select(earlier.patient_id.label("patient_id"), func.min(earlier.starts_at).label("first"))
        .where(
            earlier.status.in_(CAME),
            earlier.patient_id.in_(patients),
        )
        .group_by(earlier.patient_id)
        .subquery()
    )
    new = or_(firsts.c.first.is_(None), firsts.c.first >= Visit.starts_at)
    key = {
        "status": Visit.status,
        "day": d.local_day(Visit.starts_at),
        "department": Visit.department_id,
        "doctor": Visit.doctor_id,
    }[p.by]

    def count_if(condition):
        return func.sum(case((condition, 1), else_=0))

    inner = (
        select(
            key.label("key"),
            func.count(Visit.id).label("visits"),
            count_if(Visit.status == VisitStatus.COMPLETED).label("completed"),
            count_if(Visit.status == VisitStatus.NO_SHOW).label("no_shows"),
            count_if(Visit.status == VisitStatus.CANCELLED).label("cancelled"),
            count_if(Visit.late_cancellation.is_(True)).label("late"),
            count_if(new).label("new"),
        )
        .outerjoin(firsts, firsts.c.patient_id == Visit.patient_id)
        .where(within(Visit.starts_at, lo, hi))
    )
    if p.doctor_id is not None:
        inner = inner.where(Visit.doctor_id == p.doctor_id)
    if p.department_id is not None:
        inner = inner.where(Visit.department_id == p.department_id)
    inner = inner.group_by(by_position(1)).subquery()
    statement = select(inner)
    if p.by == "department":
        name = getattr(Department, f"name_{p.language}")
        statement = statement.add_columns(name).outerjoin(Department, Department.id == inner.c.key)
    elif p.by == "doctor":
        statement = statement.add_columns(Doctor.full_name).outerjoin(
            Doctor, Doctor.id == inner.c.key
        )
    # Rows with no department, doctor or room ("not given") last, on either database.
    statement = statement.order_by(inner.c.key.is_(None), inner.c.key)

    def rows() -> Iterator[tuple]:
        for row in stream(session, statement):
            visits, completed, no_shows, cancelled, late, new_count = (
                int(v or 0) for v in row[1:7]
            )
            name = row[7] if len(row) > 7 else None
            yield (
                key_text(p, row[0], name),
                visits,
                completed,
                no_shows,
                cancelled,
                late,
                new_count,
                visits - new_count,
                rate(no_shows, visits),
                rate(late, visits),
            )

    found = rows()
    if p.by == "day":
        # Every day of the period, one without visits as zeros (and no rate: none of none).
        found = every_day(p, found, lambda day: (day, 0, 0, 0, 0, 0, 0, 0, None, None))
    columns = (
        Column(f"by.{p.by}", "text"),
        Column("visits"),
        Column("completed"),
        Column("no_shows"),
        Column("cancelled"),
        Column("late_cancellations"),
        Column("new_patients"),
        Column("follow_ups"),
        Column("no_show_rate", "percent", ("no_shows", "visits")),
        Column("late_cancel_rate", "percent", ("late_cancellations", "visits")),
    )
    return Built(p, columns, found)
