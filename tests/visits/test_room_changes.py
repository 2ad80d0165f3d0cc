"""A room switched off after visits were booked into it, or a doctor given another room of
his own: the visits still to come go where a booking now would put them, so the calendar
and the reminder send the patient to a door that is open."""

from __future__ import annotations

import subprocess  # nosec B404 - runs this test's own Python
import sys
from pathlib import Path

from sqlalchemy import select

from clinic.base import iso
from clinic.models import OutboxEvent
from clinic.reference import directory as reference
from clinic.visits import schedules
from tests.visits.conftest import make_clinic, next_week_day


def _book(client, clinic, day, hour):
    body = {"patient_id": clinic.patient_ids[0], "doctor_id": clinic.doctor_ids[0],
            "starts_at": iso(clinic.at(day, hour))}  # fmt: skip
    booked = client.post("/api/v1/visits", json=body)
    assert booked.status_code == 201, booked.get_json()
    return booked.get_json()["id"]


def _room_of(client, visit_id):
    return client.get(f"/api/v1/visits/{visit_id}").get_json()


def _changes_heard(runtime, doctor_id) -> list:
    with runtime.db.session() as s:
        return [
            e.data["room_id"]
            for e in s.scalars(
                select(OutboxEvent)
                .where(
                    OutboxEvent.channel == f"visits_doctor:{doctor_id}",
                    OutboxEvent.type == "visit.changed",
                )
                .order_by(OutboxEvent.id)
            )
        ]


def test_a_room_switched_off_sends_its_visits_to_come_to_the_doctors_own_room_and_back(
    runtime, client
):
    clinic = make_clinic(runtime, hours=("09:00", "13:00"), slot=20)
    doctor, own_room = clinic.doctor_ids[0], clinic.room_ids[0]
    day = next_week_day(clinic.tz)
    with runtime.db.transaction() as s:
        shared = reference.create_room(s, {"number": f"S{own_room}"}).id
        schedules.set_week(s, doctor, [{"weekday": day.weekday(), "starts": "09:00",
                                        "ends": "13:00", "room_id": shared}])  # fmt: skip
    visit = _book(client, clinic, day, 9)
    assert _room_of(client, visit)["room_id"] == shared

    off = client.post(f"/api/v1/rooms/{shared}/deactivate")
    assert off.status_code == 200, off.get_json()
    moved = _room_of(client, visit)
    # Where a booking now goes: the doctor's own room, the week's being closed.
    assert moved["room_id"] == own_room
    assert moved["history"][-1]["action"] == "room_changed"
    assert moved["history"][-1]["data"]["from"] == shared
    assert moved["history"][-1]["data"]["to"] == own_room
    assert _changes_heard(runtime, doctor) == [own_room]

    on = client.post(f"/api/v1/rooms/{shared}/activate")
    assert on.status_code == 200, on.get_json()
    assert _room_of(client, visit)["room_id"] == shared
    assert _changes_heard(runtime, doctor) == [own_room, shared]


def test_a_doctor_given_another_room_of_his_own_sends_his_visits_to_come_there(runtime, client):
    clinic = make_clinic(runtime, hours=("09:00", "13:00"), slot=20)
    doctor = clinic.doctor_ids[0]
    day = next_week_day(clinic.tz)
    visit = _book(client, clinic, day, 9)
    assert _room_of(client, visit)["room_id"] == clinic.room_ids[0]
    with runtime.db.transaction() as s:
        new_room = reference.create_room(
            s, {"number": f"M{clinic.room_ids[0]}", "department_id": clinic.department_id}
        ).id
    changed = client.patch(f"/api/v1/doctors/{doctor}", json={"room_id": new_room})
    assert changed.status_code == 200, changed.get_json()
    assert _room_of(client, visit)["room_id"] == new_room
    # His name corrected changes no room, and writes no history.
    before = len(_room_of(client, visit)["history"])
    renamed = client.patch(f"/api/v1/doctors/{doctor}", json={"full_name": "Доктор Новый"})
    assert renamed.status_code == 200, renamed.get_json()
    assert len(_room_of(client, visit)["history"]) == before


def test_a_worker_process_moves_the_visits_of_a_doctors_room_changed_there_too():
    """A price-list import (a worker) may give a doctor another room: the rule that sends his
    visits after it is registered wherever the visits' tasks are loaded, not by the web
    alone."""
    code = (
        "import tasks.visits\n"
        "from clinic.events import outbox\n"
        "print(any(h.__name__ == '_rooms_changed' for h in outbox._recorded_hooks))\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "True"
