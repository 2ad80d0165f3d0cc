"""A doctor's week changed while visits are booked into it: what the new hours leave out is
listed for the registrar, as a day off lists the visits it leaves to move; a doctor who left
keeps his booked visits on the calendar until they are moved."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape

from clinic.base import iso
from clinic.reference import directory as reference
from tests.visits.conftest import make_clinic, next_week_day


def _book(client, clinic, day, hour, minute=0, *, patient=0):
    body = {
        "patient_id": clinic.patient_ids[patient],
        "doctor_id": clinic.doctor_ids[0],
        "starts_at": iso(clinic.at(day, hour, minute)),
    }
    booked = client.post("/api/v1/visits", json=body)
    assert booked.status_code == 201, booked.get_json()
    return booked.get_json()["id"]


def test_a_week_saved_with_shorter_hours_lists_the_visits_they_leave_out(runtime, client):
    clinic = make_clinic(runtime, patients=4, hours=("09:00", "13:00"), slot=20)
    day = next_week_day(runtime.settings.tz)
    kept = _book(client, clinic, day, 9)
    over_lunch = _book(client, clinic, day, 11, patient=1)
    late = _book(client, clinic, day, 12, 40, patient=2)
    cancelled = _book(client, clinic, day, 12, 20, patient=3)
    assert (
        client.post(
            f"/api/v1/visits/{cancelled}/cancel", json={"by": "patient", "reason": "ill"}
        ).status_code
        == 200
    )
    # That weekday now ends at noon with a break at 11; the other days are not worked.
    week = {"days": [{"weekday": day.weekday(), "starts": "09:00", "ends": "12:00",
                      "breaks": [["11:00", "11:40"]], "slot_minutes": 20}]}  # fmt: skip
    saved = client.put(f"/api/v1/doctors/{clinic.doctor_ids[0]}/schedule", json=week)
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["visits_to_move"] == [over_lunch, late]
    # Nothing moved by itself: the visits are where they were, for the registrar to move.
    listed = client.get(f"/api/v1/visits?day={day}&doctor_id={clinic.doctor_ids[0]}").get_json()
    assert [(x["id"], x["status"]) for x in listed] == [
        (kept, "scheduled"),
        (over_lunch, "scheduled"),
        (late, "scheduled"),
    ]
    # The same week saved again still lists them: they are still outside its hours.
    again = client.put(f"/api/v1/doctors/{clinic.doctor_ids[0]}/schedule", json=week)
    assert again.get_json()["visits_to_move"] == [over_lunch, late]


def test_a_week_that_still_covers_every_visit_lists_none(runtime, client):
    clinic = make_clinic(runtime, hours=("09:00", "13:00"), slot=20)
    day = next_week_day(runtime.settings.tz)
    _book(client, clinic, day, 12, 40)
    longer = {"days": [{"weekday": day.weekday(), "starts": "08:00", "ends": "18:00",
                        "slot_minutes": 20}]}  # fmt: skip
    saved = client.put(f"/api/v1/doctors/{clinic.doctor_ids[0]}/schedule", json=longer)
    assert saved.status_code == 200 and saved.get_json()["visits_to_move"] == []
    assert (
        "visits_to_move"
        not in client.get(f"/api/v1/doctors/{clinic.doctor_ids[0]}/schedule").get_json()
    )


def _calendar_doctors(client, query: str) -> list[int]:
    page = client.get(f"/visits/calendar?{query}")
    assert page.status_code == 200
    found = re.search(
        r'<script type="application/json" id="calendar-config">(.*?)</script>',
        page.get_data(as_text=True),
    )
    return [d["id"] for d in json.loads(unescape(found.group(1)))["doctors"]]


def test_a_doctor_who_left_keeps_his_booked_visits_on_the_calendar_to_be_moved(runtime, client):
    clinic = make_clinic(runtime, doctors=3, hours=("09:00", "13:00"), slot=20)
    day = next_week_day(runtime.settings.tz)
    gone, staying, idle = clinic.doctor_ids
    booked = client.post(
        "/api/v1/visits",
        json={"patient_id": clinic.patient_ids[0], "doctor_id": gone,
              "starts_at": iso(clinic.at(day, 9))},
    )  # fmt: skip
    assert booked.status_code == 201, booked.get_json()
    with runtime.db.transaction() as s:
        reference.deactivate_doctor(s, gone)
        reference.deactivate_doctor(s, idle)
    # His section stays on that day, where the visit's API row is drawn (the doctor who left
    # with nothing booked that day, and the day after, no longer have one).
    department = f"department={clinic.department_id}"
    assert _calendar_doctors(client, f"{department}&day={day}") == [gone, staying]
    assert _calendar_doctors(client, f"{department}&day={day + timedelta(days=1)}") == [staying]
    assert _calendar_doctors(client, f"doctor={gone}&day={day}") == [gone]
    # He offers no slot: the visit is moved to a colleague.
    slots = client.get(
        f"/api/v1/visits/slots?department_id={clinic.department_id}&from={day}&to={day}"
    ).get_json()
    assert {s["doctor_id"] for s in slots} == {staying}


def test_a_calendar_day_beyond_the_calendars_reach_is_a_400(runtime, client):
    clinic = make_clinic(runtime)
    for day in ("9999-12-31", "0001-01-01", "3000-01-01"):
        page = client.get(f"/visits/calendar?department={clinic.department_id}&day={day}")
        assert page.status_code == 400, day


def test_a_slot_cut_to_one_place_takes_nobody_beside_the_patient_left_in_its_second(
    runtime, client
):
    clinic = make_clinic(runtime, patients=4, hours=("09:00", "10:00"), slot=20, capacity=2)
    day = next_week_day(runtime.settings.tz)
    first = _book(client, clinic, day, 9)
    second = _book(client, clinic, day, 9, patient=1)
    one_place = {"days": [{"weekday": day.weekday(), "starts": "09:00", "ends": "10:00",
                           "slot_minutes": 20, "capacity": 1}]}  # fmt: skip
    saved = client.put(f"/api/v1/doctors/{clinic.doctor_ids[0]}/schedule", json=one_place)
    assert saved.get_json()["visits_to_move"] == [second]
    # The first patient cancels: the one left at 09:00 sits in the place the slot no longer
    # has, and fills the one it has.
    cancel = {"by": "patient", "reason": "ill"}
    assert client.post(f"/api/v1/visits/{first}/cancel", json=cancel).status_code == 200
    free = client.get(
        f"/api/v1/visits/slots?doctor_id={clinic.doctor_ids[0]}&from={day}&to={day}"
    ).get_json()
    assert iso(clinic.at(day, 9)) not in [s["starts_at"] for s in free]
    body = {"patient_id": clinic.patient_ids[2], "doctor_id": clinic.doctor_ids[0],
            "starts_at": iso(clinic.at(day, 9))}  # fmt: skip
    refused = client.post("/api/v1/visits", json=body)
    assert refused.status_code == 409 and refused.get_json()["code"] == "doctor_busy"
    listed = client.get(f"/api/v1/visits?day={day}&doctor_id={clinic.doctor_ids[0]}").get_json()
    assert [x["id"] for x in listed] == [second]
    # Alone in his slot, he is no patient over its places: nothing to move.
    again = client.put(f"/api/v1/doctors/{clinic.doctor_ids[0]}/schedule", json=one_place)
    assert again.get_json()["visits_to_move"] == []
