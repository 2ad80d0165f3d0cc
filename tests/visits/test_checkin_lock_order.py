"""A check-in at the desk while the same doctor's queue moves another patient's ticket (the
desk cancels it, the doctor starts him): both finish, on PostgreSQL, the production database.

Check-in announces the arrival on the calendars' channels once its ticket is issued, after the
queue day's row, in the order a step of the queue takes them (the day's row, then the
calendars' event counters). Announced before the ticket, the check-in held the calendars'
counters while it waited for the day's row, which the step held while it waited for those
counters: PostgreSQL failed one of them with a deadlock."""

from __future__ import annotations

import pytest

from clinic.queue import calls
from clinic.queue.models import Ticket
from clinic.visits import checkin
from clinic.visits.models import Visit
from tests.races import held_race
from tests.visits.conftest import ALL_DAY, clear_of_midnight, make_clinic
from tests.visits.test_api import _booked_soon, _department_queue

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])


def _cancel(s, ticket_id):
    calls.cancel(s, s.get(Ticket, ticket_id), actor="registrar", reason="ошибка")


def _start(s, ticket_id):
    calls.start_service(s, s.get(Ticket, ticket_id), actor="doctor")


@pytest.mark.parametrize("step", [_cancel, _start], ids=["cancel", "start"])
def test_a_check_in_and_a_step_of_the_same_queue_both_finish(runtime, step):
    clear_of_midnight(runtime, 300)
    clinic = make_clinic(runtime, patients=2, **ALL_DAY)
    _department_queue(runtime, clinic)
    first = _booked_soon(runtime, clinic, patient=0)
    second = _booked_soon(runtime, clinic, patient=1, later_minutes=5)
    tz = runtime.settings.tz
    with runtime.db.transaction() as s:
        ticket_id = checkin.check_in(s, s.get(Visit, first), tz=tz, actor="desk").id
    if step is _start:
        with runtime.db.transaction() as s:
            queue_id = s.get(Ticket, ticket_id).queue_id
            calls.call_next(s, queue_id, room_id=clinic.room_ids[0], tz=tz, actor="doctor")

    def check_in_second():
        with runtime.db.transaction() as s:
            checkin.check_in(s, s.get(Visit, second), tz=tz)

    # The check-in is held just after it took its first event counters; the step then runs.
    answers = held_race(
        runtime,
        check_in_second,
        lambda s: step(s, ticket_id),
        holds=lambda statement, _parameters: "event_channels" in statement,
    )
    assert answers == {"first": "done", "step": "done"}, answers
