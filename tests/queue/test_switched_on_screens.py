"""A queue switched on again reaches the screens that list the queues (the desk, the kiosk)
although they loaded while it was off: its switch is also told on ``queues:all``, whose
snapshot names every queue switched on, and the queue's own snapshots say whether it is on,
so a screen that comes back after its channel's history was let go shows it as it is."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clinic import channels
from clinic.events.models import OutboxEvent
from tests.conftest import ONE_BACKEND
from tests.queue.test_api import make_queue
from tests.web.test_channel_rules import staff
from tests.wsclient import WSClient
from web.queue import channels as _queue_rules  # noqa: F401 - registers the queue's rules
from web.ws.access import PatientIdentity, ScreenIdentity, may_read


def _listing_heard(runtime) -> tuple[list, list]:
    with runtime.db.session() as s:
        kept = s.scalars(
            select(OutboxEvent).where(OutboxEvent.channel == "queues:all").order_by(OutboxEvent.seq)
        ).all()
        outbox = [(row.type, row.data) for row in kept]
    published = [(m["type"], m["data"]) for m in runtime.bus.history_after("queues:all", 0)]
    return outbox, published


def _snapshots(runtime, queue_id) -> dict:
    with runtime.db.session() as s:
        return {
            channel.split(":")[0]: channels.snapshot(s, channel, runtime.settings.tz)[0]
            for channel in ("queues:all", f"queue:{queue_id}", f"board:{queue_id}")
        }


def test_a_queue_switched_on_is_told_to_the_screens_listing_the_queues(client, runtime):
    queue_id = make_queue(runtime, "therapy")
    other = make_queue(runtime, "surgery")
    path = f"/api/v1/queues/{queue_id}"
    seen = _snapshots(runtime, queue_id)
    assert sorted(seen["queues"]["active"]) == sorted([queue_id, other])
    assert (seen["queue"]["active"], seen["board"]["active"]) == (True, True)

    made = [("queue.created", {"queue_id": queue_id}), ("queue.created", {"queue_id": other})]
    assert _listing_heard(runtime) == (made, made)

    assert client.patch(path, json={"active": False}).status_code == 200
    off = made + [("queue.switched_off", {"queue_id": queue_id})]
    assert _listing_heard(runtime) == (off, off)
    seen = _snapshots(runtime, queue_id)
    assert seen["queues"]["active"] == [other]
    assert (seen["queue"]["active"], seen["board"]["active"]) == (False, False)

    assert client.patch(path, json={"active": True}).status_code == 200
    both = off + [("queue.switched_on", {"queue_id": queue_id})]
    assert _listing_heard(runtime) == (both, both)
    seen = _snapshots(runtime, queue_id)
    assert sorted(seen["queues"]["active"]) == sorted([queue_id, other])
    assert (seen["queue"]["active"], seen["board"]["active"]) == (True, True)


def test_a_queue_made_is_told_to_the_screens_listing_the_queues_and_one_made_off_is_not(
    client, runtime
):
    """A desk or a kiosk open all day adds a queue made meanwhile as it adds one switched on;
    one made switched off is not there to add, and says nothing until it is switched on."""
    answer = client.post("/api/v1/departments", json=_department("lab"))
    assert answer.status_code == 201, answer.get_json()
    department_id = answer.get_json()["id"]
    made = client.post("/api/v1/queues", json={"code": "lab", "department_id": department_id})
    assert made.status_code == 201, made.get_json()
    queue_id = made.get_json()["id"]
    heard = [("queue.created", {"queue_id": queue_id})]
    assert _listing_heard(runtime) == (heard, heard)
    assert _snapshots(runtime, queue_id)["queues"]["active"] == [queue_id]

    body = {"code": "lab-2", "department_id": department_id, "prefix": "LB", "active": False}
    off = client.post("/api/v1/queues", json=body)
    assert off.status_code == 201, off.get_json()
    assert _listing_heard(runtime) == (heard, heard)
    assert _snapshots(runtime, queue_id)["queues"]["active"] == [queue_id]

    refused = client.post("/api/v1/queues", json={"code": "lab-3", "department_id": 10**9})
    assert refused.status_code == 422, refused.get_json()
    assert _listing_heard(runtime) == (heard, heard)


def _department(code: str) -> dict:
    names = {"name_ru": "Лаборатория", "name_uz": "Laboratoriya", "name_en": "Laboratory"}
    return {"code": code, "ticket_prefix": code[:2].upper(), **names}


def test_the_queue_list_channel_is_read_by_the_desk_and_the_kiosk_not_by_the_public(db):
    assert may_read(staff("registrar"), "queues:all", db)
    assert may_read(staff("kiosk"), "queues:all", db)
    assert may_read(staff("doctor"), "queues:all", db)
    assert not may_read(staff("cashier"), "queues:all", db)
    assert not may_read(staff("registrar"), "queues:1", db)
    assert not may_read(PatientIdentity(ticket_id=1, queue_id=1), "queues:all", db)
    assert not may_read(ScreenIdentity(1, 1, frozenset({1})), "queues:all", db)


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_the_kiosk_hears_a_queue_switched_on_over_its_socket(live_server, client, runtime):
    from clinic.accounts import tokens, users
    from tests.conftest import _create_user

    queue_id = make_queue(runtime, "therapy")
    path = f"/api/v1/queues/{queue_id}"
    assert client.patch(path, json={"active": False}).status_code == 200
    user_id, _ = _create_user(runtime, "kiosk")
    with runtime.db.transaction() as s:
        token = tokens.create_token(s, users.get_user(s, user_id), name="kiosk")[1]
    ws = WSClient(live_server, token=token)
    snapshot, subscribed = ws.subscribe("queues:all")
    assert snapshot["data"] == {"active": []} and subscribed["op"] == "subscribed"
    assert client.patch(path, json={"active": True}).status_code == 200
    [event] = ws.events("queues:all", 1)
    assert (event["type"], event["data"]) == ("queue.switched_on", {"queue_id": queue_id})
    # The kiosk then follows its board channel, whose snapshot says it is on.
    board = ws.subscribe(f"board:{queue_id}")
    assert board[0]["data"]["active"] is True
