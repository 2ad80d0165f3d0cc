"""A bulk move looks through every free slot of its search, not the nearest few: a patient
busy elsewhere at the nearest ones still gets the next slot where he is free."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from clinic.visits import booking, bulk, checkin
from clinic.visits.events import VisitStatus
from clinic.visits.models import Visit
from tests.visits.conftest import make_clinic, next_week_day


def test_a_visit_whose_nearest_slots_clash_with_the_patients_other_visit_goes_to_the_next_free(
    runtime,
):
    clinic = make_clinic(runtime, doctors=1, hours=("09:00", "13:00"), slot=20)
    # Another department's doctor, whose one slot a day lasts the whole morning.
    elsewhere = make_clinic(runtime, doctors=1, hours=("09:00", "13:00"), slot=240)
    doctor, patient = clinic.doctor_ids[0], clinic.patient_ids[0]
    day = next_week_day(clinic.tz)
    with runtime.db.transaction() as s:
        visit = booking.book(
            s, patient_id=patient, doctor_id=doctor, starts_at=clinic.at(day, 9),
            tz=clinic.tz, actor="desk",
        ).id  # fmt: skip
        # The day after, the patient spends the whole morning at the other doctor's: every
        # one of his own doctor's twelve slots that day clashes with it.
        other = booking.book(
            s, patient_id=patient, doctor_id=elsewhere.doctor_ids[0],
            starts_at=clinic.at(day + timedelta(days=1), 9), tz=clinic.tz, actor="desk",
        ).id  # fmt: skip
        _, job = bulk.start_bulk_move(
            s, doctor, kind="sick", first_day=day, last_day=day, search_days=2, actor="chief"
        )
    result = bulk.run_bulk_move(runtime.db.sessionmaker, job.id, tz=clinic.tz)

    assert result["unplaced"] == [], result
    assert [m["visit_id"] for m in result["moved"]] == [visit]
    with runtime.db.session() as s:
        moved, kept = s.get(Visit, visit), s.get(Visit, other)
        # The first slot where he is free: his doctor's first one of the second day after.
        assert (moved.doctor_id, moved.starts_at) == (doctor, clinic.at(day + timedelta(days=2), 9))
        assert moved.status == VisitStatus.SCHEDULED
        assert kept.starts_at == clinic.at(day + timedelta(days=1), 9)
        mine = s.scalars(
            select(Visit).where(Visit.patient_id == patient, Visit.status.in_(VisitStatus.HOLDING))
        ).all()
    spans = sorted((v.starts_at, v.ends_at) for v in mine)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), spans


def test_each_visit_left_unplaced_says_why_for_the_registrar_who_calls_its_patient(runtime):
    clinic = make_clinic(runtime, doctors=1, patients=3, hours=("09:00", "10:00"), slot=20)
    elsewhere = make_clinic(runtime, doctors=1, hours=("09:00", "10:00"), slot=60)
    doctor = clinic.doctor_ids[0]
    day, after = next_week_day(clinic.tz), next_week_day(clinic.tz) + timedelta(days=1)
    with runtime.db.transaction() as s:
        busy, placed, nowhere = [
            booking.book(
                s, patient_id=clinic.patient_ids[i], doctor_id=doctor,
                starts_at=clinic.at(day, 9, 20 * i), tz=clinic.tz, actor="desk",
            ).id
            for i in range(3)
        ]  # fmt: skip
        # The first patient is at the other doctor's the whole morning of the day after.
        booking.book(
            s, patient_id=clinic.patient_ids[0], doctor_id=elsewhere.doctor_ids[0],
            starts_at=clinic.at(after, 9), tz=clinic.tz, actor="desk",
        )  # fmt: skip
        # Two of his doctor's three slots of that day are taken by other patients.
        for i in (1, 2):
            booking.book(
                s, patient_id=elsewhere.patient_ids[i], doctor_id=doctor,
                starts_at=clinic.at(after, 9, 20 * i), tz=clinic.tz, actor="desk",
            )  # fmt: skip
        _, job = bulk.start_bulk_move(
            s, doctor, kind="sick", first_day=day, last_day=day, search_days=1, actor="chief"
        )
    result = bulk.run_bulk_move(runtime.db.sessionmaker, job.id, tz=clinic.tz)

    # The one free slot of the search (09:00 the day after) falls while the first patient is
    # elsewhere; the second takes it, and the third finds none left.
    assert [m["visit_id"] for m in result["moved"]] == [placed]
    assert [(u["visit_id"], u["reason"]) for u in result["unplaced"]] == [
        (busy, "patient_busy"),
        (nowhere, "no_free_slot"),
    ]


def test_a_patient_waiting_in_the_clinic_goes_to_a_colleague_today_the_others_to_their_doctor(
    runtime,
):
    """A doctor sent home at ten: the patient already waiting for him (arrived) is seen by a
    colleague of the department that day, not sent home to come back on his doctor's next
    day; a patient booked for later, not yet here, keeps his own doctor, on the day after."""
    clinic = make_clinic(runtime, doctors=2, hours=("09:00", "13:00"), slot=20)
    doctor, colleague = clinic.doctor_ids
    day = next_week_day(clinic.tz)
    with runtime.db.transaction() as s:
        waiting, later = (
            booking.book(
                s, patient_id=clinic.patient_ids[n], doctor_id=doctor, starts_at=clinic.at(day, h),
                tz=clinic.tz, actor="desk", now=clinic.at(day, 8),
            )  # fmt: skip
            for n, h in ((0, 9), (1, 11))
        )
        checkin.check_in(s, waiting, tz=clinic.tz, now=clinic.at(day, 8, 50))
        waiting, later = waiting.id, later.id
        _, job = bulk.start_bulk_move(
            s, doctor, kind="sick", first_day=day, last_day=day, search_days=1, actor="chief"
        )
    ten = clinic.at(day, 10)
    result = bulk.run_bulk_move(runtime.db.sessionmaker, job.id, tz=clinic.tz, now=ten)

    assert result["unplaced"] == [] and {m["visit_id"] for m in result["moved"]} == {
        waiting,
        later,
    }
    with runtime.db.session() as s:
        seen_today, kept = s.get(Visit, waiting), s.get(Visit, later)
        assert seen_today.doctor_id == colleague
        assert ten <= seen_today.starts_at < clinic.at(day, 13)
        assert seen_today.status == VisitStatus.ARRIVED  # still in the clinic, waiting
        assert kept.doctor_id == doctor
        assert kept.starts_at.astimezone(clinic.tz).date() == day + timedelta(days=1)
        assert kept.status == VisitStatus.SCHEDULED
