"""The kiosk's account (the ``kiosk`` role) does what the kiosk does and nothing more: its
session stands open in the hall to whoever walks up, so it issues plain tickets, prints those
it issued and follows how many wait, and finds no patient and reads no queue's tickets."""

from __future__ import annotations

import re
from datetime import time

import pytest

from clinic.queue import admin as queue_admin
from clinic.reference import directory as reference
from clinic.reference import patients
from tests.conftest import ONE_BACKEND
from tests.wsclient import WSClient

pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])

HTML = {"Accept": "text/html"}


@pytest.fixture
def queue_id(runtime):
    with runtime.db.transaction() as s:
        department = reference.create_department(
            s,
            {
                "code": "lor",
                "ticket_prefix": "L",
                "name_ru": "ЛОР",
                "name_uz": "LOR",
                "name_en": "ENT",
            },
        )
        queue = queue_admin.create_queue(
            s, {"code": "lor", "department_id": department.id, "closes_at": time(23, 59)}
        )
        patients.create_patient(s, {"full_name": "Karimova Dilnoza", "sex": "F"})
        return queue.id


def test_the_kiosk_account_issues_and_prints_its_tickets_and_sees_no_patient(
    client_as, client, runtime, queue_id
):
    kiosk = client_as("kiosk")
    page = kiosk.get("/kiosk", headers=HTML)
    assert page.status_code == 200
    issue_url = f"/api/v1/kiosk/queues/{queue_id}/tickets"
    assert issue_url in page.get_data(as_text=True)

    issued = kiosk.post(issue_url, json={})
    assert issued.status_code == 201, issued.get_json()
    ticket = issued.get_json()
    assert ticket["source"] == "kiosk" and ticket["priority"] == "normal"
    assert ticket["patient_id"] is None and "patient_url" not in ticket
    printed = kiosk.get(f"/kiosk/ticket/{ticket['id']}/print", headers=HTML)
    assert printed.status_code == 200
    assert re.search(rf">\s*{ticket['code']}\s*<", printed.get_data(as_text=True))

    # Only a plain ticket: a patient, a comment or a priority is no kiosk's to give.
    for body in ({"patient_id": 1}, {"comment": "x"}, {"priority": "urgent"}):
        assert kiosk.post(issue_url, json=body).status_code == 422, body
    # What the desk may do, it may not: find patients, read a queue's tickets, issue others.
    assert kiosk.get("/api/v1/patients?q=Karimova").status_code == 403
    assert kiosk.get(f"/api/v1/queues/{queue_id}/tickets").status_code == 403
    assert kiosk.get("/api/v1/queues").status_code == 403
    assert kiosk.get("/queue/desk", headers=HTML).status_code == 403
    desk_issue = kiosk.post(f"/api/v1/queues/{queue_id}/tickets", json={"source": "kiosk"})
    assert desk_issue.status_code == 403
    assert kiosk.get(f"/ticket/{ticket['id']}/print", headers=HTML).status_code == 403

    # A ticket the desk issued, and the kiosk's own once it has left the queue, print
    # nowhere here: their patients' pages are not the kiosk's to hand out.
    desk_ticket = client.post(f"/api/v1/queues/{queue_id}/tickets", json={}).get_json()
    assert kiosk.get(f"/kiosk/ticket/{desk_ticket['id']}/print", headers=HTML).status_code == 404
    assert client.post(f"/api/v1/tickets/{ticket['id']}/cancel", json={}).status_code == 200
    assert kiosk.get(f"/kiosk/ticket/{ticket['id']}/print", headers=HTML).status_code == 404


def test_the_desk_still_opens_the_kiosk(client_as, queue_id):
    """A kiosk set up before the kiosk role, as a registrar, keeps working."""
    registrar = client_as("registrar")
    assert registrar.get("/kiosk", headers=HTML).status_code == 200
    issued = registrar.post(f"/api/v1/kiosk/queues/{queue_id}/tickets", json={})
    assert issued.status_code == 201
    print_url = f"/kiosk/ticket/{issued.get_json()['id']}/print"
    assert registrar.get(print_url, headers=HTML).status_code == 200


def test_the_kiosk_follows_how_many_wait_and_no_queues_tickets(live_server, runtime, queue_id):
    from clinic.accounts import tokens, users
    from tests.conftest import _create_user

    user_id, _ = _create_user(runtime, "kiosk")
    with runtime.db.transaction() as s:
        token = tokens.create_token(s, users.get_user(s, user_id), name="kiosk")[1]
    ws = WSClient(live_server, token=token)
    assert ws.subscribe(f"board:{queue_id}")[-1]["op"] == "subscribed"
    ws.send({"op": "subscribe", "channel": f"queue:{queue_id}"})
    assert ws.wait_closed() == 1008
