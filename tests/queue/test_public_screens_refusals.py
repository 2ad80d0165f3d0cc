"""What the public and the doctor's screens are told when a press is refused: a room held by
a patient names him and his queue, so the doctor's screen words it for the queue it shows or
another; the patient's page says the rate limit in the words online joining uses."""

from __future__ import annotations

import json
from datetime import time

from clinic.queue import admin as queue_admin
from clinic.queue import tickets as q
from clinic.queue.models import Queue, Ticket
from clinic.reference import directory as reference
from tests.queue.test_room_rule import _hall

HTML = {"Accept": "text/html"}


def _config(page, name: str) -> dict:
    html = page.get_data(as_text=True)
    return json.loads(html.split(f'id="{name}">', 1)[1].split("</script>", 1)[0])


def test_a_room_busy_refusal_names_the_holders_ticket_and_queue(client, runtime):
    queue_id = _hall(runtime)
    with runtime.db.transaction() as s:
        room_id = s.get(Queue, queue_id).room_id
        department = reference.create_department(
            s,
            {
                "code": "echo",
                "ticket_prefix": "E",
                "name_ru": "Эхокардиография",
                "name_uz": "Exokardiografiya",
                "name_en": "Echocardiography",
            },
        )
        other = queue_admin.create_queue(
            s,
            {
                "code": "echo",
                "department_id": department.id,
                "room_id": room_id,
                "closes_at": time(23, 59, 59, 999999),
            },
        ).id
        q.issue_ticket(s, other, tz=runtime.settings.tz)
    held = client.post(f"/api/v1/queues/{queue_id}/call-next", json={}).get_json()

    # From the queue that holds the room, and from another queue calling into it.
    for calling in (queue_id, other):
        refused = client.post(f"/api/v1/queues/{calling}/call-next", json={})
        assert refused.status_code == 409 and refused.get_json()["code"] == "room_busy"
        body = refused.get_json()
        assert body["values"] == {"holder_code": held["code"], "holder_queue_id": queue_id}
        assert body["errors"] == {"room_id": [f"{held['code']} holds the room"]}

    page = client.get(f"/queue/doctor?queue={other}&lang=ru", headers=HTML)
    texts = _config(page, "doctor-config")["texts"]
    assert "{code}" in texts["roomBusyInQueue"] and "{queue}" in texts["roomBusyInQueue"]
    assert "{code}" in texts["roomBusy"]


def test_the_patients_page_says_the_rate_limit_as_online_joining_does(client, runtime):
    queue_id = _hall(runtime)
    ticket = client.post(f"/api/v1/queues/{queue_id}/tickets", json={}).get_json()
    with runtime.db.session() as s:
        token = s.get(Ticket, ticket["id"]).token
    for language, words in (
        ("ru", "Слишком много попыток. Подождите минуту и попробуйте снова."),
        ("uz", "Urinishlar juda ko'p. Bir daqiqa kutib, qayta urinib ko'ring."),
    ):
        page = client.get(f"/t/{token}?lang={language}", headers=HTML)
        texts = _config(page, "patient-config")["texts"]
        joining = _config(client.get(f"/join/{queue_id}?lang={language}"), "join-config")
        assert texts["tooMany"] == joining["refusals"]["too_many"] == words
        assert texts["leaveRefused"] != words
