"""The calendar says in its own language the fields the visits API refuses without a code:
a service taken off the price list, or a doctor who has left, since the page was opened
(booking or moving a visit to him), instead of the API's English words."""

from __future__ import annotations

from clinic.base import iso
from clinic.reference import directory as reference
from clinic.reference import price_list
from tests.visits.conftest import make_clinic, next_week_day
from tests.visits.test_calendar_page import _config


def test_a_booking_or_move_refused_by_a_field_is_worded_in_the_page_language(runtime, client):
    clinic = make_clinic(runtime, doctors=2)
    day = next_week_day(clinic.tz)
    booking = {
        "patient_id": clinic.patient_ids[0],
        "doctor_id": clinic.doctor_ids[0],
        "starts_at": iso(clinic.at(day, 9)),
        "service_ids": [clinic.service_id],
    }
    visit = client.post("/api/v1/visits", json=booking)
    assert visit.status_code == 201, visit.get_json()
    refused = {}
    with runtime.db.transaction() as s:
        price_list.deactivate_service(s, clinic.service_id)
    later = {**booking, "patient_id": clinic.patient_ids[1], "starts_at": iso(clinic.at(day, 10))}
    refused["booking, the service gone"] = client.post("/api/v1/visits", json=later)
    with runtime.db.transaction() as s:
        reference.deactivate_doctor(s, clinic.doctor_ids[1])
    gone = {**later, "doctor_id": clinic.doctor_ids[1], "service_ids": []}
    refused["booking, the doctor gone"] = client.post("/api/v1/visits", json=gone)
    move = {"starts_at": iso(clinic.at(day, 11)), "doctor_id": clinic.doctor_ids[1], "reason": "x"}
    refused["move, the doctor gone"] = client.post(
        f"/api/v1/visits/{visit.get_json()['id']}/reschedule", json=move
    )
    query = f"department={clinic.department_id}"
    for language in ("ru", "uz"):
        texts = _config(client, f"{query}&lang={language}")["texts"]
        english = _config(client, f"{query}&lang=en")["texts"]
        for case, answer in refused.items():
            assert answer.status_code == 422, (case, answer.get_json())
            for field in answer.get_json()["errors"]:
                # Said at the field (texts.invalid), or on the page when the form has no
                # place for it (texts.fields, as Q.problem words a codeless refusal).
                for words in ("invalid", "fields"):
                    said = texts.get(words, {}).get(field)
                    assert said and said != english[words][field], (language, case, words)
