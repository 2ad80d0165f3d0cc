"""Cancelling a visit: who cancels and why are required, and a refused cancellation changes
nothing (clinic/visits/cancelling.py; its effects on the queue, the reminders and the notices
are tested with them)."""

from __future__ import annotations

from clinic.visits.cancelling import cancel
from clinic.visits.events import VisitStatus
from clinic.visits.models import Visit
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
