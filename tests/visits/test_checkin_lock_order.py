"""A check-in at the desk while the same doctor's queue moves another patient's ticket (the
desk cancels it, the doctor starts him): both finish, on PostgreSQL, the production database.

Check-in announces the arrival on the calendars' channels once its ticket is issued, after the
queue day's row, in the order a step of the queue takes them (the day's row, then the
calendars' event counters). Announced before the ticket, the check-in held the calendars'
counters while it waited for the day's row, which the step held while it waited for those
counters: PostgreSQL failed one of them with a deadlock."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, text

from clinic.queue import calls
from clinic.queue.models import Ticket
from clinic.visits import checkin
from clinic.visits.models import Visit
from tests.races import wait_for, waits_for_a_lock
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

    # The check-in is held just after it took its first event counters; the step then runs.
    checking_in, counters_taken, go_on = {}, threading.Event(), threading.Event()

    def hold(_conn, _cursor, statement, *_args):
        if threading.get_ident() == checking_in.get("id") and not counters_taken.is_set():
            if "event_channels" in statement:
                counters_taken.set()
                go_on.wait(30)

    answers, step_pids = {}, []

    def check_in_second():
        checking_in["id"] = threading.get_ident()
        try:
            with runtime.db.transaction() as s:
                answers["check-in"] = checkin.check_in(s, s.get(Visit, second), tz=tz).id
        except Exception as exc:  # noqa: BLE001 - asserted below
            answers["check-in"] = exc

    def run_step():
        try:
            with runtime.db.transaction() as s:
                step_pids.append(s.scalar(text("SELECT pg_backend_pid()")))
                step(s, ticket_id)
                answers["step"] = "done"
        except Exception as exc:  # noqa: BLE001 - asserted below
            answers["step"] = exc

    engine = runtime.db.engine
    event.listen(engine, "after_cursor_execute", hold)
    try:
        first_thread = threading.Thread(target=check_in_second)
        first_thread.start()
        assert counters_taken.wait(30)
        second_thread = threading.Thread(target=run_step)
        second_thread.start()
        wait_for(lambda: "step" in answers or waits_for_a_lock(runtime, step_pids))
        go_on.set()
        first_thread.join(30)
        second_thread.join(30)
    finally:
        go_on.set()
        event.remove(engine, "after_cursor_execute", hold)
    assert isinstance(answers["check-in"], int), answers
    assert answers["step"] == "done", answers
