"""A patient whose record is deactivated, or a doctor who has left, is refused with a code the
calendar words in its own language: booking and check-in refuse the patient
(``patient_inactive``), booking, a move and its worker refuse the doctor
(``doctor_inactive``). A visit the patient already has still moves and is cancelled."""

from __future__ import annotations

import pytest

from clinic.base import iso
from clinic.errors import ValidationFailed
from clinic.queue.models import Ticket
from clinic.reference import directory as reference
from clinic.reference import patients as patient_records
from clinic.visits import rescheduling
from clinic.visits.models import Visit
from tests.visits.conftest import ALL_DAY, make_clinic, next_week_day
from tests.visits.test_api import _book, _booked_soon, _department_queue, _refusal


def test_a_deactivated_patient_is_refused_by_its_code_at_booking_and_check_in(runtime, client):
    clinic = make_clinic(runtime, **ALL_DAY)
    _department_queue(runtime, clinic)
    visit_id = _booked_soon(runtime, clinic)
    with runtime.db.transaction() as s:
        patient_records.deactivate_patient(s, clinic.patient_ids[0])

    booked = _book(client, clinic, next_week_day(runtime.settings.tz), 10)
    _refusal(booked, 422, "patient_inactive", "patient_id")
    assert booked.get_json()["errors"] == {"patient_id": ["inactive patient"]}
    # Checked in, he would wait for a ticket the queue refuses him: said by the same code.
    _refusal(
        client.post(f"/api/v1/visits/{visit_id}/check-in", json={}),
        409,
        "patient_inactive",
        "visit_id",
    )
    with runtime.db.session() as s:
        assert s.get(Visit, visit_id).status == "scheduled"
        assert s.query(Ticket).count() == 0

    # The visit he has is his still: the clinic moves it and cancels it.
    to = clinic.at(next_week_day(runtime.settings.tz), 10)
    with runtime.db.transaction() as s:
        job = rescheduling.request_move(s, visit_id, starts_at=to, reason="перенос", actor="desk")
    with runtime.db.transaction() as s:
        moved = rescheduling.carry_out(s, job.id, tz=runtime.settings.tz, max_moves=3)
    assert moved["moved"] is True and moved["to"]["starts_at"] == iso(to)
    cancelled = client.post(
        f"/api/v1/visits/{visit_id}/cancel", json={"by": "clinic", "reason": "карта закрыта"}
    )
    assert cancelled.status_code == 200, cancelled.get_json()


def test_a_doctor_who_left_is_refused_by_its_code_and_so_is_a_move_to_him_carried_out_late(
    runtime, client
):
    clinic = make_clinic(runtime, doctors=2)
    day = next_week_day(runtime.settings.tz)
    visit_id = _book(client, clinic, day, 9).get_json()["id"]
    with runtime.db.transaction() as s:
        job = rescheduling.request_move(
            s, visit_id, starts_at=clinic.at(day, 10), doctor_id=clinic.doctor_ids[1],
            reason="к коллеге", actor="desk",
        )  # fmt: skip
        # He leaves before the worker carries the move out.
        reference.deactivate_doctor(s, clinic.doctor_ids[1])
    with runtime.db.transaction() as s, pytest.raises(ValidationFailed) as late:
        rescheduling.carry_out(s, job.id, tz=runtime.settings.tz, max_moves=3)
    # The job fails with the problem the calendar's move dialog words by its code.
    assert late.value.code == "doctor_inactive" and "doctor_id" in late.value.errors
    with runtime.db.transaction() as s:
        failed = rescheduling.refuse(s, job.id, late.value)
    assert failed["code"] == "doctor_inactive"

    _refusal(_book(client, clinic, day, 11, doctor=1), 422, "doctor_inactive", "doctor_id")
    asked = client.post(
        f"/api/v1/visits/{visit_id}/reschedule",
        json={"starts_at": iso(clinic.at(day, 11)), "doctor_id": clinic.doctor_ids[1],
              "reason": "к коллеге"},
    )  # fmt: skip
    _refusal(asked, 422, "doctor_inactive", "doctor_id")
