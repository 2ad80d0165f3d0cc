"""A change's audit row names the object its address names, not a row the change wrote on the
way: a transfer is recorded under the ticket sent on, not the one it issued in the other
queue, and a finish that sends the patient back under the ticket finished, not his new one."""

from __future__ import annotations

from sqlalchemy import select

from clinic.models import AuditEntry
from tests.queue.test_api import make_queue
from tests.visits.conftest import clear_of_midnight


def _ok(response) -> dict:
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def _audited(runtime, response) -> tuple[str, str, str, int]:
    with runtime.db.session() as s:
        row = s.scalars(
            select(AuditEntry).where(AuditEntry.request_id == response.headers["X-Request-ID"])
        ).one()
        return row.action, row.object_type, row.object_id, row.status


def _history(runtime, ticket_id: int) -> list[str]:
    with runtime.db.session() as s:
        query = select(AuditEntry.action).where(
            AuditEntry.object_type == "tickets", AuditEntry.object_id == str(ticket_id)
        )
        return list(s.scalars(query.order_by(AuditEntry.id)))


def test_transfer_and_finish_with_return_are_audited_under_the_ticket_of_the_address(
    client, runtime
):
    clear_of_midnight(runtime, 60)
    therapy, lab = make_queue(runtime, "therapy"), make_queue(runtime, "lab")
    first = _ok(client.post(f"/api/v1/queues/{therapy}/tickets", json={}))
    _ok(client.post(f"/api/v1/queues/{therapy}/call-next", json={}))
    _ok(client.post(f"/api/v1/tickets/{first['id']}/start"))

    sent = client.post(
        f"/api/v1/tickets/{first['id']}/transfer", json={"to_queue_id": lab, "return_after": True}
    )
    there = _ok(sent)
    assert there["id"] != first["id"] and there["return_to_queue_id"] == therapy
    assert _audited(runtime, sent) == ("queue.transfer_ticket", "tickets", str(first["id"]), 200)

    _ok(client.post(f"/api/v1/queues/{lab}/call-next", json={}))
    _ok(client.post(f"/api/v1/tickets/{there['id']}/start"))
    finished = client.post(f"/api/v1/tickets/{there['id']}/finish")
    back = _ok(finished)["returned_ticket"]
    assert back["queue_id"] == therapy and back["id"] not in (first["id"], there["id"])
    assert _audited(runtime, finished) == ("queue.finish", "tickets", str(there["id"]), 200)

    # Each ticket's own log tells what was done to it; the one issued by the return has none.
    assert _history(runtime, first["id"]) == [
        "queue.issue_ticket",
        "queue.call_next",
        "queue.start",
        "queue.transfer_ticket",
    ]
    assert _history(runtime, there["id"]) == ["queue.call_next", "queue.start", "queue.finish"]
    assert _history(runtime, back["id"]) == []


def test_a_refused_change_is_audited_under_the_table_its_address_names(client, runtime):
    """A refused payment writes nothing: its row names the invoice of its address
    (``invoices``), not a payment of that number under the blueprint's name ("payments")."""
    refused = client.post(
        "/api/v1/payments/invoices/987/pay", json={"method": "cash", "amount": 100}
    )
    assert refused.status_code == 409, refused.get_json()  # no shift open, nor such invoice
    assert _audited(runtime, refused)[1:] == ("invoices", "987", 409)
    ticket = client.post("/api/v1/tickets/986/start")
    assert ticket.status_code == 404
    assert _audited(runtime, ticket)[1:] == ("tickets", "986", 404)
