"""A queue switched off while patients are still in it would strand them: the desk and the
doctor's screen list only working queues, so nobody would see them to call, serve, transfer or
cancel them, and its prefix, freed for another queue, would give the board two "K-003". So a
queue is switched off once nobody of an open day is in it."""

from __future__ import annotations

from sqlalchemy import select

from clinic.events.models import OutboxEvent
from clinic.queue import admin as queue_admin
from clinic.queue.models import Queue
from tests.queue.test_api import make_queue


def _ticket(client, queue_id) -> dict:
    issued = client.post(f"/api/v1/queues/{queue_id}/tickets", json={})
    assert issued.status_code == 201, issued.get_json()
    return issued.get_json()


def test_a_queue_with_patients_in_it_is_not_switched_off_under_them(client, runtime):
    queue_id = make_queue(runtime, "therapy")
    waiting, postponed = _ticket(client, queue_id), _ticket(client, queue_id)
    assert client.post(f"/api/v1/tickets/{postponed['id']}/postpone").status_code == 200
    path = f"/api/v1/queues/{queue_id}"

    refused = client.patch(path, json={"active": False})
    body = refused.get_json()
    assert refused.status_code == 409, body
    assert body["code"] == "queue_in_use" and body["reasons"] == {"active": ["queue_in_use"]}
    assert waiting["code"] in body["errors"]["active"][0]
    assert postponed["code"] in body["errors"]["active"][0]
    assert client.get(path).get_json()["active"] is True
    # The desk still lists the queue, with its patients to serve or send elsewhere.
    assert queue_id in [x["id"] for x in client.get("/api/v1/queues").get_json()]

    for ticket in (waiting, postponed):
        cancelled = client.post(f"/api/v1/tickets/{ticket['id']}/cancel", json={})
        assert cancelled.status_code == 200, cancelled.get_json()
    off = client.patch(path, json={"active": False})
    assert off.status_code == 200 and off.get_json()["active"] is False


def test_a_patient_called_or_with_the_doctor_keeps_his_queue_working(client, runtime):
    queue_id = make_queue(runtime, "therapy")
    ticket = _ticket(client, queue_id)
    assert client.post(f"/api/v1/queues/{queue_id}/call-next", json={}).status_code == 200
    path = f"/api/v1/queues/{queue_id}"
    assert client.patch(path, json={"active": False}).status_code == 409
    assert client.post(f"/api/v1/tickets/{ticket['id']}/start").status_code == 200
    assert client.patch(path, json={"active": False}).status_code == 409
    assert client.post(f"/api/v1/tickets/{ticket['id']}/finish").status_code == 200
    assert client.patch(path, json={"active": False}).status_code == 200


def test_the_refusal_is_said_in_each_language(client):
    import json

    for language, word in (("ru", "талон"), ("uz", "talon"), ("en", "ticket")):
        page = client.get(f"/queue/desk?lang={language}", headers={"Accept": "text/html"})
        config = page.get_data(as_text=True).split('id="desk-config">', 1)[1]
        refusals = json.loads(config.split("</script>", 1)[0])["texts"]["refusals"]
        assert word in refusals["queue_in_use"].lower()


def _switches_heard(runtime, queue_id) -> dict:
    """The switch events each of the queue's channels holds: in the outbox and in Redis."""
    heard = {}
    for channel in (f"queue:{queue_id}", f"board:{queue_id}"):
        with runtime.db.session() as s:
            kept = s.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.channel == channel, OutboxEvent.type.like("queue.switched%"))
                .order_by(OutboxEvent.seq)
            ).all()
            outbox = [(row.type, row.data) for row in kept]
        published = [
            (m["type"], m["data"])
            for m in runtime.bus.history_after(channel, 0)
            if m["type"].startswith("queue.switched")
        ]
        heard[channel.split(":")[0]] = (outbox, published)
    return heard


def test_switching_a_queue_off_and_on_tells_its_screens_with_the_same_commit(client, runtime):
    queue_id = make_queue(runtime, "therapy")
    path = f"/api/v1/queues/{queue_id}"
    # Changed and then rolled back: neither the queue nor its screens hear of it.
    with runtime.db.session() as s:
        queue_admin.update_queue(s, s.get(Queue, queue_id), {"active": False})
        s.rollback()
    assert _switches_heard(runtime, queue_id) == {"queue": ([], []), "board": ([], [])}

    assert client.patch(path, json={"active": False}).status_code == 200
    off = [("queue.switched_off", {"queue_id": queue_id})]
    assert _switches_heard(runtime, queue_id) == {"queue": (off, off), "board": (off, off)}
    # Other settings, and "off" said again, switch nothing.
    assert client.patch(path, json={"active": False, "default_service_minutes": 9}).status_code == (
        200
    )
    assert _switches_heard(runtime, queue_id)["board"] == (off, off)

    assert client.patch(path, json={"active": True}).status_code == 200
    both = off + [("queue.switched_on", {"queue_id": queue_id})]
    assert _switches_heard(runtime, queue_id) == {"queue": (both, both), "board": (both, both)}
    with runtime.db.session() as s:
        assert s.get(Queue, queue_id).active is True


def test_a_queue_refused_its_switching_off_tells_its_screens_nothing(client, runtime):
    queue_id = make_queue(runtime, "therapy")
    _ticket(client, queue_id)
    assert client.patch(f"/api/v1/queues/{queue_id}", json={"active": False}).status_code == 409
    assert _switches_heard(runtime, queue_id) == {"queue": ([], []), "board": ([], [])}
