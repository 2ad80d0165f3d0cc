"""A walk-in: the patient at the desk is booked into the slot running now, and is no no-show
for a slot that began before he came."""

from __future__ import annotations

from datetime import timedelta

from clinic.visits import booking, cancelling
from clinic.visits.events import VisitKind, VisitStatus
from clinic.visits.models import Visit
from tests.visits.conftest import make_clinic, next_week_day


def test_a_walk_in_into_a_long_slot_gets_the_grace_from_his_booking_not_the_slots_start(
    runtime,
):
    # An hour's slots, longer than the half hour of grace.
    clinic = make_clinic(runtime, hours=("09:00", "13:00"), slot=60)
    day = next_week_day(clinic.tz)
    booked_at = clinic.at(day, 9, 45)
    with runtime.db.transaction() as s:
        walk_in = booking.book(
            s, patient_id=clinic.patient_ids[0], doctor_id=clinic.doctor_ids[0],
            starts_at=clinic.at(day, 9), tz=clinic.tz, kind=VisitKind.WALK_IN, now=booked_at,
        ).id  # fmt: skip
        scheduled = booking.book(
            s, patient_id=clinic.patient_ids[1], doctor_id=clinic.doctor_ids[0],
            starts_at=clinic.at(day, 10), tz=clinic.tz, now=booked_at - timedelta(days=1),
        ).id  # fmt: skip
    # Five minutes after he was booked, at the desk, he is no no-show.
    with runtime.db.transaction() as s:
        assert (
            cancelling.mark_no_shows(s, grace_minutes=30, tz=clinic.tz, now=clinic.at(day, 9, 50))
            == []
        )
        assert s.get(Visit, walk_in).status == VisitStatus.SCHEDULED
    # Half an hour after his booking, never checked in, he is; as is one booked ahead whose
    # start is half an hour gone.
    with runtime.db.transaction() as s:
        marked = cancelling.mark_no_shows(
            s, grace_minutes=30, tz=clinic.tz, now=clinic.at(day, 10, 31)
        )
    assert sorted(marked) == sorted([walk_in, scheduled])
