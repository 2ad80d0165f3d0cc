"""A doctor's room changed in his week (or on one date) after visits were booked: the visits
still to come go to the room he works in, and their reminders name it."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from clinic.base import iso
from clinic.models import OutboxEvent
from clinic.reference import directory as reference
from clinic.visits import booking, reminders, schedules
from clinic.visits import visits as v
from clinic.visits import week_change
from clinic.visits.doctors import lock_for_booking
from clinic.visits.models import Visit, VisitNotice
from tests.races import wait_for, waits_for_a_lock
from tests.visits.conftest import make_clinic, next_week_day


def _book(client, clinic, day, hour, *, patient=0, email=None):
    body = {
        "patient_id": clinic.patient_ids[patient],
        "doctor_id": clinic.doctor_ids[0],
        "starts_at": iso(clinic.at(day, hour)),
        "notify_email": email,
    }
    booked = client.post("/api/v1/visits", json=body)
    assert booked.status_code == 201, booked.get_json()
    return booked.get_json()


def _new_room(runtime, clinic) -> tuple[int, str]:
    with runtime.db.transaction() as s:
        room = reference.create_room(s, {"number": f"N{clinic.room_ids[0]}",
                                         "department_id": clinic.department_id})  # fmt: skip
        return room.id, room.number


def test_a_week_saved_with_another_room_sends_the_booked_patients_there(runtime, client):
    clinic = make_clinic(runtime, patients=2, hours=("09:00", "13:00"), slot=20)
    day = next_week_day(runtime.settings.tz)
    visit = _book(client, clinic, day, 9, email="p@example.test")
    assert visit["room_id"] == clinic.room_ids[0]
    room_id, number = _new_room(runtime, clinic)
    week = {"days": [{"weekday": day.weekday(), "starts": "09:00", "ends": "13:00",
                      "slot_minutes": 20, "room_id": room_id}]}  # fmt: skip
    saved = client.put(f"/api/v1/doctors/{clinic.doctor_ids[0]}/schedule", json=week)
    assert saved.status_code == 200 and saved.get_json()["visits_to_move"] == []
    now = client.get(f"/api/v1/visits/{visit['id']}").get_json()
    assert (now["room_id"], now["room"]) == (room_id, number)
    assert now["history"][-1]["action"] == "room_changed"
    assert now["history"][-1]["data"] == {"from": clinic.room_ids[0], "to": room_id}
    with runtime.db.session() as s:
        said = s.scalars(
            select(OutboxEvent).where(
                OutboxEvent.channel == f"visits_doctor:{clinic.doctor_ids[0]}",
                OutboxEvent.type == "visit.changed",
            )
        ).all()
        assert [e.data["room_id"] for e in said] == [room_id]
    # The reminder, written a day ahead, names the room he works in now.
    with runtime.db.transaction() as s:
        at = s.get(Visit, visit["id"]).starts_at
        reminders.write_reminders(s, hours=24, tz=clinic.tz, now=at - timedelta(hours=2))
    with runtime.db.session() as s:
        body = s.scalar(select(VisitNotice.body).where(VisitNotice.visit_id == visit["id"]))
        assert f"каб. {number}" in body


def test_one_dates_room_moves_that_dates_visits_only(runtime, client):
    clinic = make_clinic(runtime, patients=2, hours=("09:00", "13:00"), slot=20)
    day = next_week_day(runtime.settings.tz)
    that_day = _book(client, clinic, day, 9)
    next_day = _book(client, clinic, day + timedelta(days=1), 9, patient=1)
    room_id, _ = _new_room(runtime, clinic)
    hours = {
        "day": day.isoformat(),
        "hours": [{"starts": "09:00", "ends": "13:00", "slot_minutes": 20, "room_id": room_id}],
    }
    saved = client.put(f"/api/v1/doctors/{clinic.doctor_ids[0]}/schedule/dates", json=hours)
    assert saved.status_code == 200, saved.get_json()
    rooms = {
        v: client.get(f"/api/v1/visits/{v}").get_json()["room_id"]
        for v in (that_day["id"], next_day["id"])
    }
    assert rooms == {that_day["id"]: room_id, next_day["id"]: clinic.room_ids[0]}


# PostgreSQL only: SQLite lets one writer in at a time, so the two cannot overlap there.
@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_week_saved_while_one_of_its_visits_is_being_moved_waits_for_neither(runtime):
    """A move locks its visit, then reads the doctor's hours under a share of his row's key;
    a week saved locks his row, then sends his visits to the new room. Neither may wait for
    the other: the visit being moved is left to its move, which reads the new week."""
    clinic = make_clinic(runtime, hours=("09:00", "13:00"), slot=20)
    day = next_week_day(clinic.tz)
    doctor = clinic.doctor_ids[0]
    with runtime.db.transaction() as s:
        visit_id = booking.book(
            s, patient_id=clinic.patient_ids[0], doctor_id=doctor,
            starts_at=clinic.at(day, 9), tz=clinic.tz,
        ).id  # fmt: skip
    room_id, _ = _new_room(runtime, clinic)
    week = [{"weekday": day.weekday(), "starts": "09:00", "ends": "13:00", "room_id": room_id}]
    pids, answers = [], []

    def save():
        with runtime.db.transaction() as s:
            pids.append(s.scalar(text("SELECT pg_backend_pid()")))
            schedules.set_week(s, doctor, week)
            answers.append(week_change.follow_rooms(s, doctor, clinic.tz))

    with runtime.db.transaction() as s:
        v.get_visit(s, visit_id, lock=True)  # a move under way holds its visit
        saving = threading.Thread(target=save)
        saving.start()
        wait_for(lambda: answers or waits_for_a_lock(runtime, pids), what="the week's save")
        lock_for_booking(s, doctor)  # the move goes on to read the doctor's hours
    saving.join(timeout=30)
    assert answers == [[]]
