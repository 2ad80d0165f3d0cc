"""A doctor reads and acts only on his own queues, and every door says so alike: the JSON API,
the doctor's page and the WebSocket ask the one rule of clinic/queue/access.py.

One doctor, one identity (a bearer token, which all three doors accept), two queues: his
department's shared queue and another department's queue. For every queue operation the
answer through each door is compared with the answer through the others.
"""

from __future__ import annotations

from datetime import time

import pytest
import websocket

from clinic.accounts import tokens, users
from clinic.accounts.permissions import ROLES, Staff
from clinic.queue import access
from clinic.queue import admin as queue_admin
from clinic.queue import calls
from clinic.queue import tickets as q
from clinic.reference import directory as reference
from tests.conftest import _create_user
from tests.wsclient import WSClient

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}

# Every queue operation of the API: (name, method, path, body).
API_OPERATIONS = [
    ("today's tickets", "GET", "/api/v1/queues/{queue}/tickets", None),
    ("one ticket", "GET", "/api/v1/tickets/{ticket}", None),
    ("call next", "POST", "/api/v1/queues/{queue}/call-next", {}),
    ("recall", "POST", "/api/v1/tickets/{ticket}/recall", None),
    ("start", "POST", "/api/v1/tickets/{ticket}/start", None),
    ("finish", "POST", "/api/v1/tickets/{ticket}/finish", None),
    ("no-show", "POST", "/api/v1/tickets/{ticket}/no-show", None),
    ("postpone", "POST", "/api/v1/tickets/{ticket}/postpone", None),
    ("call back", "POST", "/api/v1/tickets/{ticket}/call-back", {}),
    ("transfer", "POST", "/api/v1/tickets/{ticket}/transfer", {"to_queue_id": "{target}"}),
]
CHANNELS = ["queue:{queue}", "ticket:{ticket}"]
PAGES = ["/queue/doctor?queue={queue}"]


def _department(s, code: str):
    return reference.create_department(
        s,
        {
            "code": code,
            "ticket_prefix": code[:3].upper(),
            "name_ru": "Отделение",
            "name_uz": "Bo'lim",
            "name_en": "Department",
        },
    )


@pytest.fixture
def clinic_floor(runtime, anon_client):
    """A doctor with his own room, his department's shared queue (no room of its own),
    another department's queue with a room, and a third queue to transfer to."""
    user_id, name = _create_user(runtime, "doctor")
    with runtime.db.transaction() as s:
        user = users.get_user(s, user_id)
        _, token = tokens.create_token(s, user, name="doctor")
        doctor = reference.get_doctor(s, user.doctor_id)
        own_room = reference.create_room(s, {"number": "7", "name": ""})
        reference.update_doctor(s, doctor.id, {"room_id": own_room.id})
        mine = queue_admin.create_queue(
            s,
            {
                "code": "mine",
                "department_id": doctor.department_id,
                "closes_at": time(23, 59, 59, 999999),
            },
        )
        other_room = reference.create_room(s, {"number": "40", "name": ""})
        other = queue_admin.create_queue(
            s,
            {
                "code": "other",
                "department_id": _department(s, "othr").id,
                "room_id": other_room.id,
                "closes_at": time(23, 59, 59, 999999),
            },
        )
        target = queue_admin.create_queue(
            s,
            {
                "code": "target",
                "department_id": _department(s, "targ").id,
                "closes_at": time(23, 59, 59, 999999),
            },
        )
        floor = {
            "token": token,
            "doctor_id": doctor.id,
            "own_room": own_room.id,
            "other_room": other_room.id,
            "mine": mine.id,
            "other": other.id,
            "target": target.id,
        }
    anon_client.token_owners[token] = name
    return floor


def _issue(runtime, queue_id: int) -> int:
    with runtime.db.transaction() as s:
        return q.issue_ticket(s, queue_id, tz=runtime.settings.tz).id


def _fill(template, **values):
    if isinstance(template, str):
        return template.format(**values)
    if isinstance(template, dict):
        return {k: _fill(v, **values) for k, v in template.items()}
    return template


def _api_allows(client, token, method, path, body, values) -> bool:
    headers = {"Authorization": f"Bearer {token}"}
    body = _fill(body, **values)
    if isinstance(body, dict) and "to_queue_id" in body:
        body["to_queue_id"] = int(body["to_queue_id"])
    answer = client.open(_fill(path, **values), method=method, json=body, headers=headers)
    assert answer.status_code < 500, answer.get_json()
    # Allowed means the rule let it through; the ticket's status may still refuse it (409).
    return answer.status_code != 403


def _socket_allows(live_server, token, channel) -> bool:
    """True when the subscription is answered, False when the socket is closed with 1008."""
    ws = WSClient(live_server, token=token)
    try:
        ws.send({"op": "subscribe", "channel": channel})
        ws.ws.settimeout(5)
        while True:
            opcode, data = ws.ws.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                assert int.from_bytes(data[:2], "big") == 1008
                return False
            if opcode == websocket.ABNF.OPCODE_TEXT and b'"subscribed"' in data:
                return True
    finally:
        ws.close()


def _page_allows(client, token, path) -> bool:
    answer = client.get(path, headers={**HTML, "Authorization": f"Bearer {token}"})
    assert answer.status_code in (200, 403), answer.status_code
    return answer.status_code == 200


def _answers(runtime, anon_client, live_server, floor, queue_key: str) -> dict[str, bool]:
    values = {"queue": floor[queue_key], "target": floor["target"]}
    answers = {}
    for name, method, path, body in API_OPERATIONS:
        # A fresh ticket for each operation, so earlier steps do not decide later answers.
        values["ticket"] = _issue(runtime, floor[queue_key])
        answers[f"API {name}"] = _api_allows(
            anon_client, floor["token"], method, path, body, values
        )
    values["ticket"] = _issue(runtime, floor[queue_key])
    for channel in CHANNELS:
        answers[f"socket {channel}"] = _socket_allows(
            live_server, floor["token"], _fill(channel, **values)
        )
    for page in PAGES:
        answers[f"page {page}"] = _page_allows(anon_client, floor["token"], _fill(page, **values))
    return answers


def test_every_door_refuses_a_doctor_another_departments_queue(
    runtime, anon_client, live_server, clinic_floor
):
    answers = _answers(runtime, anon_client, live_server, clinic_floor, "other")
    assert not any(answers.values()), {door: ok for door, ok in answers.items() if ok}


def test_every_door_lets_a_doctor_work_his_own_departments_queue(
    runtime, anon_client, live_server, clinic_floor
):
    answers = _answers(runtime, anon_client, live_server, clinic_floor, "mine")
    assert all(answers.values()), {door: ok for door, ok in answers.items() if not ok}


def test_a_doctors_call_on_a_shared_queue_goes_to_his_own_room(runtime, anon_client, clinic_floor):
    floor, headers = clinic_floor, {"Authorization": f"Bearer {clinic_floor['token']}"}
    _issue(runtime, floor["mine"])
    called = anon_client.post(f"/api/v1/queues/{floor['mine']}/call-next", json={}, headers=headers)
    assert called.status_code == 200 and called.get_json()["room_id"] == floor["own_room"]
    page = anon_client.get(f"/queue/doctor?queue={floor['mine']}", headers={**HTML, **headers})
    assert f'"roomId": {floor["own_room"]}' in page.get_data(as_text=True)


def test_a_doctors_own_room_taken_out_of_use_is_not_called_into(runtime, anon_client, clinic_floor):
    """His room deactivated (closed for repairs) while his record still names it: a call on
    the shared queue is refused (422 naming room_id), as naming that room is, and the patient
    is not sent to a closed room; the doctor's page still opens. Another room named works."""
    floor, headers = clinic_floor, {"Authorization": f"Bearer {clinic_floor['token']}"}
    ticket = _issue(runtime, floor["mine"])
    with runtime.db.transaction() as s:
        reference.deactivate_room(s, floor["own_room"])
    url = f"/api/v1/queues/{floor['mine']}/call-next"
    refused = anon_client.post(url, json={}, headers=headers)
    assert refused.status_code == 422 and list(refused.get_json()["errors"]) == ["room_id"]
    with runtime.db.transaction() as s:
        assert q.get_ticket(s, ticket).status == "waiting"
        calls.postpone(s, q.get_ticket(s, ticket))
    back = anon_client.post(f"/api/v1/tickets/{ticket}/call-back", json={}, headers=headers)
    assert back.status_code == 422 and list(back.get_json()["errors"]) == ["room_id"]
    page = anon_client.get(f"/queue/doctor?queue={floor['mine']}", headers={**HTML, **headers})
    assert page.status_code == 200
    with runtime.db.transaction() as s:
        assert q.get_ticket(s, ticket).status == "postponed"
        room = reference.create_room(s, {"number": "8", "name": ""})
        reference.update_doctor(s, floor["doctor_id"], {"room_id": room.id})
    back = anon_client.post(f"/api/v1/tickets/{ticket}/call-back", json={}, headers=headers)
    assert back.status_code == 200 and back.get_json()["room"] == "8"


def test_a_doctor_is_given_another_room_only_once_the_patient_he_called_is_done(
    runtime, anon_client, client_as, clinic_floor
):
    """Moved mid-call, he would lose his patient (whose patient it is goes by the room) and
    could call a second one, while the first call stayed on the board: the move is refused,
    naming room_id and the patient, until he has finished with him."""
    floor, headers = clinic_floor, {"Authorization": f"Bearer {clinic_floor['token']}"}
    _issue(runtime, floor["mine"])
    called = anon_client.post(f"/api/v1/queues/{floor['mine']}/call-next", json={}, headers=headers)
    assert called.status_code == 200, called.get_json()
    ticket = called.get_json()
    with runtime.db.transaction() as s:
        new_room = reference.create_room(s, {"number": "9", "name": ""}).id
    admin = client_as("admin")
    moved = admin.patch(f"/api/v1/doctors/{floor['doctor_id']}", json={"room_id": new_room})
    assert moved.status_code == 409 and moved.get_json()["code"] == "doctor_with_patients"
    assert ticket["code"] in moved.get_json()["errors"]["room_id"][0]
    with runtime.db.session() as s:
        assert reference.get_doctor(s, floor["doctor_id"]).room_id == floor["own_room"]
    for step in ("start", "finish"):
        done = anon_client.post(f"/api/v1/tickets/{ticket['id']}/{step}", headers=headers)
        assert done.status_code == 200, done.get_json()
    moved = admin.patch(f"/api/v1/doctors/{floor['doctor_id']}", json={"room_id": new_room})
    assert moved.status_code == 200 and moved.get_json()["room_id"] == new_room


def test_a_doctor_cannot_call_a_patient_to_another_doctors_room(runtime, anon_client, clinic_floor):
    floor, headers = clinic_floor, {"Authorization": f"Bearer {clinic_floor['token']}"}
    ticket = _issue(runtime, floor["mine"])
    refused = anon_client.post(
        f"/api/v1/queues/{floor['mine']}/call-next",
        json={"room_id": floor["other_room"]},
        headers=headers,
    )
    assert refused.status_code == 403 and "room_id" in refused.get_json()["errors"]
    with runtime.db.session() as s:
        assert q.get_ticket(s, ticket).status == "waiting"


def test_the_rule_answers_by_role_whoever_asks(runtime, clinic_floor):
    floor = clinic_floor
    with runtime.db.session() as s:
        other, mine = q.get_queue(s, floor["other"]), q.get_queue(s, floor["mine"])
        doctor = Staff(ROLES["doctor"], floor["doctor_id"])
        assert access.may_act_on_queue(s, doctor, mine)
        assert not access.may_read_queue(s, doctor, other)
        assert access.may_read_board(doctor)
        # The same doctor who also configures queues works on every one of them.
        manager = Staff(ROLES["doctor"] | {"queue.manage"}, floor["doctor_id"])
        assert access.may_act_on_queue(s, manager, other)
        for role in ("registrar", "manager"):
            assert access.may_read_queue(s, Staff(ROLES[role]), other), role
        assert not access.may_act_on_queue(s, Staff(ROLES["registrar"]), other)
        assert not access.may_read_queue(s, Staff(ROLES["display"]), other)


def test_the_doctors_page_answers_a_queue_that_is_no_id_with_a_404(anon_client, clinic_floor):
    headers = {**HTML, "Authorization": f"Bearer {clinic_floor['token']}"}
    for asked in ("abc", "9" * 40, "0", "²", "1²"):
        assert anon_client.get(f"/queue/doctor?queue={asked}", headers=headers).status_code == 404


def test_a_patient_a_colleague_called_to_his_room_from_the_shared_queue_is_the_colleagues(
    runtime, anon_client, client, clinic_floor
):
    """Both doctors work the department's shared queue: the one in room 9 called the patient.
    The doctor in room 7 does not recall, start, finish, mark, postpone or send him on; the
    patient stays as he was. His own call he works as ever, and reception may act on both."""
    floor, headers = clinic_floor, {"Authorization": f"Bearer {clinic_floor['token']}"}
    with runtime.db.transaction() as s:
        colleague_room = reference.create_room(s, {"number": "9", "name": ""}).id
    tz = runtime.settings.tz
    for name, method, path, body in API_OPERATIONS:
        if "{ticket}" not in path or name in ("one ticket", "call back"):
            continue
        ticket = _issue(runtime, floor["mine"])
        with runtime.db.transaction() as s:
            calls.call_next(s, floor["mine"], tz=tz, room_id=colleague_room)
            if name == "finish":
                calls.start_service(s, q.get_ticket(s, ticket))
            before = q.get_ticket(s, ticket).status
        values = {"ticket": ticket, "target": floor["target"]}
        body = _fill(body, **values)
        if isinstance(body, dict) and "to_queue_id" in body:
            body["to_queue_id"] = int(body["to_queue_id"])
        answer = anon_client.open(_fill(path, **values), method=method, json=body, headers=headers)
        assert answer.status_code == 403, (name, answer.get_json())
        assert answer.get_json()["code"] == "not_your_patient", name
        with runtime.db.session() as s:
            assert q.get_ticket(s, ticket).status == before, name
        # Reception may: it serves the colleague's patient, and his room is free again.
        if before == "called":
            assert client.post(f"/api/v1/tickets/{ticket}/start").status_code == 200
        assert client.post(f"/api/v1/tickets/{ticket}/finish").status_code == 200
    # His own call, to room 7: his to work.
    mine = _issue(runtime, floor["mine"])
    called = anon_client.post(f"/api/v1/queues/{floor['mine']}/call-next", json={}, headers=headers)
    assert called.get_json()["id"] == mine
    assert anon_client.post(f"/api/v1/tickets/{mine}/start", headers=headers).status_code == 200
    assert anon_client.post(f"/api/v1/tickets/{mine}/finish", headers=headers).status_code == 200
