"""Visits at their edges: refused input, status changes that lost a race, walk-ins, check-in
without a queue, tickets carried over a move, weekly hours and exceptions refused field by
field, free slots around now, and notices that cannot be sent yet."""

from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import date, time, timedelta
from email.utils import parsedate_to_datetime

import pytest
from psycopg.errors import DeadlockDetected
from sqlalchemy import event, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from clinic import jobs
from clinic.base import iso, utcnow
from clinic.errors import Conflict, NotFound, ValidationFailed
from clinic.models import OutboxEvent, Ticket
from clinic.queue import admin as queue_admin
from clinic.queue.models import QueueDay, TicketStatus
from clinic.queue.numbering import ensure_day
from clinic.queue.tickets import clinic_day
from clinic.reference import directory as reference
from clinic.reference import price_list
from clinic.reference.models import Doctor
from clinic.visits import booking, bulk, checkin, notify, reminders, rescheduling, schedules, slots
from clinic.visits import visits as v
from clinic.visits.cancelling import cancel, mark_no_shows
from clinic.visits.events import ExceptionKind, MoveStatus, VisitKind, VisitStatus
from clinic.visits.models import DoctorService, Visit, VisitNotice
from tests.conftest import BACKENDS
from tests.visits.conftest import ALL_DAY, make_clinic, next_week_day, slot_near


def book(runtime, clinic, starts, *, patient=0, now=None, **kwargs) -> Visit:
    with runtime.db.transaction() as s:
        return booking.book(
            s,
            patient_id=clinic.patient_ids[patient],
            doctor_id=clinic.doctor_ids[0],
            starts_at=starts,
            tz=runtime.settings.tz,
            now=now,
            actor="desk",
            **kwargs,
        )


def errors_of(call) -> dict:
    with pytest.raises(ValidationFailed) as refused:
        call()
    return refused.value.errors


# --- booking --------------------------------------------------------------------------------


def test_a_booking_of_unknown_kind_or_without_a_time_zone_is_refused(runtime, clinic):
    day = next_week_day(runtime.settings.tz)
    assert "kind" in errors_of(lambda: book(runtime, clinic, clinic.at(day, 9), kind="house"))
    naive = clinic.at(day, 9).replace(tzinfo=None)
    assert errors_of(lambda: book(runtime, clinic, naive)) == {"starts_at": ["with an offset"]}


def test_an_inactive_doctor_takes_no_booking(runtime, clinic):
    with runtime.db.transaction() as s:
        reference.deactivate_doctor(s, clinic.doctor_ids[0])
    day = next_week_day(runtime.settings.tz)
    assert "doctor_id" in errors_of(lambda: book(runtime, clinic, clinic.at(day, 9)))


def test_services_are_a_list_of_active_services(runtime, clinic):
    day = next_week_day(runtime.settings.tz)
    at = clinic.at(day, 9)
    for bad in ("1", [True], [0]):
        assert errors_of(lambda: book(runtime, clinic, at, service_ids=bad)) == {
            "service_ids": ["a list of service ids"]
        }
    assert errors_of(lambda: book(runtime, clinic, at, service_ids=[999999])) == {
        "service_ids": ["no service 999999"]
    }


def test_a_walk_in_joins_the_slot_running_now_but_not_an_hour_gone(runtime, clinic):
    day = next_week_day(runtime.settings.tz)
    slot = clinic.at(day, 9)
    walk_in = book(runtime, clinic, slot, kind=VisitKind.WALK_IN, now=slot + timedelta(minutes=10))
    assert walk_in.kind == VisitKind.WALK_IN and walk_in.starts_at == slot
    with pytest.raises(booking.BookingRefused) as refused:
        book(runtime, clinic, clinic.at(day, 9, 20), patient=1, kind=VisitKind.WALK_IN,
             now=clinic.at(day, 10, 20))  # fmt: skip
    assert refused.value.code == "in_past"


def test_a_walk_in_is_not_booked_into_a_slot_that_is_over(runtime, clinic):
    day = next_week_day(runtime.settings.tz)
    # 09:50: the 09:00-09:20 slot ended half an hour ago, though it began within the hour.
    now = clinic.at(day, 9, 50)
    with pytest.raises(booking.BookingRefused) as refused:
        book(runtime, clinic, clinic.at(day, 9), kind=VisitKind.WALK_IN, now=now)
    assert refused.value.code == "in_past" and "starts_at" in refused.value.errors
    walk_in = book(runtime, clinic, clinic.at(day, 9, 40), kind=VisitKind.WALK_IN, now=now)
    with runtime.db.transaction() as s:
        # Booked into the running slot, the patient at the desk is no no-show yet.
        assert mark_no_shows(s, grace_minutes=30, now=now, tz=clinic.tz) == []
    assert walk_in.status == VisitStatus.SCHEDULED


def test_a_visit_that_would_run_past_the_end_of_the_hours_is_refused(runtime, clinic):
    with runtime.db.transaction() as s:
        long_one = price_list.create_service(
            s,
            {
                "code": "LONG-1",
                "name_ru": "Обследование",
                "name_uz": "Tekshiruv",
                "name_en": "Check-up",
                "price": 1,
                "duration_minutes": 60,
                "department_id": clinic.department_id,
            },
        )
    day = next_week_day(runtime.settings.tz)
    with pytest.raises(booking.BookingRefused) as refused:
        book(runtime, clinic, clinic.at(day, 12, 40), service_ids=[long_one.id])
    assert refused.value.code == "outside_hours"
    assert book(runtime, clinic, clinic.at(day, 12), service_ids=[long_one.id]).ends_at == (
        clinic.at(day, 13)
    )


def test_an_integrity_error_of_another_kind_is_no_booking_refusal():
    error = IntegrityError("INSERT", {}, Exception('null value in column "x"'))
    assert booking.constraint_refusal(error) is None


# --- a visit's day --------------------------------------------------------------------------


def test_a_visit_moves_only_along_its_allowed_statuses(runtime, clinic):
    day = next_week_day(runtime.settings.tz)
    visit = book(runtime, clinic, clinic.at(day, 9))
    with runtime.db.transaction() as s:
        visit = s.get(Visit, visit.id)
        with pytest.raises(Conflict) as refused:
            v.complete(s, visit, tz=clinic.tz, actor="doctor")
        assert refused.value.code == "status_changed"
        # No queue for this doctor: he sees his patients by the calendar alone.
        assert checkin.check_in(s, visit, tz=clinic.tz, now=clinic.at(day, 8, 50)) is None
        v.start(s, visit, tz=clinic.tz, actor="doctor")
        v.complete(s, visit, tz=clinic.tz, actor="doctor")
        assert visit.status == VisitStatus.COMPLETED and visit.ticket_id is None
        actions = [h["action"] for h in v.history(s, visit)]
    assert actions[-3:] == ["arrived", "started", "completed"]


def test_a_status_change_that_lost_a_race_is_refused(runtime, clinic):
    day = next_week_day(runtime.settings.tz)
    visit = book(runtime, clinic, clinic.at(day, 9))
    with runtime.db.session() as stale:
        seen = stale.get(Visit, visit.id)
        stale.commit()  # the screen's copy stays as it was read
        with runtime.db.transaction() as other:
            cancel(other, other.get(Visit, visit.id), by="clinic", reason="doctor ill",
                   late_window_hours=24)  # fmt: skip
        with pytest.raises(Conflict, match="changed meanwhile"):
            v.set_status(stale, seen, VisitStatus.ARRIVED, "desk", utcnow(), "arrived")
        stale.rollback()
    with runtime.db.session() as s:
        assert s.get(Visit, visit.id).status == VisitStatus.CANCELLED


def test_a_day_list_is_by_doctor_or_department_and_hides_cancelled_unless_asked(runtime):
    clinic = make_clinic(runtime, doctors=2)
    other = make_clinic(runtime)
    day = next_week_day(runtime.settings.tz)
    kept = book(runtime, clinic, clinic.at(day, 9))
    dropped = book(runtime, clinic, clinic.at(day, 10), patient=1)
    with runtime.db.transaction() as s:
        cancel(s, s.get(Visit, dropped.id), by="clinic", reason="x", late_window_hours=24)
    elsewhere = book(runtime, other, other.at(day, 9))
    tz = runtime.settings.tz
    with runtime.db.session() as s:

        def ids(**kwargs):
            return [x.id for x in v.day_visits(s, day, tz, **kwargs)]

        assert ids(doctor_id=clinic.doctor_ids[0]) == [kept.id]
        assert ids(doctor_id=clinic.doctor_ids[1]) == []
        assert ids(department_id=clinic.department_id, include_cancelled=True) == [
            kept.id,
            dropped.id,
        ]
        assert sorted(ids()) == sorted([kept.id, elsewhere.id])


def test_a_patient_who_did_not_come_stays_on_the_days_calendar_as_a_no_show(runtime, client):
    clinic = make_clinic(runtime, patients=2)
    day = next_week_day(runtime.settings.tz)
    missed = book(runtime, clinic, clinic.at(day, 9))
    dropped = book(runtime, clinic, clinic.at(day, 10), patient=1)
    with runtime.db.transaction() as s:
        cancel(s, s.get(Visit, dropped.id), by="patient", reason="x", late_window_hours=24)
        marked = mark_no_shows(s, grace_minutes=15, now=clinic.at(day, 9, 30), tz=clinic.tz)
        assert marked == [missed.id]
    listed = client.get(f"/api/v1/visits?day={day}&doctor_id={clinic.doctor_ids[0]}")
    assert listed.status_code == 200, listed.get_json()
    assert [(x["id"], x["status"]) for x in listed.get_json()] == [(missed.id, "no_show")]


# --- check-in and moves ---------------------------------------------------------------------


def test_a_visit_of_another_day_cannot_check_in(runtime, clinic):
    day = next_week_day(runtime.settings.tz)
    visit = book(runtime, clinic, clinic.at(day, 9))
    with runtime.db.transaction() as s:
        with pytest.raises(Conflict) as refused:
            checkin.check_in(s, s.get(Visit, visit.id), tz=clinic.tz)
    assert refused.value.code == "not_today"


def _checked_in_today(runtime):
    clinic = make_clinic(runtime, **ALL_DAY)
    with runtime.db.transaction() as s:
        queue_admin.create_queue(
            s,
            {
                "code": f"q{clinic.department_id}",
                "department_id": clinic.department_id,
                "closes_at": time(23, 59, 59, 999999),
            },
        )
    # The slot running now, booked an hour ago: today's at any hour (five minutes later is
    # tomorrow, or the day's last slot already begun, in the last ten minutes before midnight).
    starts = slot_near(runtime)
    visit = book(runtime, clinic, starts, now=starts - timedelta(hours=1))
    with runtime.db.transaction() as s:
        visit = s.get(Visit, visit.id)
        ticket = checkin.check_in(s, visit, tz=clinic.tz)
    return clinic, visit, ticket


def test_a_ticket_stays_with_a_visit_moved_within_its_day_and_queue(runtime):
    clinic, visit, ticket = _checked_in_today(runtime)
    with runtime.db.transaction() as s:
        visit = s.get(Visit, visit.id)
        kept = checkin.carry_ticket(s, visit, tz=clinic.tz, actor="desk", now=utcnow())
    assert kept == {"ticket": ticket.id, "action": "kept"}


def test_a_ticket_is_cancelled_when_its_visit_moves_to_another_day(runtime):
    clinic, visit, ticket = _checked_in_today(runtime)
    with runtime.db.transaction() as s:
        visit = s.get(Visit, visit.id)
        assert visit.status == VisitStatus.ARRIVED
        visit.starts_at += timedelta(days=2)
        visit.ends_at += timedelta(days=2)
        carried = checkin.carry_ticket(s, visit, tz=clinic.tz, actor="desk", now=utcnow())
        assert carried == {"ticket": ticket.id, "action": "cancelled"}
        assert visit.status == VisitStatus.SCHEDULED and visit.ticket_id is None
        assert s.get(Ticket, ticket.id).status == TicketStatus.CANCELLED
        assert [h["action"] for h in v.history(s, visit)][-1] == "back_to_scheduled"


def test_a_waiting_patient_moved_to_a_doctor_without_a_queue_leaves_the_first_ones_queue(runtime):
    clinic, visit, ticket = _checked_in_today(runtime)
    elsewhere = make_clinic(runtime, **ALL_DAY)  # a department that works without a queue
    with runtime.db.transaction() as s:
        visit = s.get(Visit, visit.id)
        visit.doctor = s.get(Doctor, elsewhere.doctor_ids[0])
        visit.department_id = elsewhere.department_id
        carried = checkin.carry_ticket(s, visit, tz=clinic.tz, actor="desk", now=utcnow())
        assert carried == {"ticket": ticket.id, "action": "cancelled"}
        # Nobody calls him from the first doctor's queue; he waits, arrived, for the second.
        assert s.get(Ticket, ticket.id).status == TicketStatus.CANCELLED
        assert visit.status == VisitStatus.ARRIVED and visit.ticket_id is None


def test_a_waiting_patient_moved_to_a_colleague_whose_queue_has_closed_waits_for_him_arrived(
    runtime,
):
    clinic, visit, ticket = _checked_in_today(runtime)
    elsewhere = make_clinic(runtime, **ALL_DAY)
    with runtime.db.transaction() as s:  # the colleague works later than his queue calls
        queue = queue_admin.create_queue(
            s,
            {"code": f"q{elsewhere.department_id}", "department_id": elsewhere.department_id,
             "doctor_id": elsewhere.doctor_ids[0]},
        )  # fmt: skip
        today = clinic_day(utcnow(), clinic.tz)
        ensure_day(s, queue, today)
        s.execute(
            update(QueueDay)
            .where(QueueDay.queue_id == queue.id, QueueDay.day == today)
            .values(closed_at=utcnow())
        )
    with runtime.db.transaction() as s:
        visit = s.get(Visit, visit.id)
        visit.doctor = s.get(Doctor, elsewhere.doctor_ids[0])
        visit.department_id = elsewhere.department_id
        carried = checkin.carry_ticket(s, visit, tz=clinic.tz, actor="desk", now=utcnow())
        assert carried == {"ticket": ticket.id, "action": "cancelled"}
        assert s.get(Ticket, ticket.id).status == TicketStatus.CANCELLED
        assert visit.status == VisitStatus.ARRIVED and visit.ticket_id is None


def test_a_move_says_why_and_gives_the_time_zone(runtime, clinic):
    day = next_week_day(runtime.settings.tz)
    visit = book(runtime, clinic, clinic.at(day, 9))
    with runtime.db.transaction() as s:
        to = clinic.at(day, 10)
        assert errors_of(
            lambda: rescheduling.request_move(s, visit.id, starts_at=to, reason=" ")
        ) == {"reason": ["required"]}
        assert errors_of(
            lambda: rescheduling.request_move(
                s, visit.id, starts_at=to.replace(tzinfo=None), reason="x"
            )
        ) == {"starts_at": ["with an offset"]}


def test_a_move_is_carried_out_once_and_a_late_refusal_keeps_its_outcome(runtime, clinic):
    day = next_week_day(runtime.settings.tz)
    visit = book(runtime, clinic, clinic.at(day, 9))
    with runtime.db.transaction() as s:
        job_id = rescheduling.request_move(
            s, visit.id, starts_at=clinic.at(day, 11), reason="doctor late"
        ).id
    with runtime.db.transaction() as s:
        first = rescheduling.carry_out(s, job_id, tz=clinic.tz, max_moves=3)
    with runtime.db.transaction() as s:
        again = rescheduling.carry_out(s, job_id, tz=clinic.tz, max_moves=3)
        rescheduling.refuse(s, job_id, Conflict("too late", code="doctor_busy"))
        move = rescheduling.move_for_job(s, job_id)
        assert move.status == MoveStatus.DONE and move.outcome == first
    assert again == first and first["moved"] is True
    with runtime.db.session() as s:
        assert s.get(Visit, visit.id).starts_at == clinic.at(day, 11)
        assert s.get(Visit, visit.id).moves == 1


def test_a_move_sent_twice_moves_the_visit_once_counts_once_and_tells_the_patient_once(
    runtime, clinic
):
    day = next_week_day(runtime.settings.tz)
    visit = book(runtime, clinic, clinic.at(day, 9), notify_email="patient@example.test")
    with runtime.db.transaction() as s:
        # The move dialog sent twice (a double click, a client's retry): two requests.
        first, second = (
            rescheduling.request_move(s, visit.id, starts_at=clinic.at(day, 11), reason="late").id
            for _ in range(2)
        )
    with runtime.db.transaction() as s:
        assert rescheduling.carry_out(s, first, tz=clinic.tz, max_moves=2)["moved"] is True
    with runtime.db.transaction() as s:
        again = rescheduling.carry_out(s, second, tz=clinic.tz, max_moves=2)
        assert rescheduling.move_for_job(s, second).status == MoveStatus.DONE
    assert again["moved"] is False and again["to"]["starts_at"] == iso(clinic.at(day, 11))
    with runtime.db.session() as s:
        moved = s.get(Visit, visit.id)
        assert moved.starts_at == clinic.at(day, 11) and moved.moves == 1
        assert [h["action"] for h in v.history(s, moved)] == ["booked", "rescheduled"]
        assert s.query(VisitNotice).filter(VisitNotice.visit_id == visit.id).count() == 1
    with runtime.db.transaction() as s:
        # The patient's own next move is still his to make (the limit counts real moves).
        third = rescheduling.request_move(s, visit.id, starts_at=clinic.at(day, 12), reason="x")
    with runtime.db.transaction() as s:
        assert rescheduling.carry_out(s, third.id, tz=clinic.tz, max_moves=2)["moved"] is True


def test_a_job_that_moves_no_visit_cannot_be_carried_out(runtime):
    with runtime.db.transaction() as s:
        job_id = jobs.create_job(s, kind="visit_move", task_name="visits.move").id
        with pytest.raises(ValidationFailed, match="moves no visit"):
            rescheduling.carry_out(s, job_id, tz=runtime.settings.tz, max_moves=3)


def test_a_bulk_move_searches_at_most_a_month_ahead(runtime, clinic):
    day = next_week_day(runtime.settings.tz)
    with runtime.db.transaction() as s:
        for days in (-1, bulk.MAX_SEARCH_DAYS + 1):
            assert "search_days" in errors_of(
                lambda: bulk.start_bulk_move(
                    s,
                    clinic.doctor_ids[0],
                    kind=ExceptionKind.SICK,
                    first_day=day,
                    last_day=day,
                    search_days=days,
                )
            )


# --- weekly hours and exceptions ------------------------------------------------------------


def test_weekly_hours_are_refused_row_by_row_and_field_by_field(runtime, clinic):
    doctor_id = clinic.doctor_ids[0]
    with runtime.db.transaction() as s:
        assert errors_of(lambda: schedules.set_week(s, doctor_id, {"weekday": 0})) == {
            "days": ["a list of at most 50 rows"]
        }
        errors = errors_of(
            lambda: schedules.set_week(
                s,
                doctor_id,
                [
                    "monday",
                    {"weekday": True, "starts": "9:00", "ends": "13:00", "room_id": 999999},
                    {"weekday": 1, "starts": "13:00", "ends": "09:00", "breaks": "lunch"},
                    {
                        "weekday": 2,
                        "starts": "09:00",
                        "ends": "13:00",
                        "breaks": [["11:00"], ["12:30", "13:30"], ["10:00", "1000"]],
                        "slot_minutes": 4,
                        "capacity": 21,
                    },
                ],
            )
        )
    assert errors == {
        "days.0": ["an object"],
        "days.1.weekday": ["a whole number from 0 to 6"],
        "days.1.starts": ["a time as HH:MM"],
        "days.1.room_id": ["no such room"],
        "days.2.ends": ["after starts"],
        "days.2.breaks": ['a list of ["HH:MM", "HH:MM"]'],
        "days.3.breaks": [
            'each break is ["HH:MM", "HH:MM"]',
            "each break lies inside the hours",
            "a time as HH:MM",
        ],
        "days.3.slot_minutes": ["a whole number from 5 to 480"],
        "days.3.capacity": ["a whole number from 1 to 20"],
    }


def test_weekly_hours_written_with_digits_other_than_ascii_are_no_times(runtime, clinic):
    rows = [
        {"weekday": 0, "starts": "0\u0669:00", "ends": "13:00"},  # Arabic-Indic nine
        {"weekday": 1, "starts": "09:00", "ends": "1\uff13:00"},  # full-width three
        {"weekday": 2, "starts": "09:00\n", "ends": "13:00", "breaks": [["11:00", "11:3\u0660"]]},
    ]
    with runtime.db.transaction() as s:
        errors = errors_of(lambda: schedules.set_week(s, clinic.doctor_ids[0], rows))
    assert errors == {
        "days.0.starts": ["a time as HH:MM"],
        "days.1.ends": ["a time as HH:MM"],
        "days.2.starts": ["a time as HH:MM"],
        "days.2.breaks": ["a time as HH:MM"],
    }


def test_a_week_with_a_lunch_break_reads_back_as_it_was_set(runtime, clinic):
    doctor_id, room_id = clinic.doctor_ids[0], clinic.room_ids[0]
    with runtime.db.transaction() as s:
        schedules.set_week(
            s,
            doctor_id,
            [
                {"weekday": 0, "starts": "09:00", "ends": "13:00", "breaks": [["11:00", "11:30"]],
                 "slot_minutes": 30, "capacity": 2, "room_id": room_id},
            ],
        )  # fmt: skip
    with runtime.db.session() as s:
        week = [schedules.hours_as_dict(r) for r in schedules.week_of(s, doctor_id)]
    assert len(week) == 1
    assert {k: week[0][k] for k in ("weekday", "starts", "ends", "breaks")} == {
        "weekday": 0,
        "starts": "09:00",
        "ends": "13:00",
        "breaks": [["11:00", "11:30"]],
    }
    assert week[0]["slot_minutes"] == 30 and week[0]["capacity"] == 2
    assert week[0]["room_id"] == room_id


def test_exceptions_are_refused_field_by_field(runtime, clinic):
    doctor_id = clinic.doctor_ids[0]
    day = date(2026, 3, 2)
    with runtime.db.transaction() as s:

        def refused(**kwargs):
            return errors_of(lambda: schedules.add_exception(s, **kwargs))

        assert set(refused(kind="party", first_day=day, last_day=day)) == {"kind", "doctor_id"}
        assert refused(kind="holiday", doctor_id=doctor_id, first_day=day, last_day=day) == {
            "doctor_id": ["a clinic holiday names no doctor"]
        }
        before = day - timedelta(days=1)
        assert refused(kind="leave", doctor_id=doctor_id, first_day=day, last_day=before) == {
            "last_day": ["on or after first_day"]
        }
        too_far = day + timedelta(days=367)
        assert refused(kind="leave", doctor_id=doctor_id, first_day=day, last_day=too_far) == {
            "last_day": ["at most a year after first_day"]
        }


def test_the_same_days_away_declared_twice_are_stored_once(runtime, clinic):
    doctor_id, day = clinic.doctor_ids[0], date(2026, 3, 2)
    week = {"first_day": day, "last_day": day + timedelta(days=6)}
    with runtime.db.transaction() as s:
        first = schedules.add_exception(s, kind="leave", doctor_id=doctor_id, **week).id
        schedules.add_exception(s, kind="holiday", **week)
        with pytest.raises(Conflict) as again:
            schedules.add_exception(s, kind="leave", doctor_id=doctor_id, **week)
        assert again.value.code == "already_declared" and str(first) in again.value.detail
        # Said at the form's field, as every refusal is.
        assert str(first) in again.value.errors["first_day"][0]
        with pytest.raises(Conflict):
            schedules.add_exception(s, kind="holiday", **week)
        # Other days, or another kind over the same days (sick during leave), are their own.
        schedules.add_exception(s, kind="sick", doctor_id=doctor_id, **week)
        schedules.add_exception(s, kind="leave", doctor_id=doctor_id, first_day=day, last_day=day)


# --- free slots -----------------------------------------------------------------------------


def test_free_slots_are_asked_for_a_short_forward_range(runtime, clinic):
    day = next_week_day(runtime.settings.tz)
    with runtime.db.session() as s:
        assert errors_of(
            lambda: slots.free_slots(s, tz=clinic.tz, first_day=day, last_day=day - timedelta(1))
        ) == {"to": ["on or after from"]}
        assert "to" in errors_of(
            lambda: slots.free_slots(s, tz=clinic.tz, first_day=day, last_day=day + timedelta(400))
        )


def test_free_slots_start_after_now(runtime, clinic):
    day = next_week_day(runtime.settings.tz)
    with runtime.db.session() as s:
        found = slots.free_slots(
            s, tz=clinic.tz, first_day=day, last_day=day + timedelta(1),
            doctor_id=clinic.doctor_ids[0], now=clinic.at(day, 12, 10), limit=None,
        )  # fmt: skip
    starts = [x["starts_at"] for x in found]
    # 12:20 and 12:40 are left today; the next day is whole (09:00-13:00, 12 slots).
    assert starts[:3] == [
        clinic.at(day, 12, 20),
        clinic.at(day, 12, 40),
        clinic.at(day + timedelta(1), 9),
    ]
    assert len(starts) == 2 + 12
    with runtime.db.session() as s:
        evening = slots.free_slots(
            s, tz=clinic.tz, first_day=day, last_day=day + timedelta(1),
            doctor_id=clinic.doctor_ids[0], now=clinic.at(day, 14), limit=None,
        )  # fmt: skip
    # Today's hours are over: only tomorrow's slots.
    assert [x["starts_at"] for x in evening] == starts[2:]


def test_free_slots_need_a_doctor_a_department_or_a_service(runtime, clinic):
    day = next_week_day(runtime.settings.tz)
    with runtime.db.session() as s:
        assert "doctor_id" in errors_of(
            lambda: slots.free_slots(s, tz=clinic.tz, first_day=day, last_day=day)
        )


def test_the_slot_after_a_visit_is_free_however_long_the_days_longest_visit(runtime, clinic):
    with runtime.db.transaction() as s:
        hour = price_list.create_service(
            s,
            {"code": "HOUR-1", "name_ru": "Обследование", "name_uz": "Tekshiruv",
             "name_en": "Check-up", "price": 1, "duration_minutes": 60,
             "department_id": clinic.department_id},
        )  # fmt: skip
    day = next_week_day(runtime.settings.tz)
    book(runtime, clinic, clinic.at(day, 9), service_ids=[hour.id])
    book(runtime, clinic, clinic.at(day, 10), patient=1)
    with runtime.db.session() as s:
        found = slots.free_slots(
            s, tz=clinic.tz, first_day=day, last_day=day, doctor_id=clinic.doctor_ids[0],
            now=clinic.at(day, 8), limit=None,
        )  # fmt: skip
    starts = [x["starts_at"] for x in found]
    assert starts[0] == clinic.at(day, 10, 20)
    assert clinic.at(day, 10) not in starts and clinic.at(day, 9, 40) not in starts


def test_free_slots_of_a_service_in_a_department_without_its_doctors_are_none(runtime):
    clinic = make_clinic(runtime)
    other = make_clinic(runtime)
    day = next_week_day(runtime.settings.tz)
    with runtime.db.session() as s:

        def found(**kwargs):
            return slots.free_slots(s, tz=clinic.tz, first_day=day, last_day=day, **kwargs)

        assert found(service_id=clinic.service_id, department_id=other.department_id) == []
        own = found(service_id=clinic.service_id, department_id=clinic.department_id)
        assert {x["doctor_id"] for x in own} == {clinic.doctor_ids[0]}
        with pytest.raises(NotFound):
            found(service_id=999999)
        assert errors_of(lambda: found(department_id="x")) == {"department_id": ["unknown"]}


def test_a_doctor_with_a_service_list_offers_only_what_it_lists(runtime):
    clinic = make_clinic(runtime)
    with runtime.db.transaction() as s:
        listed = price_list.create_service(
            s,
            {"code": "LIST-1", "name_ru": "Узи", "name_uz": "UZI", "name_en": "Ultrasound",
             "price": 1, "department_id": clinic.department_id},
        )  # fmt: skip
        unlisted = clinic.service_id
        s.add(DoctorService(doctor_id=clinic.doctor_ids[0], service_id=listed.id))
    with runtime.db.transaction() as s:
        doctor = schedules.get_doctor(s, clinic.doctor_ids[0])
        assert slots.offers(s, doctor, [listed.id]) == []
        assert slots.offers(s, doctor, [listed.id, unlisted, 999999]) == [unlisted, 999999]
        price_list.deactivate_service(s, listed.id)
        assert slots.offers(s, doctor, [listed.id]) == [listed.id]


# --- notices --------------------------------------------------------------------------------


def _notice(runtime, clinic) -> int:
    day = next_week_day(runtime.settings.tz)
    visit = book(runtime, clinic, clinic.at(day, 9), notify_email="patient@example.test")
    with runtime.db.transaction() as s:
        visit = s.get(Visit, visit.id)
        notice = notify.write_notice(
            s,
            visit,
            key=reminders.reminder_key(visit),
            kind="reminder",
            subject="Приём",
            body="Завтра",
        )
        return notice.id


def test_without_a_mail_server_configured_notices_wait(runtime, clinic):
    notice_id = _notice(runtime, clinic)
    unconfigured = notify.EmailNotifier(
        runtime.settings.__class__(**{**vars(runtime.settings), "smtp_host": ""})
    )
    assert (
        notify.send_notices(runtime.db.sessionmaker, unconfigured, lease_seconds=60, tz=clinic.tz)
        == 0
    )
    with runtime.db.session() as s:
        notice = s.get(VisitNotice, notice_id)
        assert notice.attempts == 0 and notice.sent_at is None


def test_a_notice_the_mail_server_does_not_take_is_left_for_a_later_try(runtime, clinic, caplog):
    notice_id = _notice(runtime, clinic)  # nobody listens on this test's SMTP port
    with caplog.at_level(logging.WARNING, logger="clinic.visits.notify"):
        sent = notify.send_notices(
            runtime.db.sessionmaker,
            notify.EmailNotifier(runtime.settings),
            lease_seconds=0,
            tz=clinic.tz,
        )
    assert sent == 0 and f"notice {notice_id} not sent" in caplog.text
    with runtime.db.session() as s:
        notice = s.get(VisitNotice, notice_id)
        assert notice.attempts == 1 and notice.sent_at is None


def test_notices_a_mail_server_keeps_refusing_do_not_keep_new_ones_from_going(runtime):
    clinic = make_clinic(runtime, patients=3)
    day = next_week_day(runtime.settings.tz)
    addresses = ["typo@exmaple.test", "typo2@exmaple.test", "patient@example.test"]
    with runtime.db.transaction() as s:
        for i, address in enumerate(addresses):
            visit = booking.book(
                s, patient_id=clinic.patient_ids[i], doctor_id=clinic.doctor_ids[0],
                starts_at=clinic.at(day, 9, 20 * i), tz=clinic.tz, notify_email=address,
            )  # fmt: skip
            notify.write_notice(
                s, visit, key=f"moved:{i}", kind="rescheduled", subject="Приём", body="В 9:00"
            )
        # The first two were written long ago and refused at every try since.
        s.execute(update(VisitNotice).where(VisitNotice.key != "moved:2").values(attempts=40))

    class Refusing:
        def __init__(self) -> None:
            self.sent: list[str] = []

        def send(self, to, subject, body):
            if "exmaple" in to:
                raise smtplib.SMTPRecipientsRefused({to: (550, b"no such domain")})
            self.sent.append(to)

    notifier = Refusing()
    notify.send_notices(runtime.db.sessionmaker, notifier, lease_seconds=0, tz=clinic.tz, limit=2)
    assert notifier.sent == ["patient@example.test"]


def test_a_visits_notices_go_in_the_order_written_when_the_first_was_refused_once(runtime):
    clinic = make_clinic(runtime)
    day = next_week_day(runtime.settings.tz)
    visit = book(runtime, clinic, clinic.at(day, 9), notify_email="patient@example.test")
    with runtime.db.transaction() as s:
        visit = s.get(Visit, visit.id)
        for key, subject in (("moved:1", "Перенесён"), ("cancelled:1", "Отменён")):
            notify.write_notice(s, visit, key=key, kind="rescheduled", subject=subject, body=".")
        # The mail server was down when the move was told; the cancellation came after.
        s.execute(update(VisitNotice).where(VisitNotice.key == "moved:1").values(attempts=1))
    outbox = _Outbox()
    notify.send_notices(runtime.db.sessionmaker, outbox, lease_seconds=0, tz=clinic.tz)
    assert [subject for _to, subject, _body in outbox.sent] == ["Перенесён", "Отменён"]


class _RecordingSMTP:
    calls: list = []

    def __init__(self, host, port, timeout):
        self.calls.append(("connect", host, port, timeout))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.quit()

    def quit(self):
        self.calls.append(("quit",))

    def close(self):
        pass

    def starttls(self, context=None):
        # The server's certificate is checked, for its host name.
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
        self.calls.append(("starttls",))

    def login(self, user, password):
        self.calls.append(("login", user, password))

    def send_message(self, message):
        self.calls.append(("send", message["To"], str(message["Subject"])))


def test_mail_goes_over_starttls_and_logs_in_when_configured(runtime, monkeypatch):
    monkeypatch.setattr(notify.smtplib, "SMTP", _RecordingSMTP)
    _RecordingSMTP.calls = []
    settings = runtime.settings.__class__(
        **{
            **vars(runtime.settings),
            "smtp_starttls": True,
            "smtp_user": "clinic",
            "smtp_password": "mail-secret",
        }
    )
    notify.EmailNotifier(settings).send("patient@example.test", "Приём", "Завтра в 9:00")
    assert [c[0] for c in _RecordingSMTP.calls] == ["connect", "starttls", "login", "send", "quit"]
    assert _RecordingSMTP.calls[2] == ("login", "clinic", "mail-secret")
    assert _RecordingSMTP.calls[3] == ("send", "patient@example.test", "Приём")


def test_a_notice_to_a_patient_is_dated_in_clinic_time(runtime, mailbox):
    notify.EmailNotifier(runtime.settings).send("patient@example.test", "Приём", "Завтра в 9:00")
    (mail,) = mailbox.wait_for(1)
    assert mail["raw"]["Date"] is not None, "every message carries its date (RFC 5322)"
    dated = parsedate_to_datetime(str(mail["raw"]["Date"]))
    now = utcnow()
    assert dated.utcoffset() == now.astimezone(runtime.settings.tz).utcoffset()
    assert abs(dated - now) < timedelta(minutes=1)


class _Outbox:
    """A notifier that keeps what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append((to, subject, body))


def test_a_bulk_move_skips_a_slot_where_the_patient_is_busy_and_tells_the_patient(runtime):
    clinic = make_clinic(runtime)
    elsewhere = make_clinic(runtime)
    day = next_week_day(runtime.settings.tz)
    after = day + timedelta(days=1)
    visit = book(runtime, clinic, clinic.at(day, 9), notify_email="patient@example.test")
    with runtime.db.transaction() as s:
        # The patient sees another doctor at the first free time of his own doctor.
        booking.book(
            s, patient_id=clinic.patient_ids[0], doctor_id=elsewhere.doctor_ids[0],
            starts_at=elsewhere.at(after, 9), tz=clinic.tz,
        )  # fmt: skip
        _away, job = bulk.start_bulk_move(
            s, clinic.doctor_ids[0], kind=ExceptionKind.SICK, first_day=day, last_day=day,
            search_days=3, actor="manager",
        )  # fmt: skip
    outbox = _Outbox()
    result = bulk.run_bulk_move(runtime.db.sessionmaker, job.id, tz=clinic.tz, notifier=outbox)
    assert result["unplaced"] == [] and len(result["moved"]) == 1
    with runtime.db.session() as s:
        moved = s.get(Visit, visit.id)
        assert moved.starts_at == clinic.at(after, 9, 20)
        assert moved.doctor_id == clinic.doctor_ids[0]
    assert [to for to, _subject, _body in outbox.sent] == ["patient@example.test"]


def _away_for_the_day(s, clinic, day, kind=ExceptionKind.SICK):
    """The clinic's first doctor away on ``day``: the exception and its bulk-move job."""
    return bulk.start_bulk_move(
        s, clinic.doctor_ids[0], kind=kind, first_day=day, last_day=day, search_days=1,
        actor="desk",
    )  # fmt: skip


def test_a_doctor_sent_home_at_ten_has_the_patient_already_waiting_moved_too(runtime):
    clinic = make_clinic(runtime)
    day = next_week_day(runtime.settings.tz)
    waiting = book(runtime, clinic, clinic.at(day, 9), now=clinic.at(day, 8))
    later = book(runtime, clinic, clinic.at(day, 11), patient=1, now=clinic.at(day, 8))
    ten = clinic.at(day, 10)
    with runtime.db.transaction() as s:
        arrived = v.get_visit(s, waiting.id, lock=True)
        checkin.check_in(s, arrived, tz=clinic.tz, now=clinic.at(day, 8, 50))
        _away, job = _away_for_the_day(s, clinic, day)
    result = bulk.run_bulk_move(runtime.db.sessionmaker, job.id, tz=clinic.tz, now=ten)
    assert result["total"] == 2 and result["unplaced"] == []
    assert {m["visit_id"] for m in result["moved"]} == {waiting.id, later.id}
    with runtime.db.session() as s:
        moved = s.get(Visit, waiting.id)
        assert moved.starts_at > ten and moved.status == VisitStatus.SCHEDULED


def test_a_visit_the_clinic_moved_for_an_absent_doctor_leaves_the_patient_his_own_moves(
    runtime,
):
    clinic = make_clinic(runtime)
    day = next_week_day(runtime.settings.tz)
    visit = book(runtime, clinic, clinic.at(day, 9))
    with runtime.db.transaction() as s:
        _away, job = _away_for_the_day(s, clinic, day)
    result = bulk.run_bulk_move(runtime.db.sessionmaker, job.id, tz=clinic.tz)
    assert [m["visit_id"] for m in result["moved"]] == [visit.id]
    with runtime.db.transaction() as s:
        assert s.get(Visit, visit.id).moves == 0
        job_id = rescheduling.request_move(
            s, visit.id, starts_at=clinic.at(day + timedelta(days=1), 11), reason="patient asks"
        ).id
    with runtime.db.transaction() as s:
        # A limit of one move: the patient's own, untouched by the clinic's.
        assert rescheduling.carry_out(s, job_id, tz=clinic.tz, max_moves=1)["moved"] is True


def test_an_absence_taken_back_before_its_bulk_move_ran_moves_nothing_and_ends_the_job(
    runtime,
):
    clinic = make_clinic(runtime)
    day = next_week_day(runtime.settings.tz)
    visit = book(runtime, clinic, clinic.at(day, 9))
    with runtime.db.transaction() as s:
        away, job = _away_for_the_day(s, clinic, day, ExceptionKind.DAY_OFF)
    with runtime.db.transaction() as s:
        schedules.remove_exception(s, away.id)  # declared by mistake
    result = bulk.run_bulk_move(runtime.db.sessionmaker, job.id, tz=clinic.tz)
    assert result["withdrawn"] is True and result["moved"] == [] and result["total"] == 0
    assert result["doctor_id"] == clinic.doctor_ids[0]
    with runtime.db.session() as s:
        assert s.get(Visit, visit.id).starts_at == clinic.at(day, 9)


def test_a_visit_moved_to_another_department_leaves_its_old_calendar(runtime):
    clinic = make_clinic(runtime)
    other = make_clinic(runtime)
    day = next_week_day(runtime.settings.tz)
    visit = book(runtime, clinic, clinic.at(day, 9))
    with runtime.db.transaction() as s:
        job_id = rescheduling.request_move(
            s, visit.id, starts_at=other.at(day, 10), doctor_id=other.doctor_ids[0],
            reason="another specialist",
        ).id  # fmt: skip
    with runtime.db.transaction() as s:
        assert rescheduling.carry_out(s, job_id, tz=clinic.tz, max_moves=3)["moved"] is True
    with runtime.db.session() as s:
        channels = set(
            s.scalars(select(OutboxEvent.channel).where(OutboxEvent.type == "visit.rescheduled"))
        )
    assert {
        v.department_channel(clinic.department_id),
        v.department_channel(other.department_id),
        v.doctor_channel(clinic.doctor_ids[0]),
        v.doctor_channel(other.doctor_ids[0]),
    } <= channels


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL is not in TEST_DATABASES")
@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_seat_the_database_refuses_for_the_patient_is_refused_at_once(runtime):
    # The exclusion constraints are PostgreSQL's (SQLite serializes bookings instead).
    clinic = make_clinic(runtime, doctors=2)
    day = next_week_day(runtime.settings.tz)
    book(runtime, clinic, clinic.at(day, 9))
    clash = Visit(
        patient_id=clinic.patient_ids[0], doctor_id=clinic.doctor_ids[1],
        department_id=clinic.department_id, starts_at=clinic.at(day, 9),
        ends_at=clinic.at(day, 9, 20), seat=0, kind="scheduled", status=VisitStatus.SCHEDULED,
        moves=0, late_cancellation=False,
    )  # fmt: skip
    with runtime.db.transaction() as s:
        with pytest.raises(booking.BookingConflict) as refused:
            booking.hold_seat(s, clash, [0, 1])
        assert refused.value.code == "patient_busy"


def test_a_booking_failed_by_a_deadlock_tries_its_seat_again(runtime):
    """An exclusion constraint waits for rows not yet committed: two bookings inserted at the
    same instant can each wait for the other, and PostgreSQL fails one with a deadlock (seen
    with twenty desks booking one slot). The booking steps back and tries its seat again,
    instead of answering 503; a deadlock that keeps coming back is still an error."""
    clinic = make_clinic(runtime)
    nine = clinic.at(next_week_day(runtime.settings.tz), 9)
    deadlock = OperationalError("INSERT INTO visits", {}, DeadlockDetected("deadlock detected"))

    def visit():
        return Visit(
            patient_id=clinic.patient_ids[0], doctor_id=clinic.doctor_ids[0],
            department_id=clinic.department_id, starts_at=nine,
            ends_at=nine + timedelta(minutes=20), seat=0, kind="scheduled",
            status=VisitStatus.SCHEDULED, moves=0, late_cancellation=False,
        )  # fmt: skip

    def deadlocked(session, times):
        flush, tries = session.flush, []

        def flush_after_deadlocks(*args, **kwargs):
            if session.get_nested_transaction() is not None:  # the insert, in its savepoint
                tries.append(1)
                if len(tries) <= times:
                    raise deadlock
            return flush(*args, **kwargs)

        session.flush = flush_after_deadlocks
        return tries

    with runtime.db.transaction() as s:
        tries = deadlocked(s, 2)
        booking.hold_seat(s, visit(), [0])
        assert len(tries) == 3
    with runtime.db.session() as s:
        [booked] = s.scalars(select(Visit)).all()
    # A move writes its seat the same way.
    with runtime.db.transaction() as s:
        tries = deadlocked(s, 1)
        rescheduling.move_visit(
            s, s.get(Visit, booked.id), starts_at=clinic.at(nine.date(), 10), doctor_id=None,
            tz=runtime.settings.tz, max_moves=3, actor="desk", reason="r", now=utcnow(),
        )  # fmt: skip
        assert len(tries) == 2
    with runtime.db.session() as s:
        moved = s.get(Visit, booked.id)
        assert (moved.starts_at, moved.moves) == (clinic.at(nine.date(), 10), 1)
    with runtime.db.transaction() as s:
        tries = deadlocked(s, booking.DEADLOCK_TRIES)
        with pytest.raises(OperationalError):
            booking.hold_seat(s, visit(), [1])
        assert len(tries) == booking.DEADLOCK_TRIES
        s.rollback()


def test_a_visit_the_database_refuses_for_another_reason_is_not_a_booking_refusal(runtime):
    clinic = make_clinic(runtime)
    day = next_week_day(runtime.settings.tz)
    orphan = Visit(
        patient_id=999999, doctor_id=clinic.doctor_ids[0], department_id=clinic.department_id,
        starts_at=clinic.at(day, 9), ends_at=clinic.at(day, 9, 20), seat=0, kind="scheduled",
        status=VisitStatus.SCHEDULED, moves=0, late_cancellation=False,
    )  # fmt: skip
    with runtime.db.transaction() as s:
        with pytest.raises(IntegrityError):
            booking.hold_seat(s, orphan, [0])
        s.rollback()


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL is not in TEST_DATABASES")
@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_move_that_loses_the_patients_time_to_another_booking_is_refused(runtime):
    # Another desk books the patient at the new time between the move's check and its write:
    # the database's constraint, not the check, has the last word.
    clinic = make_clinic(runtime, doctors=2)
    day = next_week_day(runtime.settings.tz)
    visit = book(runtime, clinic, clinic.at(day, 9))
    with runtime.db.transaction() as s:
        job_id = rescheduling.request_move(
            s, visit.id, starts_at=clinic.at(day, 11), reason="doctor late"
        ).id

    def the_other_desk(_session, _context, _instances):
        with runtime.db.transaction() as other:
            booking.book(
                other, patient_id=clinic.patient_ids[0], doctor_id=clinic.doctor_ids[1],
                starts_at=clinic.at(day, 11), tz=clinic.tz,
            )  # fmt: skip

    with runtime.db.session() as s:
        event.listen(s, "before_flush", the_other_desk, once=True)
        with pytest.raises(booking.BookingConflict) as refused:
            rescheduling.carry_out(s, job_id, tz=clinic.tz, max_moves=3)
        s.rollback()
    assert refused.value.code == "patient_busy"
    with runtime.db.session() as s:
        assert s.get(Visit, visit.id).starts_at == clinic.at(day, 9)


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL is not in TEST_DATABASES")
@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_patient_who_arrives_as_the_no_show_sweep_reaches_him_stays_arrived(runtime, clinic):
    day = next_week_day(runtime.settings.tz)
    first = book(runtime, clinic, clinic.at(day, 9))
    second = book(runtime, clinic, clinic.at(day, 9, 20), patient=1)
    arrived = []

    def the_desk_checks_him_in(_session, transaction):
        if transaction.nested and not arrived:
            with runtime.db.transaction() as desk:
                visit = desk.get(Visit, first.id)
                v.set_status(desk, visit, VisitStatus.ARRIVED, "desk", utcnow(), "arrived")
            arrived.append(first.id)

    with runtime.db.transaction() as s:
        event.listen(s, "after_transaction_create", the_desk_checks_him_in)
        marked = mark_no_shows(s, grace_minutes=30, now=clinic.at(day, 12), tz=clinic.tz)
    assert marked == [second.id] and arrived == [first.id]
    with runtime.db.session() as s:
        assert s.get(Visit, first.id).status == VisitStatus.ARRIVED
        assert s.get(Visit, second.id).status == VisitStatus.NO_SHOW


def test_unknown_doctors_and_departments_are_404_in_every_listing(runtime, clinic, client):
    day = next_week_day(runtime.settings.tz)
    for path in (
        f"/api/v1/visits/slots?department_id=999999&from={day}&to={day}",
        f"/api/v1/visits?day={day}&department_id=999999",
        f"/api/v1/visits?day={day}&doctor_id=999999",
    ):
        answer = client.get(path)
        assert answer.status_code == 404, (path, answer.get_json())
        assert set(answer.get_json()["errors"]) & {"doctor_id", "department_id"}, path
    # A doctor of another department than the one named has no slots there.
    other = make_clinic(runtime)
    mixed = client.get(
        f"/api/v1/visits/slots?doctor_id={clinic.doctor_ids[0]}"
        f"&department_id={other.department_id}&from={day}&to={day}"
    )
    assert mixed.status_code == 200 and mixed.get_json() == []
    # Numbers and days are written one way: ASCII digits, YYYY-MM-DD.
    for query in (
        f"doctor_id=%EF%BC%92&from={day}&to={day}",
        f"doctor_id={clinic.doctor_ids[0]}&limit=%EF%BC%92&from={day}&to={day}",
        f"doctor_id={clinic.doctor_ids[0]}&from={day:%Y%m%d}&to={day}",
        f"doctor_id={clinic.doctor_ids[0]}&from={day:%G-W%V-%u}&to={day}",
    ):
        answer = client.get(f"/api/v1/visits/slots?{query}")
        assert answer.status_code == 422, (query, answer.get_json())


def test_a_holiday_declared_by_mistake_is_taken_back_and_its_days_are_bookable_again(
    runtime, clinic, client, client_as
):
    day = next_week_day(runtime.settings.tz)
    slots_of_day = f"/api/v1/visits/slots?doctor_id={clinic.doctor_ids[0]}&from={day}&to={day}"
    before = client.get(slots_of_day).get_json()
    assert before
    declared = client.post(
        "/api/v1/schedule-exceptions",
        json={"kind": "holiday", "first_day": str(day), "last_day": str(day)},
    )
    assert declared.status_code == 201, declared.get_json()
    assert client.get(slots_of_day).get_json() == []
    exception_id = declared.get_json()["id"]
    path = f"/api/v1/schedule-exceptions/{exception_id}"
    assert client_as("doctor").delete(path).status_code == 403
    removed = client.delete(path)
    assert removed.status_code == 200 and removed.get_json()["id"] == exception_id
    assert client.get(slots_of_day).get_json() == before
    assert client.delete(path).status_code == 404


def test_a_visit_left_on_a_day_its_doctor_was_away_is_cancelled_by_the_clinic_not_a_no_show(
    runtime, clinic
):
    day = next_week_day(runtime.settings.tz)
    kept = book(runtime, clinic, clinic.at(day, 9))
    left = book(runtime, clinic, clinic.at(day + timedelta(days=7), 9), patient=1)
    with runtime.db.transaction() as s:  # he fell ill; nobody moved the patient booked then
        schedules.add_exception(
            s, kind=ExceptionKind.SICK, first_day=day + timedelta(days=7),
            last_day=day + timedelta(days=7), doctor_id=clinic.doctor_ids[0],
        )  # fmt: skip
    with runtime.db.transaction() as s:
        marked = mark_no_shows(
            s, grace_minutes=30, now=clinic.at(day + timedelta(days=7), 12), tz=clinic.tz
        )
    assert marked == [kept.id]
    with runtime.db.session() as s:
        assert s.get(Visit, kept.id).status == VisitStatus.NO_SHOW
        cancelled = s.get(Visit, left.id)
        assert (cancelled.status, cancelled.cancelled_by) == (VisitStatus.CANCELLED, "clinic")
        assert not cancelled.late_cancellation and "sick" in cancelled.cancel_reason
