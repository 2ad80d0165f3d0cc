"""A bulk move weighs each free slot with the length the visit would have there: a colleague's
grid of other slot lengths makes it shorter or longer than it is with its own doctor, and
whether the patient is at another visit then is asked of that length."""

from __future__ import annotations

from datetime import timedelta

from clinic.visits import booking, bulk, schedules
from clinic.visits.models import Visit
from tests.visits.conftest import WEEKDAYS, make_clinic, next_week_day


def _slots_of(runtime, doctor_id: int, minutes: int) -> None:
    with runtime.db.transaction() as s:
        schedules.set_week(
            s, doctor_id,
            [{"weekday": d, "starts": "10:00", "ends": "12:00", "slot_minutes": minutes}
             for d in WEEKDAYS],
        )  # fmt: skip


def _away_with_one_free_colleague_slot(runtime, *, own: int, colleagues: int, free_at: int):
    """Doctor A (slots of ``own`` minutes) has a visit at 10:00 the day he is away; colleague
    B (slots of ``colleagues`` minutes) is booked that day all but his slot at 10:``free_at``;
    A's patient is at another department's doctor at 10:45. Returns the clinic, the day, the
    visit and the job's result."""
    clinic = make_clinic(runtime, doctors=2, patients=2, hours=("10:00", "12:00"), slot=own)
    elsewhere = make_clinic(runtime, doctors=1, hours=("10:00", "12:00"), slot=15)
    a, b = clinic.doctor_ids
    _slots_of(runtime, b, colleagues)
    patient, other_patient = clinic.patient_ids
    day, tz = next_week_day(clinic.tz), clinic.tz
    with runtime.db.transaction() as s:
        visit = booking.book(
            s, patient_id=patient, doctor_id=a, starts_at=clinic.at(day, 10), tz=tz, actor="desk"
        ).id
        booking.book(
            s, patient_id=patient, doctor_id=elsewhere.doctor_ids[0],
            starts_at=clinic.at(day, 10, 45), tz=tz, actor="desk",
        )  # fmt: skip
        for minute in range(0, 120, colleagues):
            if minute != free_at:
                booking.book(
                    s, patient_id=other_patient, doctor_id=b, tz=tz, actor="desk",
                    starts_at=clinic.at(day, 10) + timedelta(minutes=minute),
                )  # fmt: skip
        _, job = bulk.start_bulk_move(
            s, a, kind="sick", first_day=day, last_day=day, search_days=0, actor="chief"
        )
    return clinic, day, visit, bulk.run_bulk_move(runtime.db.sessionmaker, job.id, tz=tz)


def test_a_colleagues_shorter_slot_that_ends_when_the_patients_other_visit_begins_takes_him(
    runtime,
):
    # A's visit lasts 10:00-10:30; in B's 15-minute slot at 10:30 it lasts until 10:45, when
    # the patient's other visit begins: it fits.
    clinic, day, visit, result = _away_with_one_free_colleague_slot(
        runtime, own=30, colleagues=15, free_at=30
    )

    assert result["unplaced"] == [], result
    assert [m["visit_id"] for m in result["moved"]] == [visit]
    with runtime.db.session() as s:
        moved = s.get(Visit, visit)
        assert (moved.doctor_id, moved.starts_at, moved.ends_at) == (
            clinic.doctor_ids[1],
            clinic.at(day, 10, 30),
            clinic.at(day, 10, 45),
        )


def test_a_colleagues_longer_slot_over_the_patients_other_visit_leaves_him_patient_busy(
    runtime,
):
    # A's visit lasts 10:00-10:15; in B's 30-minute slot at 10:30 it would last until 11:00,
    # over the patient's visit of 10:45: the registrar is told he is busy elsewhere then.
    clinic, day, visit, result = _away_with_one_free_colleague_slot(
        runtime, own=15, colleagues=30, free_at=30
    )

    assert result["moved"] == [], result
    assert [(u["visit_id"], u["reason"]) for u in result["unplaced"]] == [(visit, "patient_busy")]
    with runtime.db.session() as s:
        kept = s.get(Visit, visit)
        assert (kept.doctor_id, kept.starts_at) == (clinic.doctor_ids[0], clinic.at(day, 10))
