"""The times a visit may move to, as the move dialog asks for them: where the whole visit
fits, with a doctor who offers what it was booked for."""

from __future__ import annotations

from clinic.base import iso
from clinic.reference import price_list
from clinic.visits.models import DoctorService
from tests.visits.conftest import make_clinic, next_week_day


def _service(runtime, clinic, code: str, minutes: int) -> int:
    with runtime.db.transaction() as s:
        return price_list.create_service(
            s,
            {"code": code, "name_ru": "ЭКГ", "name_uz": "EKG", "name_en": "ECG", "price": 1,
             "duration_minutes": minutes, "department_id": clinic.department_id},
        ).id  # fmt: skip


def test_a_visit_of_two_services_is_offered_only_the_times_where_both_fit(runtime, client):
    clinic = make_clinic(runtime, doctors=2, patients=2, hours=("09:00", "10:20"), slot=20)
    day = next_week_day(runtime.settings.tz)
    doctor, colleague = clinic.doctor_ids
    # A consultation and an ECG: forty minutes, no single service of the price list.
    services = [clinic.service_id, _service(runtime, clinic, "ECG-1", 20)]

    def book(patient, minute, **extra):
        body = {"patient_id": clinic.patient_ids[patient], "doctor_id": doctor,
                "starts_at": iso(clinic.at(day, 9, minute)), **extra}  # fmt: skip
        booked = client.post("/api/v1/visits", json=body)
        assert booked.status_code == 201, booked.get_json()
        return booked.get_json()["id"]

    visit = book(0, 0, service_ids=services)
    book(1, 40)  # 09:40-10:00 taken

    def times(doctor_id):
        query = f"doctor_id={doctor_id}&from={day}&to={day}&visit_id={visit}"
        found = client.get(f"/api/v1/visits/slots?{query}")
        assert found.status_code == 200, found.get_json()
        return [slot["local_time"][-5:] for slot in found.get_json()]

    # 09:20 would run into the 09:40 visit, 10:00 past the end of the hours.
    assert times(doctor) == []
    assert times(colleague) == ["09:00", "09:20", "09:40"]
    # A colleague who does not offer the ECG has no time for it.
    with runtime.db.transaction() as s:
        s.add(DoctorService(doctor_id=colleague, service_id=clinic.service_id))
    assert times(colleague) == []
