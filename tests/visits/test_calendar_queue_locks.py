"""The calendar and the queue on one checked-in patient at the same instant: the registrar or
the doctor works the visit on the calendar while a queue screen moves its ticket. Both take
the visit's row before the queue's rows, so one waits for the other and gets its answer (a
409 for the step that came second), never a deadlock (a 503)."""

from __future__ import annotations

import threading
from datetime import time, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from clinic.base import utcnow
from clinic.errors import Conflict
from clinic.queue import admin as queue_admin
from clinic.queue import calls
from clinic.queue import days as queue_days
from clinic.queue.models import Ticket, TicketStatus
from clinic.visits import booking, cancelling, checkin
from clinic.visits import visits as v
from clinic.visits.events import CancelledBy, VisitStatus
from clinic.visits.models import Visit
from tests.conftest import _letters
from tests.races import wait_for, waits_for_a_lock
from tests.visits.conftest import ALL_DAY, make_clinic, slot_near

EVENING = time(23, 59, 59, 999999)


def _checked_in(runtime, clinic, *, status: str) -> tuple[int, int, int]:
    """A visit of today checked in to the doctor's queue, its ticket brought to ``status``;
    the visit's, the ticket's and a laboratory queue's ids."""
    with runtime.db.transaction() as s:
        own, laboratory = (
            queue_admin.create_queue(
                s,
                {
                    "code": f"q{_letters()}".lower(), "prefix": _letters(),
                    "department_id": clinic.department_id, "closes_at": EVENING,
                    **extra,
                },
            ).id
            for extra in ({"doctor_id": clinic.doctor_ids[0]}, {})
        )  # fmt: skip
    starts = slot_near(runtime)
    with runtime.db.transaction() as s:
        visit = booking.book(
            s, patient_id=clinic.patient_ids[0], doctor_id=clinic.doctor_ids[0],
            starts_at=starts, tz=clinic.tz, now=starts - timedelta(hours=1),
        )  # fmt: skip
        ticket = checkin.check_in(s, visit, tz=clinic.tz, actor="registrar")
        assert ticket.queue_id == own
        if status != TicketStatus.WAITING:
            assert calls.call_next(s, own, tz=clinic.tz, room_id=clinic.room_ids[0]) == ticket
        if status == TicketStatus.IN_SERVICE:
            calls.start_service(s, ticket)
        return visit.id, ticket.id, laboratory


# What the doctor or the registrar does on the calendar.
CALENDAR = {
    "start": lambda s, visit, tz: v.start(s, visit, tz=tz, actor="doctor"),
    "complete": lambda s, visit, tz: v.complete(s, visit, tz=tz, actor="doctor"),
    "cancel": lambda s, visit, tz: cancelling.cancel(
        s, visit, by=CancelledBy.PATIENT, reason="changed his mind", late_window_hours=0,
        actor="registrar", tz=tz,
    ),  # fmt: skip
}

# (the ticket's status, the calendar's step, the queue's step on the ticket, what the visit
# and the ticket are once both have run)
RACES = {
    "start both": (
        TicketStatus.CALLED,
        "start",
        lambda s, t, lab, tz: calls.start_service(s, t, actor="doctor"),
        (VisitStatus.IN_PROGRESS, TicketStatus.IN_SERVICE),
    ),
    "complete and finish": (
        TicketStatus.IN_SERVICE,
        "complete",
        lambda s, t, lab, tz: calls.finish_service(s, t, tz=tz, actor="doctor"),
        (VisitStatus.COMPLETED, TicketStatus.SERVED),
    ),
    "start and no-show": (
        TicketStatus.CALLED,
        "start",
        lambda s, t, lab, tz: calls.mark_no_show(s, t, actor="doctor"),
        (VisitStatus.IN_PROGRESS, TicketStatus.IN_SERVICE),
    ),
    "cancel and transfer": (
        TicketStatus.WAITING,
        "cancel",
        lambda s, t, lab, tz: calls.transfer(s, t, lab, tz=tz, actor="nurse"),
        (VisitStatus.CANCELLED, TicketStatus.CANCELLED),
    ),
}


# Row locks under real concurrency: PostgreSQL (SQLite lets one writer in at a time).
@pytest.mark.parametrize("backend", ["postgresql"])
@pytest.mark.parametrize("race", list(RACES))
def test_the_calendar_and_the_queue_on_one_patient_at_once_take_turns(runtime, race):
    """The calendar has the visit (locked, as its steps are) when the queue's step on its
    ticket comes in: that step waits for the visit and then finds the ticket moved on (409),
    instead of taking the ticket first and each side waiting for the other's row until the
    database kills one of them."""
    status, calendar_step, queue_step, after = RACES[race]
    clinic = make_clinic(runtime, patients=1, **ALL_DAY)
    visit_id, ticket_id, laboratory = _checked_in(runtime, clinic, status=status)
    pids, outcome = [], []

    def from_the_queue():
        try:
            with runtime.db.transaction() as s:
                pids.append(s.scalar(text("SELECT pg_backend_pid()")))
                queue_step(s, s.get(Ticket, ticket_id), laboratory, clinic.tz)
            outcome.append("done")
        except Exception as exc:  # what the screen would answer
            outcome.append(exc)

    screen = threading.Thread(target=from_the_queue)
    with runtime.db.transaction() as s:
        visit = v.get_visit(s, visit_id, lock=True)
        screen.start()
        wait_for(lambda: outcome or waits_for_a_lock(runtime, pids), what="the queue's step")
        CALENDAR[calendar_step](s, visit, clinic.tz)
    screen.join(30)
    assert not isinstance(outcome[0], OperationalError), outcome[0]
    assert isinstance(outcome[0], Conflict) and outcome[0].code == "wrong_status", outcome
    with runtime.db.session() as s:
        assert (s.get(Visit, visit_id).status, s.get(Ticket, ticket_id).status) == after


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_queue_day_closing_while_the_doctor_starts_the_visit_waits_for_him(runtime):
    """The day's close (its worker) comes on a called patient whose visit the doctor is
    starting on the calendar: it waits for the visit, then closes the ticket as it finds it,
    instead of the two killing each other."""
    clinic = make_clinic(runtime, patients=1, **ALL_DAY)
    visit_id, ticket_id, _ = _checked_in(runtime, clinic, status=TicketStatus.CALLED)
    pids, outcome = [], []

    def closing():
        try:
            with runtime.db.transaction() as s:
                pids.append(s.scalar(text("SELECT pg_backend_pid()")))
                tomorrow = utcnow() + timedelta(days=1)
                outcome.append(queue_days.close_due_days(s, tz=clinic.tz, now=tomorrow))
        except Exception as exc:
            outcome.append(exc)

    worker = threading.Thread(target=closing)
    with runtime.db.transaction() as s:
        visit = v.get_visit(s, visit_id, lock=True)
        worker.start()
        wait_for(lambda: outcome or waits_for_a_lock(runtime, pids), what="the day's close")
        CALENDAR["start"](s, visit, clinic.tz)
    worker.join(30)
    assert isinstance(outcome[0], list) and len(outcome[0]) == 1, outcome  # the doctor's day
    with runtime.db.session() as s:
        assert s.get(Visit, visit_id).status == VisitStatus.IN_PROGRESS
        assert s.get(Ticket, ticket_id).status == TicketStatus.NO_SHOW
