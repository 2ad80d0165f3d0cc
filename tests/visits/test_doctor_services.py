"""The services a doctor offers, set by the clinic's administration: his own list, or his
department's without one. Free slots and bookings follow it; his calendars hear it."""

from __future__ import annotations

from clinic.base import iso
from clinic.reference import price_list
from tests.visits.conftest import make_clinic, next_week_day
from tests.visits.test_schedule_events import _heard, _last_event


def _xray(runtime, department_id=None) -> int:
    with runtime.db.transaction() as s:
        return price_list.create_service(
            s,
            {"code": "XRAY-1", "name_ru": "Рентген", "name_uz": "Rentgen", "name_en": "X-ray",
             "price": 9_000_000, "duration_minutes": 20, "department_id": department_id},
        ).id  # fmt: skip


def test_a_doctors_list_decides_what_he_is_booked_for_and_an_empty_one_undoes_it(runtime, client):
    clinic = make_clinic(runtime, hours=("09:00", "12:00"))
    doctor = clinic.doctor_ids[0]
    url = f"/api/v1/doctors/{doctor}/services"
    xray = _xray(runtime, department_id=None)
    assert client.get(url).get_json() == {
        "doctor_id": doctor, "listed": False, "service_ids": sorted([clinic.service_id, xray]),
    }  # fmt: skip
    after = _last_event(runtime)

    answer = client.put(url, json={"service_ids": [xray]})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"doctor_id": doctor, "listed": True, "service_ids": [xray]}
    heard = _heard(runtime, after)
    assert (f"visits_doctor:{doctor}", "services") in [(c, d["what"]) for c, d in heard]

    day = next_week_day(runtime.settings.tz)
    body = {"patient_id": clinic.patient_ids[0], "doctor_id": doctor,
            "starts_at": iso(clinic.at(day, 9))}  # fmt: skip
    refused = client.post("/api/v1/visits", json={**body, "service_ids": [clinic.service_id]})
    assert refused.status_code == 422 and "service_ids" in refused.get_json()["errors"]
    slots = client.get(f"/api/v1/visits/slots?service_id={clinic.service_id}&from={day}&to={day}")
    assert slots.status_code == 200 and slots.get_json() == []
    booked = client.post("/api/v1/visits", json={**body, "service_ids": [xray]})
    assert booked.status_code == 201, booked.get_json()

    # An empty list: his department's services again.
    assert client.put(url, json={"service_ids": []}).get_json()["listed"] is False
    again = client.post(
        "/api/v1/visits",
        json={**body, "patient_id": clinic.patient_ids[1], "starts_at": iso(clinic.at(day, 10)),
              "service_ids": [clinic.service_id]},
    )  # fmt: skip
    assert again.status_code == 201, again.get_json()


def test_a_list_naming_what_is_not_an_active_service_once_is_refused_and_changes_nothing(
    runtime, client, client_as
):
    clinic = make_clinic(runtime)
    url = f"/api/v1/doctors/{clinic.doctor_ids[0]}/services"
    dropped = _xray(runtime)
    with runtime.db.transaction() as s:
        price_list.deactivate_service(s, dropped)
    for body in (
        {"service_ids": [999_999]},
        {"service_ids": [dropped]},
        {"service_ids": [clinic.service_id, clinic.service_id]},
        {"service_ids": ["x"]},
        {"service_ids": None},
        {},
    ):
        answer = client.put(url, json=body)
        named = answer.get_json().get("errors", {})
        assert answer.status_code == 422, body
        assert any(key.startswith("service_ids") for key in named), (body, named)
    assert client.get(url).get_json()["listed"] is False
    assert (
        client.put("/api/v1/doctors/999999/services", json={"service_ids": []}).status_code == 404
    )

    registrar = client_as("registrar")
    assert registrar.get(url).status_code == 200
    refused = registrar.put(url, json={"service_ids": [clinic.service_id]})
    assert refused.status_code == 403
    assert client.get(url).get_json()["listed"] is False
