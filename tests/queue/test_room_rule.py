"""A doctor's room holds one patient at a time: while one is called or in service, a second
"call next" is refused, and the API and the doctor's page give the same answer."""

from __future__ import annotations

import json
import re
from datetime import time

from clinic.queue import admin as queue_admin
from clinic.queue import tickets as q
from clinic.reference import directory as reference

HTML = {"Accept": "text/html"}


def _hall(runtime) -> int:
    with runtime.db.transaction() as s:
        department = reference.create_department(
            s,
            {
                "code": "neuro",
                "ticket_prefix": "N",
                "name_ru": "Неврология",
                "name_uz": "Nevrologiya",
                "name_en": "Neurology",
            },
        )
        room = reference.create_room(s, {"number": "31", "name": ""})
        queue = queue_admin.create_queue(
            s,
            {
                "code": "neuro",
                "department_id": department.id,
                "room_id": room.id,
                "closes_at": time(23, 59, 59, 999999),
            },
        )
        for _ in range(3):
            q.issue_ticket(s, queue.id, tz=runtime.settings.tz)
        return queue.id


def _page_allows_a_call(client, queue_id: int) -> bool:
    page = client.get(f"/queue/doctor?queue={queue_id}", headers=HTML)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    button = re.search(r'<button[^>]*id="call-next"[^>]*>', html).group(0)
    busy_note = re.search(r'<p[^>]*id="room-busy"[^>]*>([^<]*)</p>', html)
    assert ("disabled" in button) == bool(busy_note.group(1))
    return "disabled" not in button


def test_a_second_call_next_while_the_room_holds_a_patient_is_refused_by_api_and_page(
    client, runtime
):
    queue_id = _hall(runtime)
    url = f"/api/v1/queues/{queue_id}/call-next"
    assert _page_allows_a_call(client, queue_id)
    first = client.post(url, json={})
    assert first.status_code == 200

    for step in (None, "start"):  # called, then in service: the room is held either way
        if step:
            client.post(f"/api/v1/tickets/{first.get_json()['id']}/{step}")
        again = client.post(url, json={})
        assert again.status_code == 409, again.get_json()
        assert again.get_json()["code"] == "room_busy"
        assert first.get_json()["code"] in again.get_json()["detail"]
        assert not _page_allows_a_call(client, queue_id)

    # The API document says so, for a client made from it.
    documented = client.get("/api/openapi.json").get_json()["paths"]
    assert "409" in documented["/api/v1/queues/{queue_id}/call-next"]["post"]["responses"]
    assert client.post(f"/api/v1/tickets/{first.get_json()['id']}/finish").status_code == 200
    assert _page_allows_a_call(client, queue_id)
    second = client.post(url, json={})
    assert second.status_code == 200 and second.get_json()["number"] == 2
    statuses = [t["status"] for t in client.get(f"/api/v1/queues/{queue_id}/tickets").get_json()]
    assert sorted(statuses) == ["called", "served", "waiting"]


def test_a_postponed_ticket_is_not_called_back_into_a_busy_room(client, runtime):
    queue_id = _hall(runtime)
    url = f"/api/v1/queues/{queue_id}/call-next"
    first = client.post(url, json={}).get_json()
    assert client.post(f"/api/v1/tickets/{first['id']}/postpone").status_code == 200
    second = client.post(url, json={})
    assert second.status_code == 200
    back = client.post(f"/api/v1/tickets/{first['id']}/call-back", json={})
    assert back.status_code == 409 and back.get_json()["code"] == "room_busy"


def test_a_call_is_not_sent_to_a_deactivated_room(client, runtime):
    """A room taken out of use (deactivated) is offered for no new call: naming it is a 422
    at room_id, and nobody is called into it."""
    queue_id = _hall(runtime)
    old = client.post("/api/v1/rooms", json={"number": "99"}).get_json()
    assert client.post(f"/api/v1/rooms/{old['id']}/deactivate").status_code == 200
    refused = client.post(f"/api/v1/queues/{queue_id}/call-next", json={"room_id": old["id"]})
    assert refused.status_code == 422 and list(refused.get_json()["errors"]) == ["room_id"]
    listed = client.get(f"/api/v1/queues/{queue_id}/tickets").get_json()
    assert {t["status"] for t in listed} == {"waiting"}
    ticket = listed[0]
    client.post(f"/api/v1/tickets/{ticket['id']}/postpone")
    back = client.post(f"/api/v1/tickets/{ticket['id']}/call-back", json={"room_id": old["id"]})
    assert back.status_code == 422 and list(back.get_json()["errors"]) == ["room_id"]
    called = client.post(f"/api/v1/queues/{queue_id}/call-next", json={})
    assert called.status_code == 200 and called.get_json()["room"] == "31"


def test_the_doctors_screen_words_a_room_held_from_his_other_queue(client, runtime):
    """His room holds a patient he called from his other queue, which this screen does not
    show: a refused "call next" says so in the screen's language, not a blank ticket number."""
    queue_id = _hall(runtime)
    page = client.get(f"/queue/doctor?queue={queue_id}&lang=ru", headers=HTML)
    html = page.get_data(as_text=True)
    config = json.loads(html.split('id="doctor-config">', 1)[1].split("</script>", 1)[0])
    elsewhere = config["texts"]["roomBusyElsewhere"]
    assert elsewhere.startswith("В вашем кабинете ещё пациент, вызванный из другой")
    assert "{code}" not in elsewhere
