"""Queue administration over HTTP: a queue made, a board changed, a ticket cancelled."""

from __future__ import annotations

from datetime import time

from clinic.queue.models import Queue
from clinic.reference import directory as reference
from tests.queue.test_api import make_queue


def test_an_administrator_makes_a_queue_with_its_department_prefix(client_as, runtime):
    with runtime.db.transaction() as s:
        department = reference.create_department(
            s,
            {"code": "ent", "ticket_prefix": "LOR", "name_ru": "ЛОР", "name_uz": "LOR",
             "name_en": "ENT"},
        )  # fmt: skip
    admin = client_as("admin")
    made = admin.post(
        "/api/v1/queues",
        json={"code": "ent", "department_id": department.id, "closes_at": "20:00"},
    )
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["code"] == "ent" and body["prefix"] == "LOR" and body["waiting"] == 0
    assert body["closes_at"] == "20:00"
    assert admin.get(f"/api/v1/queues/{body['id']}").get_json()["code"] == "ent"


def test_an_administrator_renames_a_board_and_points_it_at_other_queues(client_as, runtime):
    first, second = make_queue(runtime, "therapy"), make_queue(runtime, "surgery")
    admin = client_as("admin")
    board = admin.post("/api/v1/boards", json={"name": "Hall", "queue_ids": [first]})
    assert board.status_code == 201, board.get_json()
    changed = admin.patch(
        f"/api/v1/boards/{board.get_json()['id']}",
        json={"name": "Upstairs", "queue_ids": [second, first], "chime": False},
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json() == {
        **board.get_json(),
        "name": "Upstairs",
        "queue_ids": [second, first],
        "chime": False,
    }


def test_the_desk_cancels_a_waiting_ticket_with_a_reason(client_as, runtime):
    queue_id = make_queue(runtime)
    desk = client_as("registrar")
    ticket = desk.post(f"/api/v1/queues/{queue_id}/tickets", json={}).get_json()
    cancelled = desk.post(f"/api/v1/tickets/{ticket['id']}/cancel", json={"reason": "left"})
    assert cancelled.status_code == 200, cancelled.get_json()
    assert cancelled.get_json()["status"] == "cancelled"
    history = desk.get(f"/api/v1/tickets/{ticket['id']}").get_json()["history"]
    assert [h["action"] for h in history] == ["issued", "cancelled"]


def test_a_switched_off_board_shows_nothing(client_as, runtime):
    queue_id = make_queue(runtime)
    admin = client_as("admin")
    board = admin.post("/api/v1/boards", json={"name": "Hall", "queue_ids": [queue_id]}).get_json()
    assert admin.get(f"/board/{board['id']}").status_code == 200
    admin.patch(f"/api/v1/boards/{board['id']}", json={"active": False})
    # No calls and no queue: a page that asks again by itself, for the day it is switched on.
    off = admin.get(f"/board/{board['id']}")
    assert off.status_code == 503 and off.headers["Retry-After"] == "60"
    assert "board-config" not in off.get_data(as_text=True)


def test_the_queue_list_shows_each_active_queue_as_its_own_page_does(client_as, runtime):
    with_room = make_queue(runtime, "therapy", online_from=time(8, 0), online_until=time(12, 30))
    bare = make_queue(runtime, "xray", room_id=None)
    with runtime.db.transaction() as s:
        doctor = reference.create_doctor(
            s, {"full_name": "Ҳасанова Нигора", "department_id": s.get(Queue, bare).department_id}
        )
        doctor_id = doctor.id
    with_doctor = make_queue(runtime, "surgery", doctor_id=doctor_id)
    hidden = make_queue(runtime, "closed", active=False)
    admin = client_as("admin")
    for _ in range(2):
        assert admin.post(f"/api/v1/queues/{with_room}/tickets", json={}).status_code == 201
    listed = admin.get("/api/v1/queues")
    assert listed.status_code == 200
    by_id = {queue["id"]: queue for queue in listed.get_json()}
    assert sorted(by_id) == sorted([with_room, bare, with_doctor]) and hidden not in by_id
    for queue_id, shown in by_id.items():
        assert shown == admin.get(f"/api/v1/queues/{queue_id}").get_json()
    assert [by_id[q]["waiting"] for q in (with_room, bare, with_doctor)] == [2, 0, 0]
    assert by_id[with_doctor]["doctor"] == "Ҳасанова Нигора" and by_id[bare]["room"] is None
    assert by_id[with_room]["online_until"] == "12:30"
    codes = [queue["code"] for queue in listed.get_json()]
    assert codes == sorted(codes)


def test_a_transfer_keeps_the_desks_note_and_names_an_unknown_target_by_its_field(client, runtime):
    therapy, lab = make_queue(runtime, "therapy"), make_queue(runtime, "lab")
    issued = client.post(
        f"/api/v1/queues/{therapy}/tickets", json={"comment": "аллергия на пенициллин"}
    ).get_json()
    unknown = client.post(f"/api/v1/tickets/{issued['id']}/transfer", json={"to_queue_id": 99999})
    assert unknown.status_code == 404 and "to_queue_id" in unknown.get_json()["errors"]
    moved = client.post(f"/api/v1/tickets/{issued['id']}/transfer", json={"to_queue_id": lab})
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["comment"] == "аллергия на пенициллин"
    # A refused step says plainly what could not be done.
    again = client.post(f"/api/v1/tickets/{issued['id']}/no-show")
    assert again.status_code == 409
    assert again.get_json()["detail"].endswith("cannot mark it as a no-show")


def test_queue_settings_refuse_another_departments_room_loose_times_and_unicode_digits(
    client, runtime
):
    with runtime.db.transaction() as s:
        department = reference.create_department(
            s, {"code": "d-x", "ticket_prefix": "X", "name_ru": "Х", "name_uz": "X", "name_en": "X"}
        )
        other = reference.create_department(
            s, {"code": "d-y", "ticket_prefix": "Y", "name_ru": "У", "name_uz": "Y", "name_en": "Y"}
        )
        theirs = reference.create_room(s, {"number": "301", "department_id": other.id})
        shared = reference.create_room(s, {"number": "302"})
        department_id, theirs_id, shared_id = department.id, theirs.id, shared.id
    made = {"code": "xq", "department_id": department_id, "room_id": theirs_id}
    refused = client.post("/api/v1/queues", json=made)
    assert refused.status_code == 422 and "room_id" in refused.get_json()["errors"]
    for closes_at in ("08:00:30", "T08:00", "8:00", "24:01", "00:00", "08:00+05:00"):
        answer = client.post("/api/v1/queues", json={**made, "room_id": shared_id,
                                                     "closes_at": closes_at})  # fmt: skip
        assert answer.status_code == 422, closes_at
        assert "closes_at" in answer.get_json()["errors"], closes_at
    created = client.post("/api/v1/queues", json={**made, "room_id": shared_id})
    assert created.status_code == 201, created.get_json()
    queue_id = created.get_json()["id"]
    moved = client.patch(f"/api/v1/queues/{queue_id}", json={"room_id": theirs_id})
    assert moved.status_code == 422 and "room_id" in moved.get_json()["errors"]
    for query in ("limit=%EF%BC%92", "offset=%EF%BC%91", "limit=%D9%A2"):
        answer = client.get(f"/api/v1/queues/{queue_id}/tickets?{query}")
        assert answer.status_code == 422, query
        assert set(answer.get_json()["errors"]) & {"limit", "offset"}, query
