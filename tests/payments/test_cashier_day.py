"""A cashier's whole day over the API and the providers' endpoints, every figure in tiyin
checked: invoices from the price list, cash with change, card, part payments finished by
Payme and by Click, refunds of every kind, a reprint, and the close with its Z figures."""

from __future__ import annotations

import time

from sqlalchemy import select

from clinic.models import Invoice, Payment, Refund
from clinic.reports.cashier import shift_totals
from tests.payments import provider_support as support
from tests.payments.fixtures import make_patient, make_service
from tests.payments.provider_support import Payme, account, click_fields, click_post

# The provider settings (keys and secrets).
settings = support.settings

CONSULTATION, ANALYSIS = 150_000_00, 45_500_50  # an analysis with tiyin in its price
OPENING = 1_000_000_00


def test_a_cashiers_whole_day_adds_up_in_tiyin(client_as, runtime, anon_client):
    cashier, manager = client_as("cashier"), client_as("manager")
    with runtime.db.transaction() as s:
        patient = make_patient(s)
        consultation, analysis = make_service(s, CONSULTATION), make_service(s, ANALYSIS)
    shift = cashier.post("/api/v1/payments/shifts", json={"opening_cash": OPENING}).get_json()

    def invoice(*lines) -> int:
        body = {
            "patient_id": patient,
            "lines": [{"service_id": s, "quantity": q} for s, q in lines],
        }
        answer = cashier.post("/api/v1/payments/invoices", json=body)
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()["id"]

    def pay(invoice_id, **body) -> dict:
        answer = cashier.post(f"/api/v1/payments/invoices/{invoice_id}/pay", json=body)
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()

    def give_back(invoice_id, who=cashier, **body) -> dict:
        answer = who.post(
            f"/api/v1/payments/invoices/{invoice_id}/refunds", json={"reason": "отказ", **body}
        )
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()["invoice"]

    # Cash with change, for a consultation and two analyses.
    cash = invoice((consultation, 1), (analysis, 2))
    paid = pay(cash, method="cash", tendered=300_000_00)
    assert paid["invoice"]["total"] == CONSULTATION + 2 * ANALYSIS
    assert paid["payment"]["change"] == 300_000_00 - (CONSULTATION + 2 * ANALYSIS)
    # Card.
    card = invoice((consultation, 1))
    pay(card, method="card")
    # Part in cash, the rest by card.
    mixed = invoice((consultation, 1), (analysis, 1))
    assert pay(mixed, method="cash", amount=50_000_00)["invoice"]["status"] == "open"
    assert pay(mixed, method="card")["payment"]["amount"] == CONSULTATION + ANALYSIS - 50_000_00
    # Part at the desk, the rest by Payme from the phone.
    payme_part, payme = invoice((consultation, 1)), Payme(anon_client)
    pay(payme_part, method="cash", amount=100_000_00)
    rest = {"amount": CONSULTATION - 100_000_00, "account": account(payme_part)}
    payme.result("CheckPerformTransaction", rest)
    payme.result("CreateTransaction", {"id": "day-1", "time": int(time.time() * 1000), **rest})
    assert payme.result("PerformTransaction", {"id": "day-1"})["state"] == 2
    # Part at the desk, the rest by Click, in soums.
    click_part = invoice((consultation, 1))
    pay(click_part, method="cash", amount=30_000_00)
    prepared = click_post(anon_client, click_fields(click_part, "120000.00", trans_id="7001"))
    complete = click_fields(
        click_part, "120000.00", trans_id="7001", prepare_id=prepared["merchant_prepare_id"]
    )
    assert click_post(anon_client, complete)["error"] == 0
    # A part paid and given back (the patient left), the invoice corrected, then paid by card.
    corrected = invoice((consultation, 1))
    pay(corrected, method="cash", amount=20_000_00)
    assert give_back(corrected, amount=20_000_00)["status"] == "open"
    discount = {"amount": 15_000_00, "reason": "ветеран"}
    answer = manager.post(f"/api/v1/payments/invoices/{corrected}/discount", json=discount)
    assert answer.status_code == 200, answer.get_json()
    assert pay(corrected, method="card")["payment"]["amount"] == CONSULTATION - 15_000_00

    # Refunds: part in cash, in full to the card, the cash part of a mixed payment, the Click
    # payment given back through Click recorded, cash a manager gives back from her drawer,
    # and Payme's by Payme itself.
    assert give_back(cash, amount=ANALYSIS, method="cash")["status"] == "partly_refunded"
    assert give_back(card, amount=CONSULTATION)["status"] == "refunded"
    assert give_back(mixed, amount=50_000_00, method="cash")["refunded_amount"] == 50_000_00
    assert give_back(payme_part, amount=10_000_00)["refunded_amount"] == 10_000_00
    assert give_back(click_part, amount=120_000_00)["status"] == "partly_refunded"
    large = {"amount": 30_000_00, "method": "cash", "shift_id": shift["id"]}
    assert give_back(click_part, who=manager, **large)["status"] == "refunded"
    cancelled = payme.result("CancelTransaction", {"id": "day-1", "reason": 5})
    assert cancelled["state"] == -2
    assert cashier.post(f"/api/v1/payments/invoices/{cash}/reprint").status_code == 202

    cash_in = (CONSULTATION + 2 * ANALYSIS) + 50_000_00 + 100_000_00 + 30_000_00 + 20_000_00
    cash_out = ANALYSIS + 20_000_00 + 50_000_00 + 10_000_00 + 30_000_00
    closed = cashier.post(
        "/api/v1/payments/shifts/current/close", json={"counted_cash": OPENING + cash_in - cash_out}
    )
    assert closed.status_code == 200, closed.get_json()
    assert (closed.get_json()["expected_cash"], closed.get_json()["discrepancy"]) == (
        OPENING + cash_in - cash_out,
        0,
    )
    card_in = CONSULTATION + (CONSULTATION + ANALYSIS - 50_000_00) + (CONSULTATION - 15_000_00)
    with runtime.db.session() as s:
        assert shift_totals(s, shift["id"]) == {
            "cash_taken": cash_in,
            "card_taken": card_in,
            "cash_refunded": cash_out,
            "card_refunded": CONSULTATION,
        }
        # Every invoice: its lines make its total, its payments less what they gave back make
        # what it holds paid, and no payment gave back more than it took.
        for inv in s.scalars(select(Invoice)):
            assert inv.total == sum(line.amount for line in inv.lines) - inv.discount
            payments = s.scalars(select(Payment).where(Payment.invoice_id == inv.id)).all()
            refunds = s.scalars(select(Refund).where(Refund.invoice_id == inv.id)).all()
            assert all(0 <= p.refunded_amount <= p.amount for p in payments)
            assert sum(p.amount - p.refunded_amount for p in payments) == (
                inv.paid_amount - inv.refunded_amount
            )
            assert sum(r.amount for r in refunds) == sum(p.refunded_amount for p in payments)
            assert inv.paid_amount == inv.total  # all of them paid in the end
