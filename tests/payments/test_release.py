"""The cashier lets go of an invoice held by an online payment the patient never confirmed:
Payme's transaction is cancelled (-1, reason 3), Click's prepare cancelled, and each provider
is refused by its protocol afterwards; the refusals; a release racing the provider's own
Perform or Complete, in both orders, on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text, update

from clinic.errors import Conflict
from clinic.models import (
    AuditEntry,
    ClickTransaction,
    Invoice,
    OutboxEvent,
    Payment,
    PaymeTransaction,
)
from clinic.payments import click
from clinic.payments import events as ev
from clinic.payments import invoices, payme
from clinic.payments.release import release_online_hold
from tests.payments import provider_support as support
from tests.payments.fixtures import make_invoice
from tests.payments.provider_support import Payme, account, click_fields, click_post
from tests.races import wait_for, waits_for_a_lock

clock = support.clock
settings = support.settings

PRICE = 15_000_000
TWELVE_HOURS = 43_200_000
CONFIG = click.ClickConfig(service_id=support.CLICK_SERVICE_ID, secret_key=support.CLICK_SECRET_KEY)


def _url(invoice_id: int, tail: str = "release") -> str:
    return f"/api/v1/payments/invoices/{invoice_id}/{tail}"


def _pay_cash(cashier, invoice_id: int):
    return cashier.post(_url(invoice_id, "pay"), json={"method": "cash", "tendered": PRICE})


def _released_events(runtime, invoice_id: int) -> int:
    with runtime.db.session() as s:
        data = s.scalars(
            select(OutboxEvent.data).where(OutboxEvent.type == ev.INVOICE_CHANGED)
        ).all()
    return sum(1 for d in data if d["invoice"]["id"] == invoice_id and d["change"] == "released")


def test_a_payme_checkout_left_unconfirmed_is_cancelled_at_the_desk_and_payme_refused_after(
    runtime, anon_client, client_as, clock
):
    payme_api = Payme(anon_client)
    invoice_id = make_invoice(runtime, (PRICE,))
    evening = clock.now
    payme_api.result(
        "CreateTransaction",
        {"id": "evening-1", "time": evening, "amount": PRICE, "account": account(invoice_id)},
    )
    cashier = client_as("cashier", "kassir-release")
    shown = cashier.get(f"/api/v1/payments/invoices/{invoice_id}").get_json()
    assert (shown["held"], shown["held_by"]) == (True, "payme:evening-1")
    assert shown["held_at"]
    clock.advance(10 * 3_600_000)  # the next morning, within the 12 hours
    # No open shift: releasing moves no money.
    released = cashier.post(_url(invoice_id), json={"held_by": "payme:evening-1"})
    assert released.status_code == 200, released.get_json()
    body = released.get_json()
    assert body["released"] == {
        "provider": "payme",
        "transaction": "evening-1",
        "held_at": shown["held_at"],
    }
    assert (body["invoice"]["held"], body["invoice"]["held_by"]) == (False, None)
    assert _released_events(runtime, invoice_id) == 1

    assert payme_api.error("PerformTransaction", {"id": "evening-1"}) == -31008
    checked = payme_api.result("CheckTransaction", {"id": "evening-1"})
    assert (checked["state"], checked["reason"], checked["cancel_time"]) == (-1, 3, clock.now)
    assert checked["perform_time"] == 0
    listed = payme_api.result("GetStatement", {"from": evening, "to": evening})["transactions"]
    assert [(t["id"], t["state"], t["reason"]) for t in listed] == [("evening-1", -1, 3)]
    assert payme_api.error("CreateTransaction", {"id": "evening-1", "time": evening,
                           "amount": PRICE, "account": account(invoice_id)}) == -31008  # fmt: skip

    assert cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0}).status_code == 201
    paid = _pay_cash(cashier, invoice_id)
    assert paid.status_code == 201 and paid.get_json()["invoice"]["status"] == "paid"
    with runtime.db.session() as s:
        row = s.scalar(select(AuditEntry).where(AuditEntry.action == "payments.release"))
        txn_id = s.scalar(select(PaymeTransaction.id))
    assert (row.username, row.status) == ("kassir-release", 200)
    assert (row.object_type, row.object_id) == ("payme_transactions", str(txn_id))
    assert row.summary["data"] == {"held_by": "payme:evening-1"}
    assert row.summary["path"] == _url(invoice_id)


def test_a_payme_transaction_past_its_twelve_hours_is_released_as_timed_out(
    runtime, anon_client, client_as, clock
):
    payme_api = Payme(anon_client)
    invoice_id = make_invoice(runtime, (PRICE,))
    params = {"id": "late-1", "time": clock.now, "amount": PRICE, "account": account(invoice_id)}
    payme_api.result("CreateTransaction", params)
    clock.advance(TWELVE_HOURS + 1)  # before the sweeper came
    cashier = client_as("cashier")
    assert cashier.post(_url(invoice_id), json={"held_by": "payme:late-1"}).status_code == 200
    assert payme_api.result("CheckTransaction", {"id": "late-1"})["reason"] == 4


def test_an_abandoned_click_prepare_is_cancelled_at_the_desk_and_click_gets_minus_9(
    runtime, anon_client, client_as
):
    invoice_id = make_invoice(runtime, (PRICE,))
    prepared = click_post(anon_client, click_fields(invoice_id, "150000", trans_id="4401"))
    assert prepared["error"] == 0
    cashier = client_as("cashier")
    assert cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0}).status_code == 201
    assert _pay_cash(cashier, invoice_id).get_json()["code"] == "held"
    released = cashier.post(_url(invoice_id), json={"held_by": "click:4401"})
    assert released.status_code == 200, released.get_json()
    assert released.get_json()["released"]["provider"] == "click"
    fields = click_fields(
        invoice_id, "150000", trans_id="4401", prepare_id=prepared["merchant_prepare_id"]
    )
    assert click_post(anon_client, fields)["error"] == -9
    assert (
        click_post(anon_client, click_fields(invoice_id, "150000", trans_id="4401"))["error"] == -9
    )
    assert _pay_cash(cashier, invoice_id).status_code == 201
    with runtime.db.session() as s:
        txn = s.scalar(select(ClickTransaction))
        assert (txn.status, txn.payment_id) == ("cancelled", None)
        assert s.scalar(select(func.count(Payment.id))) == 1
        row = s.scalar(select(AuditEntry).where(AuditEntry.action == "payments.release"))
    assert (row.object_type, row.object_id) == ("click_transactions", str(txn.id))


def test_releases_that_cannot_be_are_refused_and_change_nothing(runtime, anon_client, client_as):
    cashier = client_as("cashier")
    payme_api = Payme(anon_client)
    assert cashier.post(_url(999_999), json={"held_by": "payme:x"}).status_code == 404

    open_one = make_invoice(runtime, (PRICE,))
    refused = cashier.post(_url(open_one), json={"held_by": "payme:x"})
    assert (refused.status_code, refused.get_json()["code"]) == (409, "not_held")
    missing = cashier.post(_url(open_one), json={})
    assert missing.status_code == 422 and "held_by" in missing.get_json()["errors"]

    held = make_invoice(runtime, (PRICE,))
    payme_api.result("CreateTransaction", {"id": "now-1", "time": support.Clock().now,
                     "amount": PRICE, "account": account(held)})  # fmt: skip
    changed = cashier.post(_url(held), json={"held_by": "click:77"})
    assert (changed.status_code, changed.get_json()["code"]) == (409, "hold_changed")
    assert "held_by" in changed.get_json()["errors"]
    for role in ("registrar", "manager", "doctor"):
        other = client_as(role)
        assert other.post(_url(held), json={"held_by": "payme:now-1"}).status_code == 403
    with runtime.db.session() as s:
        assert s.get(Invoice, held).held_by == "payme:now-1"
        assert s.scalar(select(PaymeTransaction.state)) == 1

    payme_api.result("PerformTransaction", {"id": "now-1"})
    paid = cashier.post(_url(held), json={"held_by": "payme:now-1"})
    assert (paid.status_code, paid.get_json()["code"]) == (409, "already_paid")

    cancelled = make_invoice(runtime, (PRICE,))
    assert cashier.post(_url(cancelled, "cancel")).status_code == 200
    gone = cashier.post(_url(cancelled), json={"held_by": "payme:x"})
    assert (gone.status_code, gone.get_json()["code"]) == (409, "not_open")

    by_desk = make_invoice(runtime, (PRICE,))
    with runtime.db.transaction() as s:
        invoices.hold(s, invoices.get_invoice(s, by_desk), "desk:someone")
    desk_hold = cashier.post(_url(by_desk), json={"held_by": "desk:someone"})
    assert (desk_hold.status_code, desk_hold.get_json()["code"]) == (409, "not_releasable")

    # A performed transaction still named as the holder (never left so by the code): kept.
    performed = make_invoice(runtime, (PRICE,))
    payme_api.result("CreateTransaction", {"id": "done-1", "time": support.Clock().now,
                     "amount": PRICE, "account": account(performed)})  # fmt: skip
    with runtime.db.transaction() as s:
        s.execute(update(PaymeTransaction).where(PaymeTransaction.payme_id == "done-1")
                  .values(state=2))  # fmt: skip
    kept = cashier.post(_url(performed), json={"held_by": "payme:done-1"})
    assert (kept.status_code, kept.get_json()["code"]) == (409, "not_releasable")
    with runtime.db.session() as s:
        assert s.get(Invoice, by_desk).held_by == "desk:someone"
        assert s.get(Invoice, performed).held_by == "payme:done-1"
    assert _released_events(runtime, performed) == 0


# -- races: the transaction's row decides, on PostgreSQL -------------------------------------


def _payme_created(runtime, invoice_id: int, payme_id: str, now: int) -> None:
    with runtime.db.transaction() as s:
        payme.create_transaction(
            s, {"id": payme_id, "time": now, "amount": PRICE, "account": account(invoice_id)}, now
        )


def _click_prepared(runtime, invoice_id: int, trans_id: str) -> dict:
    with runtime.db.transaction() as s:
        answer = click.prepare(s, click_fields(invoice_id, "150000", trans_id=trans_id), CONFIG)
    assert answer["error"] == 0
    return click_fields(
        invoice_id, "150000", trans_id=trans_id, prepare_id=answer["merchant_prepare_id"]
    )


def _release(s, invoice_id: int, holder: str, now: int) -> str:
    release_online_hold(s, invoice_id, holder=holder, actor="cashier", payme_now=now)
    return "released"


def _race(runtime, first, second) -> str:
    """``first`` holds its locks while ``second`` starts and waits for them; the answer of
    ``second`` once ``first`` committed."""
    pids, answers = [], []

    def other():
        try:
            with runtime.db.transaction() as s:
                pids.append(s.scalar(text("SELECT pg_backend_pid()")))
                answers.append(second(s))
        except Conflict as refused:
            answers.append(refused.code)
        except payme.PaymeError as refused:
            answers.append(refused.code)

    with runtime.db.transaction() as s:
        first(s)
        thread = threading.Thread(target=other)
        thread.start()
        wait_for(lambda: answers or waits_for_a_lock(runtime, pids), what="the second side")
    thread.join(30)
    return answers[0]


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite lets one writer in at a time
def test_payme_performing_first_wins_and_the_release_is_told_it_is_paid(runtime):
    invoice_id = make_invoice(runtime, (PRICE,))
    now = support.Clock().now
    _payme_created(runtime, invoice_id, "race-p", now)
    answer = _race(
        runtime,
        lambda s: payme.perform_transaction(s, {"id": "race-p"}, now),
        lambda s: _release(s, invoice_id, "payme:race-p", now),
    )
    assert answer == "already_paid"
    with runtime.db.session() as s:
        assert s.scalar(select(PaymeTransaction.state)) == 2
        assert s.get(Invoice, invoice_id).status == "paid"
    assert _released_events(runtime, invoice_id) == 0


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_release_first_wins_and_payme_performing_after_gets_31008(runtime):
    invoice_id = make_invoice(runtime, (PRICE,))
    now = support.Clock().now
    _payme_created(runtime, invoice_id, "race-r", now)
    answer = _race(
        runtime,
        lambda s: _release(s, invoice_id, "payme:race-r", now),
        lambda s: payme.perform_transaction(s, {"id": "race-r"}, now),
    )
    assert answer == payme.CANNOT_PERFORM == -31008
    with runtime.db.session() as s:
        txn = s.scalar(select(PaymeTransaction))
        assert (txn.state, txn.reason, txn.perform_time) == (-1, 3, 0)
        invoice = s.get(Invoice, invoice_id)
        assert (invoice.status, invoice.held_by, invoice.paid_amount) == ("open", None, 0)
        assert s.scalar(select(func.count(Payment.id))) == 0


@pytest.mark.parametrize("backend", ["postgresql"])
def test_click_completing_first_wins_and_the_release_is_told_it_is_paid(runtime):
    invoice_id = make_invoice(runtime, (PRICE,))
    complete = _click_prepared(runtime, invoice_id, "5501")
    answer = _race(
        runtime,
        lambda s: click.complete(s, complete, CONFIG),
        lambda s: _release(s, invoice_id, "click:5501", 0),
    )
    assert answer == "already_paid"
    with runtime.db.session() as s:
        assert s.scalar(select(ClickTransaction.status)) == "completed"
        assert s.get(Invoice, invoice_id).status == "paid"


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_release_first_wins_and_clicks_complete_after_gets_minus_9(runtime):
    invoice_id = make_invoice(runtime, (PRICE,))
    complete = _click_prepared(runtime, invoice_id, "5502")
    answer = _race(
        runtime,
        lambda s: _release(s, invoice_id, "click:5502", 0),
        lambda s: click.complete(s, complete, CONFIG)["error"],
    )
    assert answer == click.CANCELLED == -9
    with runtime.db.session() as s:
        assert s.scalar(select(ClickTransaction.status)) == "cancelled"
        invoice = s.get(Invoice, invoice_id)
        assert (invoice.status, invoice.held_by) == ("open", None)
        assert s.scalar(select(func.count(Payment.id))) == 0


def test_a_card_payment_waiting_for_the_hold_is_credited_when_the_cashier_lets_it_go(
    runtime, anon_client, client_as, clock
):
    import json

    from clinic.models import WebhookEvent
    from tasks.payments_providers import apply_webhook_event
    from tests.payments.provider_support import webhook_headers

    invoice_id = make_invoice(runtime, (PRICE,))
    Payme(anon_client).result(
        "CreateTransaction",
        {"id": "left-open", "time": clock.now, "amount": PRICE, "account": account(invoice_id)},
    )
    # The patient paid by card instead: the acquirer's event waits for the Payme hold.
    body = json.dumps({"type": "payment.succeeded",
                       "data": {"invoice_id": str(invoice_id), "amount": PRICE,
                                "reference": "acq-card"}})  # fmt: skip
    headers = {**webhook_headers(body, "msg-card"), "Content-Type": "application/json"}
    assert anon_client.post("/payments/webhooks/acq", data=body, headers=headers).status_code == 200
    with runtime.db.session() as s:
        event_id = s.scalar(select(WebhookEvent.id))
    assert apply_webhook_event.run(event_id=event_id) == "received"

    cashier = client_as("cashier")
    released = cashier.post(_url(invoice_id), json={"held_by": "payme:left-open"})
    assert released.status_code == 200, released.get_json()
    # Paid by the card at once: the desk does not take the money a second time.
    assert released.get_json()["invoice"]["status"] == "paid"
    with runtime.db.session() as s:
        assert s.get(WebhookEvent, event_id).status == "applied"
        assert [p.provider_ref for p in s.scalars(select(Payment))] == ["acq-card"]
