"""A doctor away for five days: a job moves his 200 visits, reporting progress live."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import and_, func, insert, select
from sqlalchemy.orm import aliased

from clinic.base import iso
from clinic.reference import price_list
from clinic.visits import booking, bulk, schedules
from clinic.visits.events import VisitStatus
from clinic.visits.models import DoctorService, Visit, VisitEvent, VisitService
from tests.conftest import ONE_BACKEND
from tests.visits.conftest import make_clinic, next_week_day
from tests.visits.test_rescheduling import wait_jobs
from tests.wsclient import WSClient

VISITS = 200
PER_DAY = 40

# Two hundred bookings and a hundred moves cost seconds; the rules they rely on (booking
# checks, exclusion constraints, serialised SQLite writers) are proven on both backends by
# the booking and rescheduling tests, so this one runs on the production database.
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])


def book_alike(session, booked: Visit, others: list[tuple[int, datetime]]) -> None:
    """Visits like ``booked`` (made by ``booking.book``) for each (patient, start) of
    ``others``, written in three statements: its row, its services and its history, each
    copied with only the patient and the times changed. Booking 200 visits one by one took
    two seconds of CPU, and what the booking checks is not what the tests of this file prove
    (its calendar events are not copied: nothing here reads them)."""
    session.flush()

    def columns(row) -> dict:
        return {c.key: getattr(row, c.key) for c in row.__mapper__.column_attrs}

    length = booked.ends_at - booked.starts_at
    first = {k: v for k, v in columns(booked).items() if k != "id"}
    ids = session.scalars(
        insert(Visit).returning(Visit.id, sort_by_parameter_order=True),
        [{**first, "patient_id": patient_id, "starts_at": starts, "ends_at": starts + length}
         for patient_id, starts in others],
    ).all()  # fmt: skip
    services = [columns(row) for row in booked.services]
    history = [
        {k: v for k, v in columns(row).items() if k != "id"}
        for row in session.scalars(select(VisitEvent).where(VisitEvent.visit_id == booked.id))
    ]
    if services:
        session.execute(
            insert(VisitService), [{**row, "visit_id": i} for i in ids for row in services]
        )
    if history:
        session.execute(
            insert(VisitEvent), [{**row, "visit_id": i} for i in ids for row in history]
        )


def overlapping_pairs(session, *same) -> int:
    """Pairs of holding visits that overlap in time and agree on the ``same`` columns."""
    a, b = aliased(Visit), aliased(Visit)
    holding = VisitStatus.HOLDING
    return session.scalar(
        select(func.count())
        .select_from(a)
        .join(
            b,
            and_(
                a.id < b.id,
                a.starts_at < b.ends_at,
                b.starts_at < a.ends_at,
                *[getattr(a, c) == getattr(b, c) for c in same],
            ),
        )
        .where(a.status.in_(holding), b.status.in_(holding))
    )


@pytest.mark.heavy
def test_bulk_move_of_200_visits_reports_progress_places_what_fits_and_overlaps_nothing(
    runtime, live_server, admin_token, worker
):
    clinic = make_clinic(runtime, doctors=3, patients=VISITS, hours=("08:00", "21:20"))
    away_doctor, colleague, other_service_only = clinic.doctor_ids
    tz = runtime.settings.tz
    first = next_week_day(tz)
    with runtime.db.transaction() as s:
        for doctor_id in (colleague, other_service_only):
            schedules.set_week(
                s, doctor_id,
                [{"weekday": d, "starts": "08:00", "ends": "12:00"} for d in range(7)],
            )  # fmt: skip
        other = price_list.create_service(
            s, {"code": "OTHER-1", "name_ru": "Другое", "name_uz": "Boshqa", "name_en": "Other",
                "price": 100, "department_id": clinic.department_id},
        )  # fmt: skip
        s.add(DoctorService(doctor_id=other_service_only, service_id=other.id))
        booked = booking.book(
            s, patient_id=clinic.patient_ids[0], doctor_id=away_doctor,
            starts_at=clinic.at(first, 8), tz=tz, service_ids=[clinic.service_id],
        )  # fmt: skip
        book_alike(
            s, booked,
            [(clinic.patient_ids[i],
              clinic.at(first + timedelta(days=i // PER_DAY), 8)
              + timedelta(minutes=20 * (i % PER_DAY)))
             for i in range(1, VISITS)],
        )  # fmt: skip
    last = first + timedelta(days=VISITS // PER_DAY - 1)

    response = requests.post(
        f"{live_server}/api/v1/doctors/{away_doctor}/away",
        json={"kind": "leave", "first_day": iso(first), "last_day": iso(last),
              "note": "отпуск", "search_days": 1},
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=30,
    )  # fmt: skip
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    ws = WSClient(live_server, token=admin_token)
    try:
        ws.subscribe(f"job:{job_id}", last_id=0)
        messages = ws.until(lambda m: m.get("type") in ("job.succeeded", "job.failed"), timeout=60)
    finally:
        ws.ws.close()
    progress = [m["data"]["done"] for m in messages if m.get("type") == "job.progress"]
    assert progress == list(range(20, VISITS + 1, 20))

    job = wait_jobs(runtime, [job_id])[job_id]
    assert job.status == "succeeded", job.error
    result = job.result
    # The away doctor's day after his leave holds 40, the colleague's mornings 12 x 6 = 72;
    # the colleague who does not offer the service takes none; the rest wait for a call.
    assert result["total"] == VISITS
    assert len(result["moved"]) == PER_DAY + 72 and len(result["unplaced"]) == VISITS - 112
    with runtime.db.session() as s:
        assert overlapping_pairs(s, "doctor_id", "seat") == 0
        assert overlapping_pairs(s, "patient_id") == 0
        visits = {v.id: v for v in s.scalars(select(Visit))}
    for moved in result["moved"]:
        visit = visits[moved["visit_id"]]
        assert iso(visit.starts_at) == moved["to"]["starts_at"]
        assert visit.doctor_id == moved["to"]["doctor_id"]
    by_doctor = {d: sum(1 for m in result["moved"] if m["to"]["doctor_id"] == d)
                 for d in clinic.doctor_ids}  # fmt: skip
    assert by_doctor == {away_doctor: PER_DAY, colleague: 72, other_service_only: 0}
    after_leave = schedules.day_bounds(last + timedelta(days=1), tz)
    assert all(
        after_leave[0] <= visits[m["visit_id"]].starts_at < after_leave[1]
        for m in result["moved"]
        if m["to"]["doctor_id"] == away_doctor
    )
    still = {u["visit_id"] for u in result["unplaced"]}
    assert {i for i, v in visits.items() if v.doctor_id == away_doctor
            and v.starts_at < after_leave[0]} == still  # fmt: skip


def test_a_visit_longer_than_a_slot_goes_where_all_its_minutes_are_free(runtime):
    # The day after the absence has single free slots between visits (09:20, 10:00, ...)
    # and the first two free in a row at 12:40: the 40-minute visit goes there, not unplaced.
    clinic = make_clinic(runtime, patients=7, hours=("09:00", "14:00"))
    tz = runtime.settings.tz
    day = next_week_day(tz)
    after = day + timedelta(days=1)
    with runtime.db.transaction() as s:
        long_one = price_list.create_service(
            s, {"code": "ECHO-9", "name_ru": "УЗИ", "name_uz": "UTT", "name_en": "Ultrasound",
                "price": 1, "duration_minutes": 40, "department_id": clinic.department_id},
        )  # fmt: skip
        visit = booking.book(
            s, patient_id=clinic.patient_ids[0], doctor_id=clinic.doctor_ids[0],
            starts_at=clinic.at(day, 9), tz=tz, service_ids=[long_one.id],
        )  # fmt: skip
        for i, minute in enumerate((0, 40, 80, 120, 160, 200)):
            booking.book(
                s, patient_id=clinic.patient_ids[i + 1], doctor_id=clinic.doctor_ids[0],
                starts_at=clinic.at(after, 9) + timedelta(minutes=minute), tz=tz,
            )  # fmt: skip
        _away, job = bulk.start_bulk_move(
            s, clinic.doctor_ids[0], kind="sick", first_day=day, last_day=day, search_days=1
        )
    result = bulk.run_bulk_move(runtime.db.sessionmaker, job.id, tz=tz)
    assert result["unplaced"] == []
    assert [m["visit_id"] for m in result["moved"]] == [visit.id]
    assert result["moved"][0]["to"]["starts_at"] == iso(clinic.at(after, 12, 40))
    assert result["moved"][0]["to"]["ends_at"] == iso(clinic.at(after, 13, 20))


def test_a_visit_whose_service_the_price_list_dropped_goes_to_a_colleague_all_the_same(runtime):
    clinic = make_clinic(runtime, doctors=2)
    tz = runtime.settings.tz
    day = next_week_day(tz)
    with runtime.db.transaction() as s:
        visit = booking.book(
            s, patient_id=clinic.patient_ids[0], doctor_id=clinic.doctor_ids[0],
            starts_at=clinic.at(day, 9), tz=tz, service_ids=[clinic.service_id],
        )  # fmt: skip
        price_list.deactivate_service(s, clinic.service_id)
        _away, job = bulk.start_bulk_move(
            s, clinic.doctor_ids[0], kind="sick", first_day=day, last_day=day, search_days=0
        )
    result = bulk.run_bulk_move(runtime.db.sessionmaker, job.id, tz=tz)
    assert result["unplaced"] == []
    assert result["moved"][0]["visit_id"] == visit.id
    assert result["moved"][0]["to"]["doctor_id"] == clinic.doctor_ids[1]
    assert result["moved"][0]["to"]["starts_at"] == iso(clinic.at(day, 9))


def test_a_long_leave_in_a_large_department_moves_a_late_visit_to_its_own_time(runtime):
    # The colleague's five-minute slots round the clock: the three weeks away hold more
    # free slots than one search answers by default (5,000), and the last week's must count.
    clinic = make_clinic(runtime, doctors=2, hours=("00:00", "23:55"), slot=5)
    away, colleague = clinic.doctor_ids
    first = next_week_day(clinic.tz)
    last = first + timedelta(days=20)
    with runtime.db.transaction() as s:
        booking.book(
            s, patient_id=clinic.patient_ids[0], doctor_id=away,
            starts_at=clinic.at(last, 10), tz=clinic.tz, actor="desk",
        )  # fmt: skip
        _, job = bulk.start_bulk_move(
            s, away, kind="leave", first_day=first, last_day=last, search_days=0, actor="chief"
        )
    result = bulk.run_bulk_move(runtime.db.sessionmaker, job.id, tz=clinic.tz)
    assert result["unplaced"] == []
    assert [m["to"] for m in result["moved"]] == [
        {"starts_at": iso(clinic.at(last, 10)), "ends_at": iso(clinic.at(last, 10, 5)),
         "doctor_id": colleague}  # fmt: skip
    ]
