"""The database itself refuses double booking, whatever the application checked."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from clinic.visits import booking
from clinic.visits.events import VisitStatus
from clinic.visits.models import Visit
from tests.conftest import BACKENDS
from tests.visits.conftest import make_clinic, next_week_day


def _raw_visit(clinic, patient, starts, ends, seat=0, status=VisitStatus.SCHEDULED):
    return Visit(
        patient_id=clinic.patient_ids[patient], doctor_id=clinic.doctor_ids[0],
        department_id=clinic.department_id, starts_at=starts, ends_at=ends, seat=seat,
        kind="scheduled", status=status, moves=0, late_cancellation=False,
    )  # fmt: skip


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL is not in TEST_DATABASES")
@pytest.mark.parametrize("backend", ["postgresql"])
def test_postgresql_refuses_overlapping_visits_of_one_seat_or_one_patient_but_not_cancelled(
    runtime,
):
    clinic = make_clinic(runtime)
    day = next_week_day(runtime.settings.tz)
    a, b, c = clinic.at(day, 9), clinic.at(day, 9, 20), clinic.at(day, 9, 10)
    with runtime.db.transaction() as s:
        s.add(_raw_visit(clinic, 0, a, b))
    for patient, seat, code in ((1, 0, "doctor_busy"), (0, 1, "patient_busy")):
        with runtime.db.session() as s, pytest.raises(IntegrityError) as caught:
            s.add(_raw_visit(clinic, patient, c, clinic.at(day, 9, 30), seat=seat))
            s.flush()
        assert booking.constraint_refusal(caught.value).code == code
    with runtime.db.transaction() as s:
        s.add(_raw_visit(clinic, 1, c, b, status=VisitStatus.CANCELLED))
        s.add(_raw_visit(clinic, 2, c, b, seat=1))  # another seat of the slot


def test_a_slot_with_capacity_two_takes_two_patients_on_two_seats_and_refuses_a_third(runtime):
    clinic = make_clinic(runtime, capacity=2, patients=3)
    tz = runtime.settings.tz
    starts = clinic.at(next_week_day(tz), 9)
    seats = []
    for patient in clinic.patient_ids[:2]:
        with runtime.db.transaction() as s:
            seats.append(
                booking.book(
                    s, patient_id=patient, doctor_id=clinic.doctor_ids[0], starts_at=starts, tz=tz
                ).seat
            )
    assert seats == [0, 1]
    with runtime.db.session() as s, pytest.raises(booking.BookingConflict) as refused:
        booking.book(
            s, patient_id=clinic.patient_ids[2], doctor_id=clinic.doctor_ids[0], starts_at=starts,
            tz=tz,
        )  # fmt: skip
    assert refused.value.code == "doctor_busy"
