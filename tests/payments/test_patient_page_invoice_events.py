"""The patient's own page hears of his ticket's invoice: billed, corrected (lines, discount),
cancelled, or part paid at the desk, his "Pay online" card must show what is due now, not what
was due when he opened the page. The ticket's channel says which ticket, and nothing else."""

from __future__ import annotations

from clinic.payments import invoices
from tests.payments.fixtures import issue_ticket, make_invoice, make_patient, make_queue
from tests.wsclient import WSClient


def _patient_socket(runtime, live_server):
    with runtime.db.transaction() as s:
        queue_id = make_queue(s)
        patient_id = make_patient(s)
        ticket = issue_ticket(s, queue_id, patient_id)
        ticket_id, secret = ticket.id, ticket.token
    ws = WSClient(live_server, query=f"?ticket={secret}")
    assert ws.subscribe(f"ticket:{ticket_id}")[-1]["op"] == "subscribed"
    return ws, ticket_id, patient_id


def _heard(ws, ticket_id) -> dict:
    (event,) = ws.events(f"ticket:{ticket_id}", 1)
    return {"type": event["type"], "data": event["data"]}


def test_the_patients_page_hears_each_change_of_his_tickets_invoice(runtime, live_server):
    ws, ticket_id, patient_id = _patient_socket(runtime, live_server)
    invoice_id = make_invoice(
        runtime, [8_000_00, 2_000_00], ticket_id=ticket_id, patient_id=patient_id
    )
    assert _heard(ws, ticket_id) == {"type": "invoice.created", "data": {"ticket_id": ticket_id}}

    with runtime.db.transaction() as s:
        invoice = invoices.get_invoice(s, invoice_id)
        invoices.set_discount(s, invoice, amount=1_000_00, reason="pensioner", actor="desk")
    assert _heard(ws, ticket_id) == {
        "type": "invoice.changed",
        "data": {"ticket_id": ticket_id, "change": "discount"},
    }

    with runtime.db.transaction() as s:
        invoice = invoices.get_invoice(s, invoice_id)
        invoices.record_payment(s, invoice, method="cash", amount=4_000_00, actor="kassa")
    assert _heard(ws, ticket_id) == {
        "type": "payment.recorded",
        "data": {"ticket_id": ticket_id},
    }


def test_a_cancelled_invoice_is_heard_on_the_patients_page(runtime, live_server):
    ws, ticket_id, patient_id = _patient_socket(runtime, live_server)
    invoice_id = make_invoice(runtime, [8_000_00], ticket_id=ticket_id, patient_id=patient_id)
    _heard(ws, ticket_id)
    with runtime.db.transaction() as s:
        invoices.cancel_invoice(s, invoices.get_invoice(s, invoice_id), actor="desk")
    assert _heard(ws, ticket_id) == {
        "type": "invoice.changed",
        "data": {"ticket_id": ticket_id, "change": "cancelled"},
    }


def test_an_invoice_of_no_ticket_is_heard_on_no_ticket_channel(runtime, live_server):
    ws, ticket_id, patient_id = _patient_socket(runtime, live_server)
    make_invoice(runtime, [8_000_00], patient_id=patient_id)
    assert ws.quiet(0.5) == []


def test_a_part_payment_given_back_is_heard_on_the_patients_page(runtime, live_server):
    """The patient left the desk before paying the rest and took his part back: more is due
    again, and his card must ask for it."""
    from clinic.payments import refunds

    ws, ticket_id, patient_id = _patient_socket(runtime, live_server)
    invoice_id = make_invoice(runtime, [8_000_00], ticket_id=ticket_id, patient_id=patient_id)
    with runtime.db.transaction() as s:
        invoice = invoices.get_invoice(s, invoice_id)
        invoices.record_payment(s, invoice, method="cash", amount=3_000_00, actor="kassa")
    assert [_heard(ws, ticket_id)["type"] for _ in range(2)] == [
        "invoice.created",
        "payment.recorded",
    ]
    with runtime.db.transaction() as s:
        refunds.refund(
            s,
            invoices.get_invoice(s, invoice_id),
            amount=3_000_00,
            reason="left",
            actor="kassa",
            may_refund_large=True,
        )
    assert _heard(ws, ticket_id) == {"type": "refund.recorded", "data": {"ticket_id": ticket_id}}
