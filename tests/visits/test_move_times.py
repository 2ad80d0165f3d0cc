"""The times a visit may move to, as the move dialog asks for them: where the whole visit
fits, with a doctor who offers what it was booked for."""

from __future__ import annotations

from clinic.base import iso, utcnow
from clinic.errors import DomainError
from clinic.reference import price_list
from clinic.visits import rescheduling
from clinic.visits import visits as v
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


def _book(client, clinic, day, patient, doctor, hour, minute=0, **extra) -> int:
    body = {"patient_id": clinic.patient_ids[patient], "doctor_id": clinic.doctor_ids[doctor],
            "starts_at": iso(clinic.at(day, hour, minute)), **extra}  # fmt: skip
    booked = client.post("/api/v1/visits", json=body)
    assert booked.status_code == 201, booked.get_json()
    return booked.get_json()["id"]


def _move_times(client, clinic, day, visit, doctor=0) -> list[str]:
    """The clinic-time starts the move dialog offers ``visit`` with the doctor."""
    query = f"doctor_id={clinic.doctor_ids[doctor]}&from={day}&to={day}&visit_id={visit}"
    found = client.get(f"/api/v1/visits/slots?{query}")
    assert found.status_code == 200, found.get_json()
    return [slot["local_time"][-5:] for slot in found.get_json()]


def test_the_move_dialog_leaves_out_the_times_the_patient_sees_another_doctor(runtime, client):
    clinic = make_clinic(runtime, doctors=2)
    day = next_week_day(runtime.settings.tz)
    visit = _book(client, clinic, day, 0, 0, 9)
    _book(client, clinic, day, 0, 1, 10)  # the same patient, with the colleague, at 10:00
    offered = _move_times(client, clinic, day, visit)
    assert "10:00" not in offered and "10:20" in offered

    # Every start of the day after its own (no move), offered exactly when the move takes it
    # (each tried, and not kept).
    grid = [f"{9 + m // 60:02d}:{m % 60:02d}" for m in range(20, 240, 20)]
    taken = []
    for hhmm in grid:
        with runtime.db.session() as s:
            try:
                rescheduling.move_visit(
                    s, v.get_visit(s, visit, lock=True), doctor_id=None,
                    starts_at=clinic.at(day, int(hhmm[:2]), int(hhmm[3:])), tz=clinic.tz,
                    max_moves=None, actor="desk", reason="просьба", now=utcnow(),
                )  # fmt: skip
            except DomainError:
                continue
            taken.append(hhmm)
    assert offered == taken


def test_a_longer_visit_is_not_offered_a_time_that_runs_into_the_patients_other_visit(
    runtime, client
):
    clinic = make_clinic(runtime, doctors=2)
    day = next_week_day(runtime.settings.tz)
    forty = _service(runtime, clinic, "ECG-40", 40)
    visit = _book(client, clinic, day, 0, 0, 9, service_ids=[forty])  # 09:00-09:40
    _book(client, clinic, day, 0, 1, 10)  # 10:00-10:20 with the colleague
    # 09:40 would end at 10:20, half of it at the other visit; 09:20 ends as that one begins.
    assert _move_times(client, clinic, day, visit) == [
        "09:20", "10:20", "10:40", "11:00", "11:20", "11:40", "12:00", "12:20"
    ]  # fmt: skip


def test_a_cancelled_other_visit_of_the_patient_leaves_its_time_offered(runtime, client):
    clinic = make_clinic(runtime, doctors=2)
    day = next_week_day(runtime.settings.tz)
    visit = _book(client, clinic, day, 0, 0, 9)
    other = _book(client, clinic, day, 0, 1, 10)
    cancelled = client.post(
        f"/api/v1/visits/{other}/cancel", json={"by": "patient", "reason": "передумал"}
    )
    assert cancelled.status_code == 200, cancelled.get_json()
    assert "10:00" in _move_times(client, clinic, day, visit)
