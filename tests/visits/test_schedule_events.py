"""A change of a doctor's days or hours is heard on the calendars' channels, so a calendar
open at the desk redraws its free slots instead of offering those of a doctor who has just
been declared sick, until someone reloads it."""

from __future__ import annotations

from sqlalchemy import select

from clinic.base import iso
from clinic.models import OutboxEvent
from tests.visits.conftest import make_clinic, next_week_day


def _heard(runtime, after: int) -> list[tuple[str, dict]]:
    with runtime.db.session() as s:
        rows = s.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.type == "schedule.changed", OutboxEvent.id > after)
            .order_by(OutboxEvent.id)
        ).all()
        return [(r.channel, r.data) for r in rows]


def _last_event(runtime) -> int:
    with runtime.db.session() as s:
        return max(s.scalars(select(OutboxEvent.id)).all(), default=0)


def test_a_doctors_week_date_hours_and_absences_are_heard_on_his_calendars(runtime, client):
    clinic = make_clinic(runtime, doctors=2)
    doctor, department = clinic.doctor_ids[0], clinic.department_id
    day = next_week_day(clinic.tz)
    calendars = [f"visits_doctor:{doctor}", f"visits_department:{department}"]

    def changes(call, what, first_day=None, last_day=None):
        since = _last_event(runtime)
        answer = call()
        assert answer.status_code in (200, 201), answer.get_json()
        expected = {"doctor_id": doctor, "department_id": department, "what": what,
                    "first_day": first_day, "last_day": last_day}  # fmt: skip
        assert _heard(runtime, since) == [(channel, expected) for channel in calendars]
        return answer.get_json()

    changes(
        lambda: client.put(
            f"/api/v1/doctors/{doctor}/schedule",
            json={"days": [{"weekday": 0, "starts": "09:00", "ends": "12:00"}]},
        ),
        "week",
    )
    changes(
        lambda: client.put(
            f"/api/v1/doctors/{doctor}/schedule/dates",
            json={"day": iso(day), "hours": [{"starts": "14:00", "ends": "16:00"}]},
        ),
        "hours",
        iso(day),
        iso(day),
    )
    away = {"doctor_id": doctor, "kind": "sick", "first_day": iso(day), "last_day": iso(day)}
    sick = changes(
        lambda: client.post("/api/v1/schedule-exceptions", json=away),
        "away",
        iso(day),
        iso(day),
    )
    changes(
        lambda: client.delete(f"/api/v1/schedule-exceptions/{sick['id']}"),
        "away",
        iso(day),
        iso(day),
    )


def test_a_clinic_holiday_is_heard_on_every_calendar(runtime, client):
    clinic = make_clinic(runtime, doctors=2)
    day = next_week_day(clinic.tz)
    since = _last_event(runtime)
    declared = client.post(
        "/api/v1/schedule-exceptions",
        json={"kind": "holiday", "first_day": iso(day), "last_day": iso(day), "note": "Navro'z"},
    )
    assert declared.status_code == 201, declared.get_json()
    heard = {channel for channel, data in _heard(runtime, since) if data["what"] == "holiday"}
    assert {f"visits_doctor:{d}" for d in clinic.doctor_ids} <= heard
    assert f"visits_department:{clinic.department_id}" in heard


def test_a_doctor_who_leaves_or_comes_back_is_heard_on_his_calendars(runtime, client):
    clinic = make_clinic(runtime, doctors=2)
    doctor, department = clinic.doctor_ids[0], clinic.department_id
    calendars = [f"visits_doctor:{doctor}", f"visits_department:{department}"]
    expected = {"doctor_id": doctor, "department_id": department, "what": "doctor",
                "first_day": None, "last_day": None}  # fmt: skip
    for action in ("deactivate", "activate"):
        since = _last_event(runtime)
        answer = client.post(f"/api/v1/doctors/{doctor}/{action}")
        assert answer.status_code == 200, answer.get_json()
        # An open calendar stops offering (or offers again) his free slots.
        assert _heard(runtime, since) == [(channel, expected) for channel in calendars]


def test_a_doctor_moved_to_another_department_is_heard_on_both_departments(runtime, client):
    clinic, other = make_clinic(runtime), make_clinic(runtime)
    doctor = clinic.doctor_ids[0]
    since = _last_event(runtime)
    answer = client.patch(f"/api/v1/doctors/{doctor}", json={"department_id": other.department_id})
    assert answer.status_code == 200, answer.get_json()
    expected = {"doctor_id": doctor, "department_id": other.department_id, "what": "doctor",
                "first_day": None, "last_day": None}  # fmt: skip
    heard = _heard(runtime, since)
    assert sorted(channel for channel, _ in heard) == sorted(
        [
            f"visits_doctor:{doctor}",
            f"visits_department:{other.department_id}",
            f"visits_department:{clinic.department_id}",
        ]
    )
    assert all(data == expected for _, data in heard)
