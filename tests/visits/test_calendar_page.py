"""What the calendar page gives its script: a doctor who sees his patients by the calendar
(no queue) gets the steps to begin and end their visits, in the page's language."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html import unescape
from pathlib import Path

from clinic.accounts.models import User
from clinic.base import iso
from clinic.reference import directory as reference
from clinic.reference import price_list
from tests.visits.conftest import make_clinic, next_week_day

ROOT = Path(__file__).resolve().parents[2]


def _config(client, query: str = "") -> dict:
    page = client.get(f"/visits/calendar?{query}")
    assert page.status_code == 200
    found = re.search(
        r'<script type="application/json" id="calendar-config">(.*?)</script>',
        page.get_data(as_text=True),
    )
    return json.loads(unescape(found.group(1)))


def test_a_doctor_begins_and_ends_his_visits_on_the_calendar_and_a_registrar_does_not(
    runtime, client_as
):
    clinic = make_clinic(runtime)
    doctor = client_as("doctor")
    with runtime.db.transaction() as s:
        user = s.query(User).filter(User.username == doctor.username).one()
        reference.update_doctor(s, user.doctor_id, {"department_id": clinic.department_id})
    own = _config(doctor, "lang=ru")
    assert own["mayTreat"] is True and own["mayCheckIn"] is False
    assert (own["texts"]["start"], own["texts"]["finish"]) == ("Начать приём", "Завершить")
    assert _config(doctor, "lang=uz")["texts"]["start"] == "Qabulni boshlash"
    desk = _config(client_as("registrar"), f"department={clinic.department_id}")
    assert desk["mayTreat"] is False and desk["mayCheckIn"] is True


def _service_options(client, query: str) -> dict[str, str]:
    html = client.get(f"/visits/calendar?{query}").get_data(as_text=True)
    select = re.search(r'<select name="service_id">(.*?)</select>', html, re.S)
    assert select, "the booking form has no service to pick"
    options = re.findall(r'<option value="(\d*)">(.*?)</option>', select.group(1))
    return {value: unescape(label).strip() for value, label in options}


def test_the_booking_form_offers_the_departments_services_with_their_length(runtime, client):
    clinic = make_clinic(runtime, slot=20)
    other = make_clinic(runtime)
    with runtime.db.transaction() as s:
        scan = price_list.create_service(
            s, {"code": "ECHO-CAL", "name_ru": "УЗИ", "name_uz": "UTT", "name_en": "Ultrasound",
                "price": 100, "duration_minutes": 40, "department_id": clinic.department_id},
        )  # fmt: skip
        shared = price_list.create_service(
            s, {"code": "ANY-CAL", "name_ru": "Справка", "name_uz": "Ma'lumotnoma",
                "name_en": "Certificate", "price": 100, "duration_minutes": 10},
        )  # fmt: skip
        dropped = price_list.create_service(
            s, {"code": "OLD-CAL", "name_ru": "Старое", "name_uz": "Eski", "name_en": "Old",
                "price": 100, "department_id": clinic.department_id},
        )  # fmt: skip
        price_list.deactivate_service(s, dropped.id)
    # The department's own and the shared ones; not another department's, nor one dropped.
    assert _service_options(client, f"department={clinic.department_id}&lang=ru") == {
        "": "—",
        str(clinic.service_id): "Консультация · 20 мин",
        str(scan.id): "УЗИ · 40 мин",
        str(shared.id): "Справка · 10 мин",
    }
    english = _service_options(client, f"department={clinic.department_id}&lang=en")
    assert english[str(scan.id)] == "Ultrasound · 40 min"
    assert str(other.service_id) not in english


def test_the_move_dialog_offers_another_day_and_the_departments_doctors(runtime, client):
    clinic = make_clinic(runtime, doctors=3)
    with runtime.db.transaction() as s:
        reference.deactivate_doctor(s, clinic.doctor_ids[2])
    html = client.get(f"/visits/calendar?department={clinic.department_id}&lang=ru").get_data(
        as_text=True
    )
    dialog = re.search(r'<dialog id="reschedule-dialog".*?</dialog>', html, re.S).group(0)
    assert re.search(r'<input type="date" name="day"', dialog)
    doctors = re.search(r'<select name="doctor_id">(.*?)</select>', dialog, re.S).group(1)
    # A colleague to move the visit to; not one who has left.
    assert re.findall(r'<option value="(\d+)">', doctors) == [str(d) for d in clinic.doctor_ids[:2]]


def test_the_move_dialog_cancels_a_visit_saying_who_asked_in_the_page_language(runtime, client):
    clinic = make_clinic(runtime)
    query = f"department={clinic.department_id}&lang=ru"
    html = client.get(f"/visits/calendar?{query}").get_data(as_text=True)
    dialog = re.search(r'<dialog id="reschedule-dialog".*?</dialog>', html, re.S).group(0)
    assert re.search(r"<button[^>]*data-cancel-visit>Отменить визит</button>", dialog)
    by = re.search(r'<select name="by">(.*?)</select>', dialog, re.S).group(1)
    assert re.findall(r'<option value="(\w+)">(.*?)</option>', by) == [
        ("patient", "Пациент"),
        ("clinic", "Клиника"),
    ]
    texts = _config(client, query)["texts"]
    assert (texts["cancelled"], texts["cancelReason"]) == (
        "Визит отменён.",
        "Укажите причину отмены.",
    )


def test_a_doctor_reads_what_each_patient_is_booked_for_in_his_language(runtime, client_as):
    clinic = make_clinic(runtime, slot=30)
    doctor = client_as("doctor")
    with runtime.db.transaction() as s:
        user = s.query(User).filter(User.username == doctor.username).one()
        reference.update_doctor(s, user.doctor_id, {"department_id": clinic.department_id})
    assert _config(doctor, "lang=uz")["services"] == [
        {"id": clinic.service_id, "label": "Maslahat · 30 daq"}
    ]


def _away_lines(client, query: str) -> dict[int, str]:
    html = client.get(f"/visits/calendar?{query}").get_data(as_text=True)
    sections = re.findall(
        r'<section class="card calendar-doctor" data-doctor="(\d+)">(.*?)</section>', html, re.S
    )
    out = {}
    for doctor, body in sections:
        line = re.search(r"<p [^>]*data-away>(.*?)</p>", body, re.S)
        out[int(doctor)] = unescape(line.group(1)) if line else ""
    return out


def test_a_doctors_column_says_why_he_has_no_slots_that_day(runtime, client):
    clinic = make_clinic(runtime, doctors=2)
    sick, working = clinic.doctor_ids
    day = next_week_day(clinic.tz)
    query = f"department={clinic.department_id}&lang=ru&day="
    assert client.post(
        "/api/v1/schedule-exceptions",
        json={"doctor_id": sick, "kind": "sick", "first_day": iso(day), "last_day": iso(day),
              "note": "грипп"},
    ).status_code == 201  # fmt: skip
    assert _away_lines(client, query + iso(day)) == {sick: "Болеет: грипп", working: ""}
    assert _away_lines(client, query + iso(day + timedelta(days=1))) == {sick: "", working: ""}
    later = day + timedelta(days=2)
    assert (
        client.post(
            "/api/v1/schedule-exceptions",
            json={"kind": "holiday", "first_day": iso(later), "last_day": iso(later)},
        ).status_code
        == 201
    )
    uzbek = f"department={clinic.department_id}&lang=uz&day={iso(later)}"
    assert _away_lines(client, uzbek) == {
        sick: "Bayram, klinika yopiq",
        working: "Bayram, klinika yopiq",
    }


def test_the_booking_form_offers_the_earliest_free_time_in_the_page_language(runtime, client):
    clinic = make_clinic(runtime)
    query = f"department={clinic.department_id}&lang=ru"
    html = client.get(f"/visits/calendar?{query}").get_data(as_text=True)
    form = re.search(r'<form id="booking-form".*?</form>', html, re.S).group(0)
    assert re.search(r"<button[^>]*data-earliest>Ближайшее свободное время</button>", form)
    assert _config(client, query)["texts"]["noneFree"] == (
        "Нет свободного времени в ближайшие {days} дн."
    )


def test_a_large_departments_day_offers_its_afternoon_slots_too(runtime, client):
    # Two doctors of five-minute slots round the clock: more free slots than the slots
    # answer holds by default (500), the afternoon's among those past it.
    clinic = make_clinic(runtime, doctors=2, hours=("00:00", "23:55"), slot=5)
    day = iso(next_week_day(clinic.tz))
    scope = f"department_id={clinic.department_id}&from={day}&to={day}"
    assert len(client.get(f"/api/v1/visits/slots?{scope}").get_json()) == 500
    every = client.get(f"/api/v1/visits/slots?{scope}&limit=5000").get_json()
    assert len(every) == 2 * 287
    # The calendar asks for the whole day, as it asks for the whole day's visits.
    script = (ROOT / "web/static/js/visits.js").read_text(encoding="utf-8")
    load = script[script.index("function load()") :]
    load = load[: load.index("Q.api(")]
    assert '"&limit=5000"' in load


def test_the_booking_form_finds_its_patient_by_name_or_phone_in_the_page_language(
    runtime, client_as
):
    # The patient's record number is shown on no page: the registrar finds him as the desk
    # does, by name in either script or by phone, and his choice fills the number.
    clinic = make_clinic(runtime)
    registrar = client_as("registrar")
    html = registrar.get(f"/visits/calendar?department={clinic.department_id}&lang=uz")
    page = html.get_data(as_text=True)
    assert 'id="booking-patient-search"' in page and 'id="booking-patients"' in page
    assert "js/patient-find.js" in page
    config = _config(registrar, f"department={clinic.department_id}&lang=uz")
    assert config["patientsUrl"] == "/api/v1/patients"
    assert config["texts"]["choose"] == "Tanlash"
    assert config["texts"]["noPatients"].startswith("Hech kim topilmadi")
    assert config["texts"]["morePatients"].startswith("Topilgan {total} tadan {shown} tasi")
    # A doctor books nobody: no search of patients on his calendar.
    doctor_page = client_as("doctor").get("/visits/calendar").get_data(as_text=True)
    assert 'id="booking-patient-search"' not in doctor_page
