"""A doctor works only in a department that works: he is not switched on again, nor moved
(or added) into a department switched off (``department_inactive`` at ``department_id``),
and when either happens at the very moment the department is switched off, one waits for the
other (the department's row decides): never an active doctor in a department switched off,
to be booked where the desk's calendar no longer looks."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text

from clinic.errors import Conflict, ValidationFailed
from clinic.reference import directory as reference
from clinic.reference.models import Department, Doctor
from tests.races import wait_for, waits_for_a_lock
from tests.visits.conftest import make_clinic


def _active_doctors_in_switched_off_departments(runtime) -> list[int]:
    with runtime.db.session() as s:
        return list(
            s.scalars(
                select(Doctor.id)
                .join(Department, Department.id == Doctor.department_id)
                .where(Doctor.active.is_(True), Department.active.is_(False))
            )
        )


def _switched_off(runtime, clinic) -> None:
    """The department closes: its one doctor is switched off first, then it."""
    with runtime.db.transaction() as s:
        reference.deactivate_doctor(s, clinic.doctor_ids[0])
        reference.deactivate_department(s, clinic.department_id)


def test_a_doctor_is_not_switched_on_in_a_department_switched_off(runtime, client):
    clinic = make_clinic(runtime, doctors=1, patients=0)
    _switched_off(runtime, clinic)
    doctor_id = clinic.doctor_ids[0]

    response = client.post(f"/api/v1/doctors/{doctor_id}/activate")
    problem = response.get_json()
    assert response.status_code == 409, problem
    assert problem["code"] == "department_inactive"
    assert list(problem["errors"]) == ["department_id"], problem
    with runtime.db.session() as s:
        assert s.get(Doctor, doctor_id).active is False

    with runtime.db.transaction() as s:  # the department works again: so may he
        reference.activate_department(s, clinic.department_id)
    response = client.post(f"/api/v1/doctors/{doctor_id}/activate")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["active"] is True


def test_a_doctor_is_not_moved_into_a_department_switched_off(runtime, client):
    clinic = make_clinic(runtime, doctors=1, patients=0)
    closed = make_clinic(runtime, doctors=1, patients=0)
    _switched_off(runtime, closed)
    doctor_id = clinic.doctor_ids[0]

    response = client.patch(
        f"/api/v1/doctors/{doctor_id}", json={"department_id": closed.department_id}
    )
    problem = response.get_json()
    assert response.status_code == 422, problem
    assert problem["code"] == "department_inactive"
    assert list(problem["errors"]) == ["department_id"], problem
    with runtime.db.session() as s:
        assert s.get(Doctor, doctor_id).department_id == clinic.department_id


def _held_switching_off(runtime, clinic, other_side) -> list:
    """The department's switching off held open (its one doctor switched off, then it, not
    committed) while ``other_side(s)`` runs in a thread; what that side ends in."""
    pids, outcome = [], []

    def run():
        try:
            with runtime.db.transaction() as s:
                pids.append(s.scalar(text("SELECT pg_backend_pid()")))
                other_side(s)
            outcome.append("done")
        except (Conflict, ValidationFailed) as refused:
            outcome.append((refused.code, sorted(refused.errors)))

    with runtime.db.transaction() as s:
        reference.deactivate_doctor(s, clinic.doctor_ids[0])
        reference.deactivate_department(s, clinic.department_id)
        other = threading.Thread(target=run)
        other.start()
        wait_for(lambda: outcome or waits_for_a_lock(runtime, pids), what="the other side")
    other.join(timeout=30)
    return outcome


# PostgreSQL only: SQLite lets one writer in at a time, so the two cannot overlap there.
@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_doctor_moved_in_while_the_department_is_switched_off_is_refused(runtime):
    clinic = make_clinic(runtime, doctors=1, patients=0)
    elsewhere = make_clinic(runtime, doctors=1, patients=0)
    newcomer = elsewhere.doctor_ids[0]

    def move(s):
        # He was read in his department before the switching off came to be seen.
        reference.update_doctor(s, newcomer, {"department_id": clinic.department_id})
        s.flush()

    outcome = _held_switching_off(runtime, clinic, move)
    assert outcome == [("department_inactive", ["department_id"])]
    assert _active_doctors_in_switched_off_departments(runtime) == []
    with runtime.db.session() as s:
        assert s.get(Doctor, newcomer).department_id == elsewhere.department_id


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_doctor_switched_on_while_his_department_is_switched_off_is_refused(runtime):
    clinic = make_clinic(runtime, doctors=2, patients=0)
    away = clinic.doctor_ids[1]
    with runtime.db.transaction() as s:
        reference.deactivate_doctor(s, away)

    def switch_on(s):
        reference.activate_doctor(s, away)
        s.flush()

    outcome = _held_switching_off(runtime, clinic, switch_on)
    assert outcome == [("department_inactive", ["department_id"])]
    assert _active_doctors_in_switched_off_departments(runtime) == []


def _switching_off_while_held(runtime, clinic, held) -> list:
    """``held(s)`` (a doctor's change) held open, not committed, while the admin switches the
    department off in a thread: what the switching off ends in."""
    pids, answers = [], []

    def switch_off():
        with runtime.db.transaction() as s:
            pids.append(s.scalar(text("SELECT pg_backend_pid()")))
            try:
                reference.deactivate_department(s, clinic.department_id)
                answers.append("switched off")
            except Conflict as refused:
                answers.append(refused.code)

    with runtime.db.transaction() as s:
        held(s)
        s.flush()
        admin = threading.Thread(target=switch_off)
        admin.start()
        wait_for(lambda: answers or waits_for_a_lock(runtime, pids), what="the switching off")
    admin.join(timeout=30)
    return answers


# The doctor's change held open: the switching off waits for it, then counts him as working
# in the department.
@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_department_switched_off_while_a_doctor_is_switched_on_in_it_is_refused(runtime):
    clinic = make_clinic(runtime, doctors=1, patients=0)
    away = clinic.doctor_ids[0]
    with runtime.db.transaction() as s:
        reference.deactivate_doctor(s, away)

    answers = _switching_off_while_held(
        runtime, clinic, lambda s: reference.activate_doctor(s, away)
    )
    assert answers == ["department_in_use"]
    assert _active_doctors_in_switched_off_departments(runtime) == []
    with runtime.db.session() as s:
        assert s.get(Department, clinic.department_id).active is True


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_department_switched_off_while_a_doctor_is_moved_into_it_is_refused(runtime):
    clinic = make_clinic(runtime, doctors=1, patients=0)
    newcomer = make_clinic(runtime, doctors=1, patients=0).doctor_ids[0]
    with runtime.db.transaction() as s:
        reference.deactivate_doctor(s, clinic.doctor_ids[0])

    def move(s):
        reference.update_doctor(s, newcomer, {"department_id": clinic.department_id})

    assert _switching_off_while_held(runtime, clinic, move) == ["department_in_use"]
    assert _active_doctors_in_switched_off_departments(runtime) == []
