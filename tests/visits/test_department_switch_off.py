"""A department switched off takes no visit: a booking into it is refused at ``doctor_id``,
and a booking at the very moment it is switched off either waits and is refused, or is seen
by the switching off, which is refused for that visit (the department's row decides)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text, update

from clinic.base import iso
from clinic.errors import Conflict
from clinic.reference import directory as reference
from clinic.reference.models import Department, Doctor
from clinic.visits import booking
from clinic.visits.models import Visit
from tests.races import wait_for, waits_for_a_lock
from tests.visits.conftest import make_clinic, next_week_day


def _other_department(runtime) -> int:
    """A department of its own to move the doctor to (made by another clinic)."""
    return make_clinic(runtime, doctors=0, patients=0).department_id


def _switch_off_after_moving_the_doctor(s, clinic, elsewhere: int) -> str:
    """The admin moves the department's one doctor elsewhere and switches it off."""
    reference.update_doctor(s, clinic.doctor_ids[0], {"department_id": elsewhere})
    try:
        reference.deactivate_department(s, clinic.department_id)
    except Conflict as refused:
        return refused.code
    return "switched off"


def _future_visits_in_switched_off_departments(runtime, department_id: int) -> list[int]:
    with runtime.db.session() as s:
        return list(
            s.scalars(
                select(Visit.id)
                .join(Department, Department.id == Visit.department_id)
                .where(Department.id == department_id, Department.active.is_(False))
            )
        )


# PostgreSQL only: SQLite lets one writer in at a time, so the two cannot overlap there.
@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_booking_made_while_its_department_is_being_switched_off_is_refused(runtime):
    clinic = make_clinic(runtime)
    elsewhere = _other_department(runtime)
    day = next_week_day(clinic.tz)
    pids, outcome = [], []

    def book():
        try:
            with runtime.db.transaction() as s:
                pids.append(s.scalar(text("SELECT pg_backend_pid()")))
                visit = booking.book(
                    s, patient_id=clinic.patient_ids[0], doctor_id=clinic.doctor_ids[0],
                    starts_at=clinic.at(day, 9), tz=clinic.tz, actor="registrar",
                )  # fmt: skip
                s.flush()
                outcome.append(visit.id)
        except booking.BookingRefused as refused:
            outcome.append((refused.code, sorted(refused.errors)))

    # The switching off is held open (not committed) while the registrar books: the
    # booking read the doctor in that department, still on as far as it can see.
    with runtime.db.transaction() as s:
        assert _switch_off_after_moving_the_doctor(s, clinic, elsewhere) == "switched off"
        registrar = threading.Thread(target=book)
        registrar.start()
        wait_for(lambda: outcome or waits_for_a_lock(runtime, pids), what="the booking")
    registrar.join(timeout=30)
    assert outcome == [("department_inactive", ["doctor_id"])]
    assert _future_visits_in_switched_off_departments(runtime, clinic.department_id) == []


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_department_switched_off_while_a_visit_is_being_booked_in_it_is_refused(runtime):
    clinic = make_clinic(runtime)
    elsewhere = _other_department(runtime)
    day = next_week_day(clinic.tz)
    pids, answers = [], []

    def switch_off():
        with runtime.db.transaction() as s:
            pids.append(s.scalar(text("SELECT pg_backend_pid()")))
            answers.append(_switch_off_after_moving_the_doctor(s, clinic, elsewhere))

    # The booking is held open (its visit written, not committed) while the admin moves
    # the doctor away and switches the department off: the switching off waits for it (the
    # booking holds the department's row from its check on, as the visit's reference does
    # from its insert) and then counts its visit.
    with runtime.db.transaction() as s:
        visit = booking.book(
            s, patient_id=clinic.patient_ids[0], doctor_id=clinic.doctor_ids[0],
            starts_at=clinic.at(day, 9), tz=clinic.tz, actor="registrar",
        )  # fmt: skip
        visit_id = visit.id
        admin = threading.Thread(target=switch_off)
        admin.start()
        wait_for(lambda: answers or waits_for_a_lock(runtime, pids), what="the switching off")
    admin.join(timeout=30)
    assert answers == ["department_in_use"]
    with runtime.db.session() as s:
        assert s.get(Department, clinic.department_id).active is True
        assert s.get(Visit, visit_id).department_id == clinic.department_id


def test_a_booking_into_a_switched_off_department_is_refused_at_the_doctor(runtime, client):
    """A doctor left active while his department is off (written so before a doctor was
    refused that: clinic/reference/directory.py) is offered to nobody's calendar; the API
    refuses him as a 422 naming ``doctor_id``, and writes nothing."""
    clinic = make_clinic(runtime)
    day = next_week_day(clinic.tz)
    doctor_id = clinic.doctor_ids[0]
    with runtime.db.transaction() as s:
        reference.deactivate_doctor(s, doctor_id)
        reference.deactivate_department(s, clinic.department_id)
        s.execute(update(Doctor).where(Doctor.id == doctor_id).values(active=True))
    body = {
        "patient_id": clinic.patient_ids[0],
        "doctor_id": doctor_id,
        "starts_at": iso(clinic.at(day, 9)),
    }
    response = client.post("/api/v1/visits", json=body)
    problem = response.get_json()
    assert response.status_code == 422, problem
    assert response.mimetype == "application/problem+json"
    assert problem["code"] == "department_inactive"
    assert list(problem["errors"]) == ["doctor_id"], problem
    with runtime.db.session() as s:
        assert s.scalars(select(Visit.id).where(Visit.doctor_id == doctor_id)).all() == []
