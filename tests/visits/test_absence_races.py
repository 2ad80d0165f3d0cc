"""A doctor's absence declared, or his week saved, at the very moment a registrar books him:
the answer that lists the visits left to move does not miss the one being booked."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from clinic.errors import Conflict, ValidationFailed
from clinic.reference import directory as reference
from clinic.visits import booking, schedules
from clinic.visits import visits as v
from clinic.visits import week_change
from clinic.visits.models import ScheduleException
from tests.races import wait_for, waits_for_a_lock
from tests.visits.conftest import make_clinic, next_week_day


def _while_booking(runtime, clinic, day, other) -> tuple[int, list]:
    """Book a visit at 09:00 on ``day`` and, before it commits, run ``other(session)`` in a
    second transaction; returns the visit's id and what ``other`` answered."""
    pids, answers = [], []

    def run():
        with runtime.db.transaction() as s:
            pids.append(s.scalar(text("SELECT pg_backend_pid()")))
            answers.append(other(s))

    with runtime.db.transaction() as s:
        visit = booking.book(
            s, patient_id=clinic.patient_ids[0], doctor_id=clinic.doctor_ids[0],
            starts_at=clinic.at(day, 9), tz=clinic.tz, actor="registrar",
        )  # fmt: skip
        visit_id = visit.id
        second = threading.Thread(target=run)
        second.start()
        wait_for(lambda: answers or waits_for_a_lock(runtime, pids), what="the second change")
    second.join(timeout=30)
    return visit_id, answers


# PostgreSQL only: SQLite lets one writer in at a time, so the two cannot overlap there.
@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_sick_day_declared_while_the_doctor_is_being_booked_lists_that_visit(runtime):
    clinic = make_clinic(runtime)
    day = next_week_day(clinic.tz)
    doctor = clinic.doctor_ids[0]

    def declare(s):
        schedules.add_exception(s, kind="sick", first_day=day, last_day=day, doctor_id=doctor)
        return v.standing_between(s, day, day, clinic.tz, doctor_id=doctor)

    visit_id, answers = _while_booking(runtime, clinic, day, declare)
    assert answers == [[visit_id]]


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_week_saved_while_the_doctor_is_being_booked_lists_that_visit(runtime):
    clinic = make_clinic(runtime)
    day = next_week_day(clinic.tz)
    doctor = clinic.doctor_ids[0]
    afternoons = [{"weekday": day.weekday(), "starts": "14:00", "ends": "18:00"}]

    def save(s):
        schedules.set_week(s, doctor, afternoons)
        return week_change.visits_outside_hours(s, doctor, clinic.tz)

    visit_id, answers = _while_booking(runtime, clinic, day, save)
    assert answers == [[visit_id]]


def _booking_during(runtime, clinic, day, change) -> list:
    """Run ``change(session)`` and, before it commits, book the doctor at 09:00 on ``day`` in
    a second transaction; returns what the booking came to (a visit id, or its refusal)."""
    pids, outcome = [], []

    def book():
        try:
            with runtime.db.transaction() as s:
                pids.append(s.scalar(text("SELECT pg_backend_pid()")))
                visit = booking.book(
                    s, patient_id=clinic.patient_ids[1], doctor_id=clinic.doctor_ids[0],
                    starts_at=clinic.at(day, 9), tz=clinic.tz, actor="registrar",
                )  # fmt: skip
                s.flush()
                outcome.append(visit.id)
        except (booking.BookingRefused, booking.BookingConflict) as refused:
            outcome.append(refused.code)

    with runtime.db.transaction() as s:
        change(s)
        registrar = threading.Thread(target=book)
        registrar.start()
        wait_for(lambda: outcome or waits_for_a_lock(runtime, pids), what="the booking")
    registrar.join(timeout=30)
    return outcome


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_booking_made_while_a_sick_day_is_being_declared_is_refused_as_away(runtime):
    clinic = make_clinic(runtime)
    day = next_week_day(clinic.tz)

    def declare(s):
        schedules.add_exception(
            s, kind="sick", first_day=day, last_day=day, doctor_id=clinic.doctor_ids[0]
        )

    assert _booking_during(runtime, clinic, day, declare) == ["doctor_away"]


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_booking_made_while_a_week_is_being_saved_follows_the_new_hours(runtime):
    clinic = make_clinic(runtime)
    day = next_week_day(clinic.tz)
    afternoons = [{"weekday": day.weekday(), "starts": "14:00", "ends": "18:00"}]

    def save(s):
        schedules.set_week(s, clinic.doctor_ids[0], afternoons)

    assert _booking_during(runtime, clinic, day, save) == ["outside_hours"]


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_holiday_sent_twice_at_once_is_declared_once(runtime):
    """A double click on the holiday form: the second request finds the first's holiday
    (already_declared), as it does one after the other; taking the holiday back then
    opens the clinic, instead of leaving a second copy that keeps it closed."""
    make_clinic(runtime)
    day = next_week_day(runtime.settings.tz)
    pids, answers = [], []

    def declare_again():
        try:
            with runtime.db.transaction() as s:
                pids.append(s.scalar(text("SELECT pg_backend_pid()")))
                schedules.add_exception(s, kind="holiday", first_day=day, last_day=day)
                answers.append("declared")
        except Conflict as refused:
            answers.append(refused.code)

    with runtime.db.transaction() as s:
        schedules.add_exception(s, kind="holiday", first_day=day, last_day=day)
        second = threading.Thread(target=declare_again)
        second.start()
        wait_for(lambda: answers or waits_for_a_lock(runtime, pids), what="the second request")
    second.join(timeout=30)
    assert answers == ["already_declared"]
    with runtime.db.session() as s:
        assert s.query(ScheduleException).count() == 1


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_booking_made_while_the_doctor_is_being_deactivated_is_refused_at_doctor_id(runtime):
    """The doctor leaves (deactivated) at the instant a registrar books him: the booking,
    which read him as working before it waited for his row, is refused, as any booking of a
    doctor who has left is, not booked for a doctor nobody will see."""
    clinic = make_clinic(runtime)
    day = next_week_day(clinic.tz)
    pids, outcome = [], []

    def book():
        try:
            with runtime.db.transaction() as s:
                pids.append(s.scalar(text("SELECT pg_backend_pid()")))
                visit = booking.book(
                    s, patient_id=clinic.patient_ids[1], doctor_id=clinic.doctor_ids[0],
                    starts_at=clinic.at(day, 9), tz=clinic.tz, actor="registrar",
                )  # fmt: skip
                s.flush()
                outcome.append(visit.id)
        except ValidationFailed as refused:
            outcome.append(sorted(refused.errors))

    with runtime.db.transaction() as s:
        reference.deactivate_doctor(s, clinic.doctor_ids[0])
        registrar = threading.Thread(target=book)
        registrar.start()
        wait_for(lambda: outcome or waits_for_a_lock(runtime, pids), what="the booking")
    registrar.join(timeout=30)
    assert outcome == [["doctor_id"]]
