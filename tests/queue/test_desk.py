"""The reception desk finds a patient in either script or by phone and attaches him to a
ticket still in the queue; the staff channel hears of it, the board and the patient's page
learn nothing about him."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import select

from clinic.base import utcnow
from clinic.errors import Conflict, ValidationFailed
from clinic.events.models import OutboxEvent
from clinic.queue import calls, reception
from clinic.queue import tickets as q
from clinic.queue.models import Ticket, TicketEvent
from clinic.reference import patients
from tests.queue.test_api import make_queue


def test_the_desk_attaches_a_patient_found_by_a_latin_spelling_of_a_cyrillic_name(client, runtime):
    queue_id = make_queue(runtime)
    registered = client.post(
        "/api/v1/patients",
        json={"full_name": "Ғуломов Ўткир Шавкатович", "sex": "M", "phone": "90 123 45 67"},
    )
    assert registered.status_code == 201, registered.get_json()
    patient_id = registered.get_json()["id"]
    ticket = client.post(f"/api/v1/queues/{queue_id}/tickets", json={}).get_json()

    for spelling in ("gulomov utkir", "G'ulomov", "o'tkir", "Гуломов", "901234567"):
        found = client.get("/api/v1/patients", query_string={"q": spelling}).get_json()
        assert [p["id"] for p in found["items"]] == [patient_id], spelling

    attached = client.post(
        f"/api/v1/tickets/{ticket['id']}/patient", json={"patient_id": patient_id}
    )
    assert attached.status_code == 200 and attached.get_json()["patient_id"] == patient_id
    history = client.get(f"/api/v1/tickets/{ticket['id']}").get_json()["history"]
    assert [h["action"] for h in history] == ["issued", "patient_attached"]

    with runtime.db.session() as s:
        events = s.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "ticket.patient_attached")
        ).all()
    by_channel = {e.channel.split(":")[0]: e.data for e in events}
    assert by_channel["queue"]["patient_id"] == patient_id
    assert "patient_id" not in by_channel["board"] and "patient_id" not in by_channel["ticket"]

    unknown = client.post(f"/api/v1/tickets/{ticket['id']}/patient", json={"patient_id": 999999})
    assert unknown.status_code == 422
    client.post(f"/api/v1/tickets/{ticket['id']}/cancel", json={})
    gone = client.post(f"/api/v1/tickets/{ticket['id']}/patient", json={"patient_id": patient_id})
    assert gone.status_code == 409 and gone.get_json()["code"] == "wrong_status"


def test_attaching_the_same_patient_again_changes_nothing(runtime):
    queue_id = make_queue(runtime, code="again")
    with runtime.db.transaction() as s:
        patient = patients.create_patient(s, {"full_name": "Karimov Aziz", "sex": "M"})
        other = patients.create_patient(s, {"full_name": "Karimova Dilnoza", "sex": "F"})
        inactive = patients.create_patient(s, {"full_name": "Old Record", "sex": "F"})
        patients.deactivate_patient(s, inactive.id)
        ticket = q.issue_ticket(s, queue_id, tz=runtime.settings.tz)
        reception.attach_patient(s, ticket, patient.id, actor="desk")
        reception.attach_patient(s, ticket, patient.id, actor="desk")
        reception.attach_patient(s, ticket, other.id, actor="desk")
        with pytest.raises(ValidationFailed):
            reception.attach_patient(s, ticket, inactive.id)
        with pytest.raises(ValidationFailed):
            reception.attach_patient(s, ticket, "1")
        rows = s.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
        )
        history = [(h.action, (h.data or {}).get("previous_patient_id")) for h in rows]
        assert history == [
            ("issued", None),
            ("patient_attached", None),
            ("patient_attached", patient.id),
        ]
        calls.cancel(s, ticket)
        with pytest.raises(Conflict):
            reception.attach_patient(s, ticket, patient.id)


def test_the_desk_page_finds_patients_and_acts_on_each_ticket(client, runtime):
    import json
    import re
    from html import unescape

    make_queue(runtime, code="page")
    page = unescape(client.get("/queue/desk?lang=en").get_data(as_text=True))
    assert 'id="patient-search"' in page and 'id="patient-new"' in page and "data-filter" in page
    config = json.loads(re.search(r'id="desk-config">(.*?)</script>', page, re.S).group(1))
    assert config["attachUrl"] == "/api/v1/tickets/{id}/patient"
    assert config["cancelUrl"] == "/api/v1/tickets/{id}/cancel"
    # Past the staff channel's first hundred waiting, the list pages through the API.
    assert config["ticketsUrl"] == "/api/v1/queues/{id}/tickets"
    assert config["texts"]["served"] == "{count} served today"
    # A queue that issues no ticket now is said so in the page's language (web/static/js).
    assert config["texts"]["refusals"]["queue_closed"] == "This queue is closed for today."


def test_one_departments_two_queues_are_told_apart_by_their_rooms(client, runtime):
    from clinic.queue import admin as queue_admin
    from clinic.reference import directory as reference

    make_queue(runtime, code="single")  # a department with one queue keeps its plain name
    with runtime.db.transaction() as s:
        department = reference.create_department(
            s,
            {
                "code": "two",
                "ticket_prefix": "S",
                "name_ru": "Хирургия",
                "name_uz": "Jarrohlik",
                "name_en": "Surgery",
            },
        )
        for number, code in (("21", "surg-a"), ("22", "surg-b")):
            room = reference.create_room(s, {"number": number, "name": ""})
            queue_admin.create_queue(
                s,
                {
                    "code": code,
                    "department_id": department.id,
                    "room_id": room.id,
                    "prefix": code[-1].upper(),
                    "closes_at": time(23, 59, 59, 999999),
                },
            )
    page = client.get("/queue/desk?lang=en").get_data(as_text=True)
    assert "Surgery · room 21" in page and "Surgery · room 22" in page
    assert ">Cardiology<" in page


def test_the_desk_names_the_earlier_records_a_new_registration_may_repeat(client, runtime):
    import json
    import re
    from html import unescape
    from pathlib import Path

    make_queue(runtime, code="twice")
    first = client.post("/api/v1/patients", json={"full_name": "Каримов Азиз", "sex": "M"})
    again = client.post("/api/v1/patients", json={"full_name": "Karimov Aziz", "sex": "M"})
    assert again.status_code == 201
    assert [p["id"] for p in again.get_json()["possible_duplicates"]] == [first.get_json()["id"]]

    # The desk's script shows them under the page's words, with a button to choose each.
    page = unescape(client.get("/queue/desk?lang=ru").get_data(as_text=True))
    config = json.loads(re.search(r'id="desk-config">(.*?)</script>', page, re.S).group(1))
    assert config["texts"]["possibleDuplicates"].startswith("Пациент зарегистрирован.")
    script = (Path(__file__).parents[2] / "web/static/js/desk.js").read_text(encoding="utf-8")
    assert "showPatients(earlier, texts.possibleDuplicates)" in script
    assert "answer.body.possible_duplicates" in script
    # A second press while the first registration is on its way registers nobody again.
    register = script[script.index('getElementById("patient-new")') :]
    assert register.index("button.disabled = true;") < register.index("post(config.patientsUrl")
    assert "if (button.disabled) return;" in register


# SQLite takes its write lock at a session's first statement: two desks never overlap there.
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_desks_attaching_one_ticket_at_once_do_not_overwrite_each_other(runtime):
    queue_id = make_queue(runtime, code="twodesk")
    with runtime.db.transaction() as s:
        aziz = patients.create_patient(s, {"full_name": "Karimov Aziz", "sex": "M"}).id
        dilnoza = patients.create_patient(s, {"full_name": "Karimova Dilnoza", "sex": "F"}).id
        ticket_id = q.issue_ticket(s, queue_id, tz=runtime.settings.tz).id
        cancelled_id = q.issue_ticket(s, queue_id, tz=runtime.settings.tz).id

    # The first desk has read both tickets (waiting, nobody's) when the second desk gives
    # the first to Aziz and the cancel button takes the other out of the queue.
    first = runtime.db.session()
    try:
        ticket, cancelled = first.get(Ticket, ticket_id), first.get(Ticket, cancelled_id)
        assert ticket.patient_id is None and cancelled.status == "waiting"
        with runtime.db.transaction() as other:
            reception.attach_patient(other, other.get(Ticket, ticket_id), aziz, actor="desk-2")
            calls.cancel(other, other.get(Ticket, cancelled_id))

        with pytest.raises(Conflict) as refused:
            reception.attach_patient(first, ticket, dilnoza, actor="desk-1")
        assert refused.value.code == "patient_changed" and "patient_id" in refused.value.errors
        with pytest.raises(Conflict) as gone:
            reception.attach_patient(first, cancelled, dilnoza, actor="desk-1")
        assert gone.value.code == "wrong_status"
        # Aziz attached at the same time by both desks: the second changes nothing.
        assert reception.attach_patient(first, ticket, aziz, actor="desk-1").patient_id == aziz
        first.commit()
    finally:
        first.close()

    with runtime.db.session() as s:
        assert s.get(Ticket, ticket_id).patient_id == aziz
        assert s.get(Ticket, cancelled_id).patient_id is None
        attached = s.scalars(
            select(TicketEvent.actor).where(
                TicketEvent.ticket_id.in_([ticket_id, cancelled_id]),
                TicketEvent.action == "patient_attached",
            )
        ).all()
        assert attached == ["desk-2"]


def test_the_desk_says_a_ticket_given_away_by_another_desk_in_its_language(client, runtime):
    import json
    import re
    from html import unescape

    make_queue(runtime, code="said")
    page = unescape(client.get("/queue/desk?lang=uz").get_data(as_text=True))
    config = json.loads(re.search(r'id="desk-config">(.*?)</script>', page, re.S).group(1))
    assert config["texts"]["refusals"]["patient_changed"].startswith("Boshqa registratura")


@pytest.mark.parametrize("language, shown", [("ru", "дд.мм.гггг"), ("uz", "kk.oo.yyyy")])
def test_the_desks_birth_date_is_typed_day_first_whatever_the_computers_settings(
    client, runtime, language, shown
):
    # The browser's date field follows the computer's settings (month first on one set to
    # English (US)): the desk's is a text field the script reads day first.
    import re
    from html import unescape

    page = unescape(client.get(f"/queue/desk?lang={language}").get_data(as_text=True))
    # Registering a patient, and correcting the chosen one's record.
    for form_id in ("patient-new", "patient-edit"):
        form = page.split(f'id="{form_id}"', 1)[1].split("</form>", 1)[0]
        field = re.search(r'<input name="birth_date"[^>]*>', form).group(0)
        assert 'type="date"' not in field and 'inputmode="numeric"' in field
        assert f'placeholder="{shown}"' in field
    assert 'id="patient-edit-open"' in page


def test_a_ticket_paid_for_by_its_patient_is_not_given_to_another(client, runtime):
    """In a "pay before the doctor" queue the ticket is called on its payment: given to
    another patient, he would be called on the first one's money. 409 naming patient_id."""
    queue_id = make_queue(runtime, code="paidq")
    with runtime.db.transaction() as s:
        first = patients.create_patient(s, {"full_name": "Karimov Aziz", "sex": "M"}).id
        second = patients.create_patient(s, {"full_name": "Rahimov Bobur", "sex": "M"}).id
        ticket = q.issue_ticket(s, queue_id, tz=runtime.settings.tz, patient_id=first)
        q.set_paid(s, ticket.id, utcnow(), actor="cashier", now=utcnow(), data={})
    refused = client.post(f"/api/v1/tickets/{ticket.id}/patient", json={"patient_id": second})
    assert refused.status_code == 409, refused.get_json()
    assert (
        refused.get_json()["code"] == "paid_ticket" and "patient_id" in refused.get_json()["errors"]
    )
    with runtime.db.session() as s:
        assert s.get(Ticket, ticket.id).patient_id == first
