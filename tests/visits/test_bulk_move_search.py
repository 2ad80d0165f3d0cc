"""A bulk move looks through every free slot of its search, not the nearest few: a patient
busy elsewhere at the nearest ones still gets the next slot where he is free."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from clinic.visits import booking, bulk
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
