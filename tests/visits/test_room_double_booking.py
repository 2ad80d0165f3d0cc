"""One room, two doctors: a room shared by two doctors' weeks (a procedure room, a shared
consulting room) holds one doctor's patients at a time. The slot is offered, and booked, in
one doctor's name; the other's booking or move into that room then is a typed 409."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from clinic.base import iso
from clinic.reference import directory as reference
from clinic.visits import booking, rescheduling
from clinic.visits.models import Visit
from tests.queue.test_concurrency import in_parallel
from tests.visits.conftest import make_clinic, next_week_day

RACERS = 10


def _share_a_room(runtime, client, clinic, day) -> int:
    with runtime.db.transaction() as s:
        room_id = reference.create_room(s, {"number": f"P{clinic.doctor_ids[0]}"}).id
    for doctor_id in clinic.doctor_ids:
        week = [{"weekday": day.weekday(), "starts": "09:00", "ends": "12:00",
                 "slot_minutes": 20, "room_id": room_id}]  # fmt: skip
        assert (
            client.put(f"/api/v1/doctors/{doctor_id}/schedule", json={"days": week}).status_code
            == 200
        )
    return room_id


def _book(client, clinic, day, hour, minute=0, *, patient, doctor):
    return client.post(
        "/api/v1/visits",
        json={"patient_id": clinic.patient_ids[patient], "doctor_id": clinic.doctor_ids[doctor],
              "starts_at": iso(clinic.at(day, hour, minute))},
    )  # fmt: skip


def test_a_room_taken_by_one_doctor_is_neither_offered_nor_booked_for_another(runtime, client):
    clinic = make_clinic(runtime, doctors=2, patients=3)
    day = next_week_day(runtime.settings.tz)
    room_id = _share_a_room(runtime, client, clinic, day)
    first = _book(client, clinic, day, 9, patient=0, doctor=0)
    assert first.status_code == 201 and first.get_json()["room_id"] == room_id

    second = _book(client, clinic, day, 9, patient=1, doctor=1)
    body = second.get_json()
    assert second.status_code == 409, body
    assert body["code"] == "room_taken" and "starts_at" in body["errors"], body

    slots = client.get(
        f"/api/v1/visits/slots?doctor_id={clinic.doctor_ids[1]}&from={day}&to={day}"
    ).get_json()
    starts = {s["starts_at"] for s in slots}
    assert iso(clinic.at(day, 9)) not in starts and iso(clinic.at(day, 9, 20)) in starts

    # The other doctor's visit moved into that time is refused the same way, and stays.
    later = _book(client, clinic, day, 10, patient=2, doctor=1)
    assert later.status_code == 201
    with runtime.db.transaction() as s:
        job = rescheduling.request_move(
            s, later.get_json()["id"], starts_at=clinic.at(day, 9), reason="r", actor="desk"
        )
    with pytest.raises(booking.BookingConflict) as refused:
        with runtime.db.transaction() as s:
            rescheduling.carry_out(s, job.id, tz=runtime.settings.tz, max_moves=5)
    assert refused.value.code == "room_taken" and "starts_at" in refused.value.errors
    assert client.get(f"/api/v1/visits/{later.get_json()['id']}").get_json()["starts_at"] == iso(
        clinic.at(day, 10)
    )
    # Cancelled, the first visit gives the room back.
    cancelled = client.post(
        f"/api/v1/visits/{first.get_json()['id']}/cancel", json={"by": "patient", "reason": "ill"}
    )
    assert cancelled.status_code == 200, cancelled.get_json()
    assert _book(client, clinic, day, 9, patient=1, doctor=1).status_code == 201


def test_two_doctors_booked_into_one_room_at_once_give_one_visit(
    runtime, client, live_server, admin_token
):
    clinic = make_clinic(runtime, doctors=2, patients=RACERS)
    day = next_week_day(runtime.settings.tz)
    room_id = _share_a_room(runtime, client, clinic, day)
    headers = {"Authorization": f"Bearer {admin_token}"}

    def book(i):
        response = requests.post(
            f"{live_server}/api/v1/visits",
            json={"patient_id": clinic.patient_ids[i], "doctor_id": clinic.doctor_ids[i % 2],
                  "starts_at": iso(clinic.at(day, 10))},
            headers=headers,
            timeout=60,
        )  # fmt: skip
        return response.status_code, response.json()

    answers = in_parallel(RACERS, book)
    assert sorted(status for status, _ in answers) == [201] + [409] * (RACERS - 1), answers
    with runtime.db.session() as s:
        held = s.scalars(select(Visit).where(Visit.room_id == room_id)).all()
    assert len(held) == 1
