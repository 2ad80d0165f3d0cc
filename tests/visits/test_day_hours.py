"""Hours for one date: the doctor works other hours on a single day (a conference in the
morning, an evening shift for a colleague) while his week stays as it is."""

from __future__ import annotations

from datetime import timedelta

from clinic.base import iso
from tests.visits.conftest import make_clinic, next_week_day


def _local_slots(client, doctor, day) -> list[str]:
    found = client.get(f"/api/v1/visits/slots?doctor_id={doctor}&from={day}&to={day}")
    assert found.status_code == 200, found.get_json()
    return [s["local_time"][-5:] for s in found.get_json()]


def _book(client, clinic, day, hour, patient=0):
    return client.post(
        "/api/v1/visits",
        json={"patient_id": clinic.patient_ids[patient], "doctor_id": clinic.doctor_ids[0],
              "starts_at": iso(clinic.at(day, hour))},
    )  # fmt: skip


def test_one_dates_hours_replace_the_weeks_on_that_date_only(runtime, client):
    clinic = make_clinic(runtime, hours=("09:00", "11:00"), slot=30)
    doctor = clinic.doctor_ids[0]
    day = next_week_day(clinic.tz)
    morning = _book(client, clinic, day, 9)
    assert morning.status_code == 201, morning.get_json()
    url = f"/api/v1/doctors/{doctor}/schedule/dates"
    evening = {"day": day.isoformat(),
               "hours": [{"starts": "15:00", "ends": "18:00", "breaks": [["16:00", "16:30"]],
                          "slot_minutes": 30}]}  # fmt: skip
    saved = client.put(url, json=evening)
    assert saved.status_code == 200, saved.get_json()
    body = saved.get_json()
    # The morning patient is listed for the registrar to move; the week is as it was.
    assert body["visits_to_move"] == [morning.get_json()["id"]]
    assert [(d["weekday"], d["starts"], d["ends"]) for d in body["days"]] == [
        (weekday, "09:00", "11:00") for weekday in range(7)
    ]
    assert body["dates"] == [
        {"day": day.isoformat(), "starts": "15:00", "ends": "18:00",
         "breaks": [["16:00", "16:30"]], "slot_minutes": 30, "capacity": 1, "room_id": None}
    ]  # fmt: skip
    assert client.get(f"/api/v1/doctors/{doctor}/schedule").get_json()["dates"] == body["dates"]
    assert _local_slots(client, doctor, day) == ["15:00", "15:30", "16:30", "17:00", "17:30"]
    week_later = day + timedelta(days=7)
    assert _local_slots(client, doctor, week_later) == ["09:00", "09:30", "10:00", "10:30"]
    refused = _book(client, clinic, day, 10, patient=1)
    assert refused.status_code == 422 and refused.get_json()["code"] == "outside_hours"
    assert _book(client, clinic, day, 15, patient=1).status_code == 201
    assert _book(client, clinic, week_later, 10, patient=1).status_code == 201

    # The week saved again keeps the date's own hours.
    week = {"days": [{"weekday": w, "starts": "09:00", "ends": "12:00", "slot_minutes": 30}
                     for w in range(7)]}  # fmt: skip
    assert client.put(f"/api/v1/doctors/{doctor}/schedule", json=week).status_code == 200
    assert _local_slots(client, doctor, day) == ["15:30", "16:30", "17:00", "17:30"]

    # No hours of its own: the date follows the week again, and the evening visit is listed.
    back = client.put(url, json={"day": day.isoformat(), "hours": []})
    assert back.status_code == 200, back.get_json()
    evening_visit = back.get_json()["visits_to_move"]
    assert len(evening_visit) == 1 and morning.get_json()["id"] not in evening_visit
    assert back.get_json()["dates"] == []
    assert _local_slots(client, doctor, day) == ["09:30", "10:00", "10:30", "11:00", "11:30"]


def test_a_dates_hours_are_checked_as_a_weeks_and_a_day_over_is_refused(runtime, client):
    clinic = make_clinic(runtime)
    doctor = clinic.doctor_ids[0]
    day = next_week_day(clinic.tz)
    url = f"/api/v1/doctors/{doctor}/schedule/dates"
    for body, field in (
        ({"day": day.isoformat(), "hours": [{"starts": "18:00", "ends": "09:00"}]},
         "hours.0.ends"),
        ({"day": day.isoformat(), "hours": [{"starts": "09:00", "ends": "12:00"},
                                            {"starts": "11:00", "ends": "14:00"}]},
         "hours.1.starts"),
        ({"day": (day - timedelta(days=30)).isoformat(),
          "hours": [{"starts": "09:00", "ends": "12:00"}]}, "day"),
        ({"day": day.isoformat(), "hours": [{"weekday": 1, "starts": "09:00", "ends": "12:00"}]},
         "hours.0.weekday"),
        ({"hours": []}, "day"),
    ):  # fmt: skip
        refused = client.put(url, json=body)
        assert refused.status_code == 422, (body, refused.get_json())
        assert field in refused.get_json()["errors"], (field, refused.get_json())
    assert client.get(f"/api/v1/doctors/{doctor}/schedule").get_json()["dates"] == []
    assert (
        client.put(
            "/api/v1/doctors/999999/schedule/dates",
            json={"day": day.isoformat(), "hours": []},
        ).status_code
        == 404
    )
