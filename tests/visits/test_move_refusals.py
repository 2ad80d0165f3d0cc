"""A move no worker could carry out is refused by the request itself, at its field, with
no job: the registrar reads why at once instead of following a job that can only fail."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from clinic.base import iso
from clinic.jobs.models import Job
from tests.visits.conftest import make_clinic, next_week_day


def _jobs(runtime) -> int:
    with runtime.db.session() as s:
        return s.scalar(select(func.count()).select_from(Job))


def test_a_move_into_the_past_or_of_a_cancelled_visit_is_refused_at_its_field_with_no_job(
    runtime, client
):
    clinic = make_clinic(runtime)
    day = next_week_day(clinic.tz)
    body = {"patient_id": clinic.patient_ids[0], "doctor_id": clinic.doctor_ids[0],
            "starts_at": iso(clinic.at(day, 9))}  # fmt: skip
    visit = client.post("/api/v1/visits", json=body).get_json()["id"]
    before = _jobs(runtime)

    past = client.post(
        f"/api/v1/visits/{visit}/reschedule",
        json={"starts_at": iso(clinic.at(day - timedelta(days=8), 9)), "reason": "просьба"},
    )
    assert past.status_code == 422, past.get_json()
    assert past.get_json()["code"] == "in_past" and "starts_at" in past.get_json()["errors"]

    cancelled = client.post(
        f"/api/v1/visits/{visit}/cancel", json={"by": "patient", "reason": "уехал"}
    )
    assert cancelled.status_code == 200, cancelled.get_json()
    over = client.post(
        f"/api/v1/visits/{visit}/reschedule",
        json={"starts_at": iso(clinic.at(day, 10)), "reason": "просьба"},
    )
    assert over.status_code == 409, over.get_json()
    assert over.get_json()["code"] == "not_movable" and "visit_id" in over.get_json()["errors"]
    assert _jobs(runtime) == before
