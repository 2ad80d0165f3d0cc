"""Cancelling a visit: who cancels and why are required, and a refused cancellation changes
nothing (clinic/visits/cancelling.py; its effects on the queue, the reminders and the notices
are tested with them)."""

from __future__ import annotations

from sqlalchemy import select

from clinic.visits import booking, cancelling
from clinic.visits.cancelling import cancel
from clinic.visits.events import CancelledBy, VisitStatus
from clinic.visits.models import Visit, VisitNotice
from tests.visits.conftest import next_week_day
from tests.visits.test_visits_edges import book, errors_of


def test_a_cancellation_says_who_and_why(runtime, clinic):
    day = next_week_day(runtime.settings.tz)
    visit = book(runtime, clinic, clinic.at(day, 9))
    with runtime.db.transaction() as s:
        visit = s.get(Visit, visit.id)
        assert errors_of(
            lambda: cancel(s, visit, by="nurse", reason="x", late_window_hours=24)
        ) == {"by": ["patient or clinic"]}
        assert errors_of(
            lambda: cancel(s, visit, by="patient", reason="  ", late_window_hours=24)
        ) == {"reason": ["required"]}
        assert visit.status == VisitStatus.SCHEDULED


def test_a_cancellation_notice_written_without_a_zone_tells_the_clinics_time(runtime, clinic):
    """A clinic's cancellation whose caller named no zone wrote the patient's e-mail in UTC
    (a visit at 10:00 said 05:00); it says the clinic's time, as every caller that names
    one does."""
    starts = clinic.at(next_week_day(clinic.tz), 10)
    with runtime.db.transaction() as s:
        visit = booking.book(
            s, patient_id=clinic.patient_ids[0], doctor_id=clinic.doctor_ids[0],
            starts_at=starts, tz=clinic.tz, notify_email="patient@example.uz",
        )  # fmt: skip
        cancel(s, visit, by=CancelledBy.CLINIC, reason="the doctor is ill", late_window_hours=0)
        body = s.scalar(
            select(VisitNotice.body).where(
                VisitNotice.key == cancelling.cancelled_notice_key(visit)
            )
        )
    assert starts.astimezone(clinic.tz).strftime("%d.%m.%Y 10:00") in body, body
