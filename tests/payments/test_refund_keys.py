"""A refund's idempotency key names one refund: the same key again for the same refund gives
back once, and for a refund another way (cash rather than card, another payment) it is the
caller's mistake, refused at the key, as a payment's key is."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from clinic.errors import ValidationFailed
from clinic.models import Invoice, Refund
from clinic.payments import desk, shifts
from tests.payments.fixtures import make_invoice

PRICE = 25_000_00


def _give_back(runtime, invoice_id, cashier_id, **kwargs):
    with runtime.db.transaction() as s:
        return desk.refund_at_desk(
            s,
            invoice_id,
            cashier_id=cashier_id,
            actor=f"cashier{cashier_id}",
            reason="одна услуга не оказана",
            may_refund_large=False,
            large_from=runtime.settings.refund_approval_from,
            **kwargs,
        )


def test_one_refund_key_for_another_way_of_giving_back_is_refused_at_the_key(runtime, make_user):
    cashier = make_user("cashier")
    with runtime.db.transaction() as s:
        shifts.open_shift(s, cashier_id=cashier, opening_cash=0)
    invoice_id = make_invoice(runtime, [PRICE])
    with runtime.db.transaction() as s:
        cash = desk.take_payment(
            s, invoice_id, cashier_id=cashier, actor="c", method="cash", amount=PRICE // 2
        ).id
        card = desk.take_payment(s, invoice_id, cashier_id=cashier, actor="c", method="card").id
    first = _give_back(
        runtime, invoice_id, cashier, amount=1_000_00, method="cash", idempotency_key="k-way-01"
    )
    assert first.payment_id == cash
    same = _give_back(
        runtime, invoice_id, cashier, amount=1_000_00, method="cash", idempotency_key="k-way-01"
    )
    assert same.id == first.id
    for other in ({"method": "card"}, {"payment_id": card}):
        with pytest.raises(ValidationFailed) as caught:
            _give_back(runtime, invoice_id, cashier, amount=1_000_00, idempotency_key="k-way-01",
                       **other)  # fmt: skip
        assert "idempotency_key" in caught.value.errors, other
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Refund.id))) == 1


def test_a_key_that_paid_or_gave_back_of_another_invoice_is_refused_naming_the_key(
    client_as, runtime
):
    cashier = client_as("cashier")
    cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0})
    first, other = make_invoice(runtime, [PRICE]), make_invoice(runtime, [PRICE])
    api = "/api/v1/payments/invoices/{}/{}"
    paid = {"method": "cash", "idempotency_key": "desk-pay-0001"}
    assert cashier.post(api.format(first, "pay"), json=paid).status_code == 201
    back = {"amount": 1_000_00, "reason": "не оказана", "idempotency_key": "desk-back-001"}
    assert cashier.post(api.format(first, "refunds"), json=back).status_code == 201
    for action, body in (("pay", paid), ("refunds", back)):
        refused = cashier.post(api.format(other, action), json=body)
        assert refused.status_code == 409, action
        problem = refused.get_json()
        assert problem["code"] == "ref_used" and list(problem["errors"]) == ["idempotency_key"]
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(Refund.id))) == 1
        assert s.get(Invoice, other).paid_amount == 0
