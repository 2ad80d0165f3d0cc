"""The day's closing of two queues of one department, while the desk cancels the ticket of an
arrived patient in the second: both finish, on PostgreSQL, the production database.

Closing the first day tells the calendars of its arrived patient's visit (the department's
channel among them), whose event counters stay locked until a commit. Closed in one
transaction with the next, that day's counters were still held while the closing waited for
the second day's visits and row, which the desk's cancel held while it waited for the
department's counter: PostgreSQL failed one of the two with a deadlock. The task commits each
day before it takes up the next."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.base import utcnow
from clinic.queue import calls
from clinic.queue import days as queue_days
from clinic.queue.models import QueueDay, Ticket, TicketStatus
from clinic.visits import booking, checkin
from clinic.visits.models import Visit
from tasks import queue as queue_tasks
from tests.conftest import _letters
from tests.races import held_race
from tests.visits.conftest import ALL_DAY, clear_of_midnight, make_clinic, slot_near
from tests.visits.test_api import _department_queue

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])


def _booked(runtime, clinic, doctor: int) -> int:
    at = slot_near(runtime)
    with runtime.db.transaction() as s:
        return booking.book(
            s, patient_id=clinic.patient_ids[doctor], doctor_id=clinic.doctor_ids[doctor],
            starts_at=at, tz=runtime.settings.tz, now=at - timedelta(hours=1),
        ).id  # fmt: skip


def test_the_days_closing_and_the_desk_cancelling_in_the_next_queue_both_finish(
    app, runtime, monkeypatch
):
    # The first doctor calls from a queue of his own, the second from the department's: an
    # arrived patient waits in each, and both days are due once the clinic day is over.
    clear_of_midnight(runtime, 300)
    clinic = make_clinic(runtime, doctors=2, patients=2, **ALL_DAY)
    _department_queue(
        runtime, clinic, code="own", doctor_id=clinic.doctor_ids[0], prefix=_letters()
    )
    _department_queue(runtime, clinic)
    visits = [_booked(runtime, clinic, doctor) for doctor in (0, 1)]
    tz = runtime.settings.tz
    with runtime.db.transaction() as s:
        tickets = [checkin.check_in(s, s.get(Visit, i), tz=tz, actor="desk") for i in visits]
        first_day, second_day = (t.queue_day_id for t in tickets)
        second_ticket = tickets[1].id
    assert first_day < second_day  # closed in this order
    tomorrow = utcnow() + timedelta(days=1)
    monkeypatch.setattr(queue_days, "utcnow", lambda: tomorrow)

    def the_closing():
        # Held once done with the first day, just before it locks the second day's visits.
        queue_tasks.close_days()

    def at_the_desk(s):
        calls.cancel(s, s.get(Ticket, second_ticket), actor="registrar", reason="ошибка")

    def locking_the_second_days_visit(statement, parameters) -> bool:
        return (
            statement.startswith("SELECT visits.id")
            and "FOR UPDATE" in statement
            and visits[1] in parameters.values()
        )

    answers = held_race(
        runtime, the_closing, at_the_desk, holds=locking_the_second_days_visit, before=True
    )
    assert answers == {"first": "done", "step": "done"}, answers
    with runtime.db.session() as s:
        assert s.get(Ticket, tickets[0].id).status == TicketStatus.NO_SHOW
        assert s.get(Ticket, second_ticket).status == TicketStatus.CANCELLED
        assert all(s.get(QueueDay, d).closed_at is not None for d in (first_day, second_day))
