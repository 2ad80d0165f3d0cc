"""Money paid for a patient who was never seen: the cashier's desk says what is to be given
back once his ticket ends cancelled or a no-show, follows him through transfers, forgets it
once he comes back or the money is given back, and hears of it live on ``payments:desk``."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event, select

from clinic import channels
from clinic.base import utcnow
from clinic.models import OutboxEvent
from clinic.payments import invoices, refunds, snapshots, unseen  # noqa: F401 - the snapshot
from clinic.payments.events import DESK_CHANNEL, INVOICE_CHANGED
from clinic.payments.models import Invoice
from clinic.queue import calls
from clinic.queue import days as queue_days
from clinic.queue.models import Ticket
from tests.payments.fixtures import TZ, issue_ticket, make_invoice, make_patient, make_queue

PRICE = 12_000_00


def _paid_ticket(runtime, queue_id, price=PRICE) -> tuple[int, int]:
    """A waiting ticket of a new patient, its invoice paid in cash: (ticket, invoice)."""
    with runtime.db.transaction() as s:
        patient_id = make_patient(s)
        ticket_id = issue_ticket(s, queue_id, patient_id).id
    invoice_id = make_invoice(runtime, [price], ticket_id=ticket_id, patient_id=patient_id)
    with runtime.db.transaction() as s:
        invoice = invoices.get_invoice(s, invoice_id)
        invoices.record_payment(s, invoice, method="cash", amount=price, actor="kassa")
    return ticket_id, invoice_id


def _step(runtime, step, ticket_id):
    with runtime.db.transaction() as s:
        return step(s, s.get(Ticket, ticket_id))


def _state(runtime, invoice_id) -> tuple[str | None, int]:
    """The invoice's ``ticket_status`` and ``to_give_back``, as its staff view says."""
    with runtime.db.session() as s:
        view = invoices.invoice_as_dict(s.get(Invoice, invoice_id))
    return view["ticket_status"], view["to_give_back"]


def _desk_told(runtime, invoice_id, field: str = "ticket_status") -> list[tuple[str | None, int]]:
    """What the desk channel's ``invoice.changed`` events of the ticket said (the invoice's
    ``field`` and ``to_give_back``), oldest first."""
    with runtime.db.session() as s:
        events = s.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.channel == DESK_CHANNEL, OutboxEvent.type == INVOICE_CHANGED)
            .order_by(OutboxEvent.seq)
        ).all()
    return [
        (e.data["invoice"][field], e.data["invoice"]["to_give_back"])
        for e in events
        if e.data["change"] == unseen.CHANGE and e.data["invoice"]["id"] == invoice_id
    ]


def test_a_paid_ticket_cancelled_at_the_desk_is_money_to_give_back_on_the_cashiers_list(
    client_as, runtime
):
    with runtime.db.transaction() as s:
        queue_id = make_queue(s)
    ticket_id, invoice_id = _paid_ticket(runtime, queue_id)
    _other_ticket, other_invoice = _paid_ticket(runtime, queue_id)
    cashier = client_as("cashier")
    listed = {i["id"]: i for i in cashier.get("/api/v1/payments/invoices").get_json()}
    assert (listed[invoice_id]["ticket_status"], listed[invoice_id]["to_give_back"]) == (
        "waiting",
        0,
    )
    registrar = client_as("registrar")
    answer = registrar.post(f"/api/v1/tickets/{ticket_id}/cancel", json={"reason": "ушёл"})
    assert answer.status_code == 200, answer.get_json()

    listed = {i["id"]: i for i in cashier.get("/api/v1/payments/invoices").get_json()}
    assert (listed[invoice_id]["ticket_status"], listed[invoice_id]["to_give_back"]) == (
        "cancelled",
        PRICE,
    )
    assert listed[other_invoice]["to_give_back"] == 0  # his neighbour is still in the queue
    alone = cashier.get(f"/api/v1/payments/invoices/{invoice_id}").get_json()
    assert alone["to_give_back"] == PRICE
    # Told live, after the cancel's commit, on the channel the cashier's page follows, and
    # so is a page that subscribes afterwards (the channel's snapshot).
    assert _desk_told(runtime, invoice_id) == [("cancelled", PRICE)]
    with runtime.db.session() as s:
        shown, _last = channels.snapshot(s, DESK_CHANNEL, TZ)
    snapshot = {i["id"]: i for i in shown["invoices"]}
    assert (snapshot[invoice_id]["to_give_back"], snapshot[other_invoice]["to_give_back"]) == (
        PRICE,
        0,
    )

    # A part given back leaves the rest to give; all of it given back, nothing is owed.
    cashier.post("/api/v1/payments/shifts", json={"opening_cash": 100_000_00})
    for amount, left in ((2_000_00, PRICE - 2_000_00), (PRICE - 2_000_00, 0)):
        answer = cashier.post(
            f"/api/v1/payments/invoices/{invoice_id}/refunds",
            json={"amount": amount, "reason": "не принят", "method": "cash"},
        )
        assert answer.status_code == 201, answer.get_json()
        assert answer.get_json()["invoice"]["to_give_back"] == left
    assert _state(runtime, invoice_id) == (None, 0)  # nothing kept: its ticket is not read


def test_a_no_show_is_money_to_give_back_until_he_comes_back(runtime):
    with runtime.db.transaction() as s:
        queue_id = make_queue(s)
    ticket_id, invoice_id = _paid_ticket(runtime, queue_id)
    with runtime.db.transaction() as s:
        assert calls.call_next(s, queue_id, tz=TZ, actor="doctor").id == ticket_id
    assert _state(runtime, invoice_id) == ("called", 0)
    _step(runtime, lambda s, t: calls.mark_no_show(s, t, actor="doctor"), ticket_id)
    assert _state(runtime, invoice_id) == ("no_show", PRICE)
    _step(runtime, lambda s, t: calls.came_back(s, t, tz=TZ, actor="doctor"), ticket_id)
    assert _state(runtime, invoice_id) == ("postponed", 0)
    assert _desk_told(runtime, invoice_id) == [("no_show", PRICE), ("postponed", 0)]


def test_the_days_closing_makes_the_waiting_paid_patients_money_to_give_back(runtime):
    with runtime.db.transaction() as s:
        queue_id = make_queue(s)
    waiting = [_paid_ticket(runtime, queue_id) for _ in range(2)]
    with runtime.db.transaction() as s:
        queue_days.close_due_days(s, tz=TZ, now=utcnow() + timedelta(days=1))
    for _ticket_id, invoice_id in waiting:
        assert _state(runtime, invoice_id) == ("no_show", PRICE)
        assert _desk_told(runtime, invoice_id) == [("no_show", PRICE)]


def test_a_patient_sent_on_is_owed_by_where_he_went_not_by_the_ticket_he_paid_for(runtime):
    """The invoice stays on the ticket he paid for, which was sent on: his way counts."""
    with runtime.db.transaction() as s:
        therapy, laboratory = make_queue(s), make_queue(s)
    ticket_id, invoice_id = _paid_ticket(runtime, therapy)
    sent = _step(runtime, lambda s, t: calls.transfer(s, t, laboratory, tz=TZ), ticket_id)
    assert _state(runtime, invoice_id) == ("waiting", 0)  # not the first ticket's "transferred"
    _step(runtime, lambda s, t: calls.cancel(s, t, actor="registrar"), sent.id)
    assert _state(runtime, invoice_id) == ("cancelled", PRICE)
    assert _desk_told(runtime, invoice_id) == [("cancelled", PRICE)]


def test_a_patient_seen_before_he_was_sent_on_is_owed_nothing_when_he_leaves(runtime):
    with runtime.db.transaction() as s:
        therapy, laboratory = make_queue(s), make_queue(s)
    ticket_id, invoice_id = _paid_ticket(runtime, therapy)
    with runtime.db.transaction() as s:
        calls.start_service(s, calls.call_next(s, therapy, tz=TZ, actor="doctor"))
    sent = _step(runtime, lambda s, t: calls.transfer(s, t, laboratory, tz=TZ), ticket_id)
    _step(runtime, lambda s, t: calls.cancel(s, t, actor="registrar"), sent.id)
    assert _state(runtime, invoice_id) == ("cancelled", 0)


def test_an_unpaid_invoice_of_a_cancelled_ticket_owes_nothing_and_tells_nothing(runtime):
    with runtime.db.transaction() as s:
        queue_id = make_queue(s)
        patient_id = make_patient(s)
        ticket_id = issue_ticket(s, queue_id, patient_id).id
    invoice_id = make_invoice(runtime, [PRICE], ticket_id=ticket_id, patient_id=patient_id)
    _step(runtime, lambda s, t: calls.cancel(s, t, actor="registrar"), ticket_id)
    # Nothing paid, nothing owed: not even its ticket is read (``ticket_status`` null).
    assert _state(runtime, invoice_id) == (None, 0)
    assert _desk_told(runtime, invoice_id) == []


@contextmanager
def _counting(engine):
    sent: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        # Not the events marked published after an earlier commit, by a thread of their own.
        if not statement.startswith(("BEGIN", "UPDATE outbox_events SET published_at")):
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_how_a_page_of_patients_left_is_read_in_one_statement(runtime):
    with runtime.db.transaction() as s:
        queue_id = make_queue(s)
    paid = [_paid_ticket(runtime, queue_id) for _ in range(4)]
    _step(runtime, lambda s, t: calls.cancel(s, t, actor="registrar"), paid[0][0])
    with runtime.db.session() as s:
        found = s.scalars(select(Invoice).where(Invoice.id.in_([i for _, i in paid]))).all()
        with _counting(runtime.db.engine) as sent:
            ends = unseen.ticket_ends(s, found)
        assert len(sent) == 1, sent
        assert len(ends) == 4 and ends[paid[0][1]].unseen
        assert not any(ends[i].unseen for _, i in paid[1:])


def test_a_refund_in_full_of_a_no_show_clears_what_is_owed(runtime):
    with runtime.db.transaction() as s:
        queue_id = make_queue(s)
    ticket_id, invoice_id = _paid_ticket(runtime, queue_id)
    _step(runtime, lambda s, t: calls.cancel(s, t, actor="patient"), ticket_id)
    with runtime.db.transaction() as s:
        refunded = refunds.refund(
            s,
            invoices.get_invoice(s, invoice_id),
            amount=PRICE,
            reason="не был принят",
            actor="kassa",
            may_refund_large=True,
        )
        assert refunded is not None
    assert _state(runtime, invoice_id) == (None, 0)


def test_the_cashiers_list_and_snapshot_read_it_without_a_statement_per_invoice(client_as, runtime):
    with runtime.db.transaction() as s:
        queue_id = make_queue(s)
    cashier = client_as("cashier")

    def statements() -> tuple[int, int]:
        with _counting(runtime.db.engine) as listed:
            assert cashier.get("/api/v1/payments/invoices").status_code == 200
        with runtime.db.session() as s, _counting(runtime.db.engine) as snapshot:
            channels.snapshot(s, DESK_CHANNEL, TZ)
        return len(listed), len(snapshot)

    _paid_ticket(runtime, queue_id)
    few = statements()
    for _ in range(3):
        _paid_ticket(runtime, queue_id)
    assert statements() == few
