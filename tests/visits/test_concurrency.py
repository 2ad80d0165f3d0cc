"""Twenty registrars booking one slot at once through the real server: one wins."""

from __future__ import annotations

import requests
from sqlalchemy import select

from clinic.base import iso
from clinic.visits.models import Visit
from tests.queue.test_concurrency import in_parallel
from tests.visits.conftest import make_clinic, next_week_day

RACERS = 20


def test_twenty_concurrent_bookings_into_one_slot_give_one_visit_and_nineteen_typed_409s(
    runtime, live_server, admin_token
):
    clinic = make_clinic(runtime, patients=RACERS)
    starts = iso(clinic.at(next_week_day(runtime.settings.tz), 10))
    headers = {"Authorization": f"Bearer {admin_token}"}

    def book(i):
        response = requests.post(
            f"{live_server}/api/v1/visits",
            json={
                "patient_id": clinic.patient_ids[i],
                "doctor_id": clinic.doctor_ids[0],
                "starts_at": starts,
            },
            headers=headers,
            timeout=60,
        )
        return response.status_code, response.json()

    answers = in_parallel(RACERS, book)
    statuses = sorted(status for status, _ in answers)
    assert statuses == [201] + [409] * (RACERS - 1), answers
    refusals = [body for status, body in answers if status == 409]
    assert {(b["code"], tuple(b["errors"])) for b in refusals} == {("doctor_busy", ("starts_at",))}
    with runtime.db.session() as s:
        held = s.scalars(select(Visit).where(Visit.doctor_id == clinic.doctor_ids[0])).all()
    assert len(held) == 1 and iso(held[0].starts_at) == starts
