"""A ticket issued at the desk on PostgreSQL: the number, the ticket, its history, its events
and the request's audit row go to the server with the COMMIT, in one message. What only the
database knows then (the number, the code, the waiting count) reaches the answer, the
outbox and the published events alike; a day closed after issuing read it is refused and
leaves nothing behind."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select, text, update

from clinic.accounts.models import AuditEntry
from clinic.base import utcnow
from clinic.events.models import EventChannel, OutboxEvent
from clinic.queue.models import QueueDay, Ticket, TicketEvent
from tests.queue.test_api import make_queue

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


def _issued_events(runtime, ticket_id: int) -> dict[str, dict]:
    """The ticket's issuing events in the outbox, by the kind of channel."""
    with runtime.db.session() as s:
        rows = s.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all()
    found = {}
    for row in rows:
        data = row.data
        if data.get("id", data.get("ticket_id")) == ticket_id:
            found[row.channel.split(":")[0]] = {"seq": row.seq, "type": row.type, **data}
    return found


def test_the_answer_the_outbox_and_the_published_events_carry_the_number_taken(client, runtime):
    queue_id = make_queue(runtime)
    first = client.post(f"/api/v1/queues/{queue_id}/tickets", json={}).get_json()
    second = client.post(f"/api/v1/queues/{queue_id}/tickets", json={"priority": "urgent"})
    assert second.status_code == 201
    second = second.get_json()
    assert (first["number"], second["number"]) == (1, 2)
    assert second["code"].endswith("-002") and second["code"] != first["code"]

    events = _issued_events(runtime, second["id"])
    assert set(events) == {"queue", "board", "ticket", "printing"}
    staff, board = events["queue"], events["board"]
    assert (staff["number"], staff["code"], staff["waiting"]) == (2, second["code"], 2)
    assert staff["priority"] == "urgent" and staff["id"] == second["id"]
    assert (board["code"], board["waiting"]) == (second["code"], 2)
    # The patient's own channel and the printer get the code, and nothing they do not carry.
    assert events["ticket"]["code"] == second["code"] and "waiting" not in events["ticket"]
    assert "number" not in events["ticket"]
    assert events["printing"]["type"] == "ticket.print_requested"
    assert events["printing"]["code"] == second["code"]
    # Each channel's numbers run on from the first ticket's.
    assert staff["seq"] == _issued_events(runtime, first["id"])["queue"]["seq"] + 1

    published = runtime.bus.history_after(f"queue:{queue_id}", 0)
    assert [(m["data"]["number"], m["data"]["code"]) for m in published] == [
        (1, first["code"]),
        (2, second["code"]),
    ]
    mine = runtime.bus.history_after(f"ticket:{second['id']}", 0)
    assert [(m["id"], m["data"]["code"]) for m in mine] == [(1, second["code"])]

    with runtime.db.session() as s:
        ticket = s.get(Ticket, second["id"])
        assert (ticket.number, ticket.code, ticket.status) == (2, second["code"], "waiting")
        history = s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)).all()
        assert [(h.action, h.to_status, h.data) for h in history] == [
            ("issued", "waiting", {"source": "desk"})
        ]
        day = s.get(QueueDay, ticket.queue_day_id)
        assert (day.last_number, day.waiting) == (2, 2)
        audit = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert (audit.object_type, audit.object_id, audit.status) == (
            "tickets",
            str(second["id"]),
            201,
        )


def test_a_day_closed_after_issuing_read_it_is_refused_and_leaves_nothing(client, runtime):
    queue_id = make_queue(runtime)
    assert client.post(f"/api/v1/queues/{queue_id}/tickets", json={}).status_code == 201
    with runtime.db.session() as s:
        counters = dict(s.execute(select(EventChannel.name, EventChannel.last_seq)).all())
        events = s.scalar(select(func.count(OutboxEvent.id)))
        audit_rows = s.scalar(select(func.count(AuditEntry.id)))

    def close_the_day_once_read(conn, _cursor, statement, _params, _context, _many):
        # The closing task closes the day between issuing's read of it and its number.
        if "nextval" in statement and not closed:
            closed.append(True)
            with runtime.db.transaction() as other:
                other.execute(
                    update(QueueDay).where(QueueDay.queue_id == queue_id).values(closed_at=utcnow())
                )

    closed: list = []
    event.listen(runtime.db.engine, "after_cursor_execute", close_the_day_once_read)
    try:
        refused = client.post(f"/api/v1/queues/{queue_id}/tickets", json={})
    finally:
        event.remove(runtime.db.engine, "after_cursor_execute", close_the_day_once_read)
    assert closed, "the day was closed between the read and the number"
    assert refused.status_code == 409, refused.get_json()
    assert refused.get_json()["code"] == "queue_closed"

    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Ticket.id))) == 1
        assert s.scalar(select(func.count(TicketEvent.id))) == 1
        day = s.scalars(select(QueueDay).where(QueueDay.queue_id == queue_id)).one()
        assert (day.last_number, day.waiting) == (1, 1)
        assert s.scalar(select(func.count(OutboxEvent.id))) == events
        assert dict(s.execute(select(EventChannel.name, EventChannel.last_seq)).all()) == counters
        # The refusal has its own audit row, with its answer.
        assert s.scalar(select(func.count(AuditEntry.id))) == audit_rows + 1
        audit = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert audit.status == 409
        # And the connection is good for the next request.
        assert s.execute(text("SELECT 1")).scalar_one() == 1
    again = client.post(f"/api/v1/queues/{queue_id}/tickets", json={})
    assert again.status_code == 409 and again.get_json()["code"] == "queue_closed"
