"""The calendar's steps that move an arrived patient's ticket (cancelling his visit, starting
or completing it, a doctor's absence moving his visits to another day), while a step of the
same queue moves another patient's ticket: both finish, on PostgreSQL, the production
database.

A step of the queue takes the queue day's row, then the queue's event counters, then the
calendars' (the visit following its ticket). The calendar's steps tell the calendars once
the ticket's step is done, and a bulk move once all its batch's tickets are: told first, they
held the calendars' counters while they waited for the day's row or the queue's counters,
which the queue's step held while it waited for the calendars': PostgreSQL failed one of the
two with a deadlock. So did the no-show sweep, told of one visit while it waited for the next
one's row, which a late check-in held while it waited for the calendars' counters."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.events.models import OutboxEvent
from clinic.queue import calls
from clinic.queue.models import Ticket, TicketStatus
from clinic.reference import price_list
from clinic.visits import booking, bulk, cancelling, checkin, offering
from clinic.visits import visits as v
from clinic.visits.events import VISIT_CHANGED, VisitStatus
from clinic.visits.models import Visit
from clinic.visits.told_last import calendars_told_last
from tests.races import held_race
from tests.visits.conftest import ALL_DAY, clear_of_midnight, make_clinic, slot_near
from tests.visits.test_api import _booked_soon, _department_queue

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])


def _event_counters(statement, _parameters) -> bool:
    return "event_channels" in statement


def _cancel(s, visit, tz):
    cancelling.cancel(s, visit, by="patient", reason="передумал", late_window_hours=0, tz=tz)


def _start(s, visit, tz):
    v.start(s, visit, tz=tz, actor="doctor")


def _complete(s, visit, tz):
    v.complete(s, visit, tz=tz, actor="doctor")


def _two_visits_soon(runtime):
    """A clinic whose doctor checks his patients in to the department's queue, and two of
    his visits of today, five minutes apart (the first booked first)."""
    clear_of_midnight(runtime, 300)
    clinic = make_clinic(runtime, patients=2, **ALL_DAY)
    _department_queue(runtime, clinic)
    first = _booked_soon(runtime, clinic, patient=0)
    return clinic, first, _booked_soon(runtime, clinic, patient=1, later_minutes=5)


@pytest.mark.parametrize("calendar_step", [_cancel, _start, _complete])
def test_a_calendar_step_and_a_step_of_the_same_queue_both_finish(runtime, calendar_step):
    clinic, first, second = _two_visits_soon(runtime)
    tz = runtime.settings.tz
    with runtime.db.transaction() as s:
        checkin.check_in(s, s.get(Visit, first), tz=tz, actor="desk")
        other_ticket = checkin.check_in(s, s.get(Visit, second), tz=tz, actor="desk").id
    if calendar_step is not _cancel:
        with runtime.db.transaction() as s:
            queue_id = s.get(Ticket, other_ticket).queue_id
            called = calls.call_next(s, queue_id, room_id=clinic.room_ids[0], tz=tz)
            assert called.visit_id == first
    if calendar_step is _complete:
        with runtime.db.transaction() as s:
            v.start(s, v.get_visit(s, first, lock=True), tz=tz)

    def on_the_calendar():
        # Held just after it took its first event counters; the desk then cancels the other
        # patient's ticket (its visit's calendars hear it).
        with runtime.db.transaction() as s:
            calendar_step(s, v.get_visit(s, first, lock=True), tz)

    def at_the_desk(s):
        calls.cancel(s, s.get(Ticket, other_ticket), actor="registrar", reason="ошибка")

    answers = held_race(runtime, on_the_calendar, at_the_desk, holds=_event_counters)
    assert answers == {"first": "done", "step": "done"}, answers


def test_a_bulk_move_of_arrived_patients_and_a_step_of_their_queue_both_finish(runtime):
    # The doctor falls ill: a job moves his visits of today to his next free slots (another
    # day: no colleague offers them), and his arrived patient's ticket leaves the department's
    # queue. Meanwhile the
    # desk cancels the ticket of a colleague's patient in that queue.
    clear_of_midnight(runtime, 300)
    clinic = make_clinic(runtime, doctors=2, patients=3, **ALL_DAY)
    _department_queue(runtime, clinic)
    tz = runtime.settings.tz
    near = slot_near(runtime)
    evening = near.astimezone(tz).hour >= 12
    # The scheduled visit is moved first (by time), the arrived one next.
    scheduled_at, arrived_at = sorted((near, near + timedelta(minutes=-5 if evening else 5)))
    with runtime.db.transaction() as s:
        booked = [
            booking.book(
                s, patient_id=clinic.patient_ids[i], doctor_id=clinic.doctor_ids[doctor],
                starts_at=at, tz=tz, now=at - timedelta(hours=1), service_ids=[clinic.service_id],
            ).id
            for i, (doctor, at) in enumerate(((0, scheduled_at), (0, arrived_at), (1, near)))
        ]  # fmt: skip
    with runtime.db.transaction() as s:
        moved_ticket = checkin.check_in(s, s.get(Visit, booked[1]), tz=tz, actor="desk").id
        colleagues_ticket = checkin.check_in(s, s.get(Visit, booked[2]), tz=tz, actor="desk").id
        # The colleague offers another service only from now on: nobody sees the arrived
        # patient today, and he goes to his doctor's next day, his ticket leaving the queue.
        other = price_list.create_service(
            s, {"code": f"ECG-{clinic.department_id}", "name_ru": "ЭКГ", "name_uz": "EKG",
                "name_en": "ECG", "price": 5_000_000, "duration_minutes": 20,
                "department_id": clinic.department_id},
        )  # fmt: skip
        offering.set_offered(s, clinic.doctor_ids[1], [other.id])
    today = near.astimezone(tz).date()
    with runtime.db.transaction() as s:
        _away, job = bulk.start_bulk_move(
            s, clinic.doctor_ids[0], kind="sick", first_day=today, last_day=today,
            search_days=2, today=today,
        )  # fmt: skip

    def the_job():
        # Held just after it took the department calendar's event counter.
        bulk.run_bulk_move(runtime.db.sessionmaker, job.id, tz=tz)

    def at_the_desk(s):
        calls.cancel(s, s.get(Ticket, colleagues_ticket), actor="registrar", reason="ошибка")

    def department_calendar(_statement, parameters) -> bool:
        return f"visits_department:{clinic.department_id}" in str(parameters)

    answers = held_race(runtime, the_job, at_the_desk, holds=department_calendar)
    assert answers == {"first": "done", "step": "done"}, answers
    with runtime.db.session() as s:
        assert s.get(Ticket, moved_ticket).status == TicketStatus.CANCELLED
        assert [s.get(Visit, i).starts_at.astimezone(tz).date() for i in booked[:2]] == [
            today + timedelta(days=1)
        ] * 2


def test_the_no_show_sweep_and_a_late_check_in_both_finish(runtime):
    # The sweep marks the doctor's past visits missed, one by one; the patient of the next
    # one on its list checks in late meanwhile: he is checked in, and the sweep leaves him.
    clinic, missed, late = _two_visits_soon(runtime)
    tz = runtime.settings.tz
    with runtime.db.session() as s:
        after_both = max(s.get(Visit, i).starts_at for i in (missed, late)) + timedelta(minutes=10)

    def the_sweep():
        # Held once done with the first visit, just before it marks the second one.
        with runtime.db.transaction() as s:
            cancelling.mark_no_shows(s, grace_minutes=1, tz=tz, now=after_both)

    def at_the_desk(s):
        checkin.check_in(s, v.get_visit(s, late, lock=True), tz=tz, actor="desk")

    def marking_the_late_one(statement, parameters) -> bool:
        return statement.startswith("UPDATE visits") and late in parameters.values()

    answers = held_race(runtime, the_sweep, at_the_desk, holds=marking_the_late_one, before=True)
    assert answers == {"first": "done", "step": "done"}, answers
    with runtime.db.session() as s:
        assert s.get(Visit, missed).status == VisitStatus.NO_SHOW
        assert s.get(Visit, late).status == VisitStatus.ARRIVED


def test_calendar_events_held_back_in_a_savepoint_rolled_back_are_never_recorded(runtime):
    clinic = make_clinic(runtime, patients=1, **ALL_DAY)
    visit_id = _booked_soon(runtime, clinic)
    with runtime.db.transaction() as s:
        visit = s.get(Visit, visit_id)
        with calendars_told_last(s):
            v.announce(s, visit, VISIT_CHANGED, {"action": "kept"})
            with pytest.raises(RuntimeError):
                with s.begin_nested():
                    v.announce(s, visit, VISIT_CHANGED, {"action": "undone"})
                    raise RuntimeError("the move is refused")
            assert s.query(OutboxEvent).filter(OutboxEvent.type == VISIT_CHANGED).count() == 0
    with runtime.db.session() as s:
        told = s.query(OutboxEvent).filter(OutboxEvent.type == VISIT_CHANGED).all()
        assert sorted((e.channel, e.data["action"]) for e in told) == [
            (v.department_channel(clinic.department_id), "kept"),
            (v.doctor_channel(clinic.doctor_ids[0]), "kept"),
        ]
