"""A doctor switched off, moved to another department or renamed, while the desk cancels one
of his checked-in patients' tickets in the queue they wait in: both finish, on PostgreSQL,
the production database.

The change tells the queue's screens whom his waiting patients wait for now, or his queue's
new name (the queue's event counters), and the calendars that his free slots changed
(theirs). Told in the other order, it held the calendars' counters while it waited for the
queue's, which the desk's cancel held while it waited for the calendars' (the visit
following its ticket): PostgreSQL failed one of the two with a deadlock."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clinic.events.models import OutboxEvent
from clinic.queue import calls
from clinic.queue import tickets as q
from clinic.queue.models import Queue, Ticket, TicketStatus
from clinic.reference import directory as reference
from clinic.reference.models import Doctor
from clinic.visits import checkin
from clinic.visits import visits as v
from clinic.visits.models import Visit
from tests.conftest import _letters
from tests.races import held_race
from tests.visits.conftest import make_clinic
from tests.visits.test_api import _department_queue
from tests.visits.test_calendar_lock_order import _two_visits_soon

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])


def _switched_off(s, doctor_id: int, _elsewhere: int) -> None:
    reference.deactivate_doctor(s, doctor_id)


def _moved(s, doctor_id: int, elsewhere: int) -> None:
    reference.update_doctor(s, doctor_id, {"department_id": elsewhere})


def _renamed(s, doctor_id: int, _elsewhere: int) -> None:
    reference.update_doctor(s, doctor_id, {"full_name": "Доктор Переименованный"})


@pytest.mark.parametrize("change", [_switched_off, _moved, _renamed])
def test_a_doctor_changed_and_the_desk_cancelling_his_patients_ticket_both_finish(runtime, change):
    """Switched off or moved, he leaves the shared queue his patients wait in; renamed, his
    own queue's name changes on its screens (there his patients wait then)."""
    clinic, first, second = _two_visits_soon(runtime)
    if change is _renamed:
        own = {"code": "own", "doctor_id": clinic.doctor_ids[0], "prefix": _letters()}
        _department_queue(runtime, clinic, **own)
    elsewhere = make_clinic(runtime, patients=0).department_id
    doctor_id, tz = clinic.doctor_ids[0], runtime.settings.tz
    with runtime.db.transaction() as s:
        cancelled, left = (
            checkin.check_in(s, s.get(Visit, i), tz=tz, actor="desk").id for i in (first, second)
        )
        queue_id = s.get(Ticket, left).queue_id

    def at_the_admin():
        # Held just after it took his calendar's event counter; the desk then cancels his
        # first patient's ticket (his visit's calendars hear it).
        with runtime.db.transaction() as s:
            change(s, doctor_id, elsewhere)

    def at_the_desk(s):
        calls.cancel(s, s.get(Ticket, cancelled), actor="registrar", reason="ошибка")

    def his_calendar(statement, parameters) -> bool:
        return "event_channels" in statement and repr(v.doctor_channel(doctor_id)) in str(
            parameters
        )

    answers = held_race(runtime, at_the_admin, at_the_desk, holds=his_calendar)
    assert answers == {"first": "done", "step": "done"}, answers
    with runtime.db.session() as s:
        doctor = s.get(Doctor, doctor_id)
        assert s.get(Ticket, cancelled).status == TicketStatus.CANCELLED
        if change is _renamed:
            assert doctor.full_name == "Доктор Переименованный"
            assert s.get(Queue, queue_id).doctor_id == doctor_id
            return
        assert (doctor.active, doctor.department_id) == (
            (False, clinic.department_id) if change is _switched_off else (True, elsewhere)
        )
        told = s.scalars(
            select(OutboxEvent.type).where(
                OutboxEvent.channel == q.staff_channel(queue_id),
                OutboxEvent.data["id"].as_integer() == left,
            )
        ).all()
        assert "ticket.visit_moved" in told
