"""A visit's fields refused as the form shows them: at the field, and nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clinic.base import iso, utcnow
from clinic.errors import Conflict
from clinic.models import OutboxEvent
from clinic.visits import booking, cancelling
from clinic.visits import visits as v
from clinic.visits.events import VisitStatus
from clinic.visits.models import Visit
from tests.visits.conftest import make_clinic, next_week_day

# RFC 5321's longest address is 254 characters; the column holds as many.
TOO_LONG = "a" * 250 + "@example.com"


def _refused_then_booked(runtime, client, address: str, good: str):
    """A visit booked with ``address`` for its notices is refused at ``notify_email``, and
    nothing is written; with ``good`` it is booked (its answer)."""
    clinic = make_clinic(runtime)
    day = next_week_day(runtime.settings.tz)
    body = {"patient_id": clinic.patient_ids[0], "doctor_id": clinic.doctor_ids[0],
            "starts_at": iso(clinic.at(day, 9))}  # fmt: skip
    refused = client.post("/api/v1/visits", json={**body, "notify_email": address})
    assert refused.status_code == 422 and "notify_email" in refused.get_json()["errors"]
    with runtime.db.session() as s:
        assert s.query(Visit).count() == 0
    return client.post("/api/v1/visits", json={**body, "notify_email": good})


def test_an_address_longer_than_any_mail_server_takes_is_refused_at_notify_email(runtime, client):
    booked = _refused_then_booked(runtime, client, TOO_LONG, "p@example.test")
    assert booked.status_code == 201, booked.get_json()
    visit = booked.get_json()["id"]
    edited = client.patch(f"/api/v1/visits/{visit}", json={"notify_email": TOO_LONG})
    assert edited.status_code == 422 and "notify_email" in edited.get_json()["errors"]
    assert client.get(f"/api/v1/visits/{visit}").get_json()["notify_email"] == "p@example.test"


# Pasted from a phone's contact card or a messenger, an address carries marks nobody sees:
# a mail server takes none of them, and the patient's reminders would never come.
@pytest.mark.parametrize(
    "pasted",
    ["ivan@mail.ru\u200e", "ivan@mail.ru\u202c", "ivan@mail\u200b.ru", "ivan@mail.ru\ufeff"],
)
def test_an_address_with_an_invisible_character_is_refused_at_notify_email(runtime, client, pasted):
    booked = _refused_then_booked(runtime, client, pasted, "ivan@mail.ru")
    visit = booked.get_json()["id"]
    edited = client.patch(f"/api/v1/visits/{visit}", json={"notify_email": pasted})
    assert edited.status_code == 422 and "notify_email" in edited.get_json()["errors"]
    assert client.get(f"/api/v1/visits/{visit}").get_json()["notify_email"] == "ivan@mail.ru"


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


def test_a_status_change_that_lost_a_race_names_the_visit(runtime):
    clinic = make_clinic(runtime)
    day = next_week_day(runtime.settings.tz)
    with runtime.db.transaction() as s:
        visit = booking.book(
            s, patient_id=clinic.patient_ids[0], doctor_id=clinic.doctor_ids[0],
            starts_at=clinic.at(day, 9), tz=clinic.tz,
        ).id  # fmt: skip
    with runtime.db.session() as stale:
        seen = stale.get(Visit, visit)
        stale.commit()  # the screen's copy stays as it was read
        with runtime.db.transaction() as other:
            cancelling.cancel(other, other.get(Visit, visit), by="clinic", reason="ill",
                              late_window_hours=24)  # fmt: skip
        with pytest.raises(Conflict) as lost:
            v.set_status(stale, seen, VisitStatus.ARRIVED, "desk", utcnow(), "arrived")
        stale.rollback()
    # Named at the visit, as a change refused at once is (no field of the request holds a
    # status).
    assert lost.value.code == "status_changed" and "visit_id" in lost.value.errors


def test_a_visit_that_does_not_exist_is_a_404_at_visit_id_for_every_step(runtime, client):
    make_clinic(runtime)
    calls = [
        client.get("/api/v1/visits/999999"),
        client.patch("/api/v1/visits/999999", json={"comment": "x"}),
        client.post("/api/v1/visits/999999/check-in", json={}),
        client.post("/api/v1/visits/999999/start", json={}),
        client.post("/api/v1/visits/999999/cancel", json={"by": "patient", "reason": "x"}),
        client.post(
            "/api/v1/visits/999999/reschedule",
            json={"starts_at": "2030-01-01T09:00:00+05:00", "reason": "x"},
        ),
    ]
    for answer in calls:
        assert answer.status_code == 404, answer.get_json()
        assert "visit_id" in answer.get_json()["errors"], answer.get_json()


def test_an_absence_that_does_not_exist_is_a_404_at_exception_id(runtime, client):
    gone = client.delete("/api/v1/schedule-exceptions/999999")
    assert gone.status_code == 404 and "exception_id" in gone.get_json()["errors"]
