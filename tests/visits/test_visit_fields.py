"""A visit's fields refused as the form shows them: at the field, and nothing written."""

from __future__ import annotations

from sqlalchemy import select

from clinic.base import iso
from clinic.models import OutboxEvent
from clinic.visits.models import Visit
from tests.visits.conftest import make_clinic, next_week_day

# RFC 5321's longest address is 254 characters; the column holds as many.
TOO_LONG = "a" * 250 + "@example.com"


def test_an_address_longer_than_any_mail_server_takes_is_refused_at_notify_email(runtime, client):
    clinic = make_clinic(runtime)
    day = next_week_day(runtime.settings.tz)
    body = {"patient_id": clinic.patient_ids[0], "doctor_id": clinic.doctor_ids[0],
            "starts_at": iso(clinic.at(day, 9))}  # fmt: skip
    refused = client.post("/api/v1/visits", json={**body, "notify_email": TOO_LONG})
    assert refused.status_code == 422 and "notify_email" in refused.get_json()["errors"]
    with runtime.db.session() as s:
        assert s.query(Visit).count() == 0
    booked = client.post("/api/v1/visits", json={**body, "notify_email": "p@example.test"})
    assert booked.status_code == 201, booked.get_json()
    visit = booked.get_json()["id"]
    edited = client.patch(f"/api/v1/visits/{visit}", json={"notify_email": TOO_LONG})
    assert edited.status_code == 422 and "notify_email" in edited.get_json()["errors"]
    assert client.get(f"/api/v1/visits/{visit}").get_json()["notify_email"] == "p@example.test"


def test_a_cancellation_is_heard_on_the_calendars_as_visit_cancelled(runtime, client):
    clinic = make_clinic(runtime)
    day = next_week_day(runtime.settings.tz)
    body = {"patient_id": clinic.patient_ids[0], "doctor_id": clinic.doctor_ids[0],
            "starts_at": iso(clinic.at(day, 9))}  # fmt: skip
    visit = client.post("/api/v1/visits", json=body).get_json()["id"]
    cancelled = client.post(f"/api/v1/visits/{visit}/cancel", json={"by": "patient", "reason": "x"})
    assert cancelled.status_code == 200, cancelled.get_json()
    with runtime.db.session() as s:
        heard = s.scalars(
            select(OutboxEvent.channel).where(
                OutboxEvent.type == "visit.cancelled", OutboxEvent.data["id"].as_integer() == visit
            )
        ).all()
    assert sorted(heard) == sorted(
        [f"visits_doctor:{clinic.doctor_ids[0]}", f"visits_department:{clinic.department_id}"]
    )
