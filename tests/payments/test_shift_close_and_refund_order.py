"""What a cashier is told when a refund can never be given, whichever way its payment is
chosen, and when her shift was closed at another screen while she was closing it."""

from __future__ import annotations

import pytest

from clinic.payments import shifts
from tests.payments.fixtures import make_patient, make_service
from tests.races import held_race


def _paid(runtime, cashier, price: int, method: str) -> tuple[int, int]:
    with runtime.db.transaction() as s:
        patient, service = make_patient(s), make_service(s, price)
    invoice = cashier.post(
        "/api/v1/payments/invoices",
        json={"patient_id": patient, "lines": [{"service_id": service, "quantity": 1}]},
    ).get_json()["id"]
    paid = cashier.post(f"/api/v1/payments/invoices/{invoice}/pay", json={"method": method})
    assert paid.status_code == 201, paid.get_json()
    return invoice, paid.get_json()["payment"]["id"]


def _refused(answer, status: int, code: str | None, field: str, reason: str | None = None):
    body = answer.get_json()
    assert answer.status_code == status, body
    if code is not None:
        assert body["code"] == code, body
    assert field in body["errors"], body
    if reason is not None:
        assert body["reasons"][field] == [reason], body


def test_more_than_the_payment_holds_is_the_amounts_refusal_not_a_call_for_a_manager(
    client_as, runtime
):
    """600 000 sum asked back of a 100 000 sum card payment: no approval would make it
    possible, so a cashier is told the amount, with the payment named or not."""
    cashier = client_as("cashier")
    cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0})
    invoice, payment = _paid(runtime, cashier, 100_000_00, "card")
    refunds = f"/api/v1/payments/invoices/{invoice}/refunds"
    asked = {"amount": 600_000_00, "reason": "ошибка"}
    _refused(cashier.post(refunds, json=asked), 422, None, "amount", "above_payment")
    named = cashier.post(refunds, json={**asked, "payment_id": payment})
    _refused(named, 422, None, "amount", "above_payment")
    assert cashier.get(f"/api/v1/payments/invoices/{invoice}").get_json()["refunded_amount"] == 0


def test_a_cash_payment_given_back_already_is_not_paid_whatever_the_drawer_holds(
    client_as, runtime
):
    """Named by its id once all of it is given back, a cash payment has nothing to give:
    said so, not that the drawer is short."""
    cashier = client_as("cashier")
    cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0})
    invoice, payment = _paid(runtime, cashier, 50_000_00, "cash")
    refunds = f"/api/v1/payments/invoices/{invoice}/refunds"
    whole = {"amount": 50_000_00, "reason": "ошибка", "payment_id": payment}
    assert cashier.post(refunds, json=whole).status_code == 201
    again = cashier.post(refunds, json={**whole, "amount": 80_000_00})
    assert again.status_code == 409 and again.get_json()["code"] == "not_paid", again.get_json()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_shift_closed_at_another_screen_while_closing_is_no_open_shift(client_as, runtime):
    """Both screens read the shift open; the other closes it first. The second close is told
    as a close with no shift open is (404 ``no_open_shift``, the page then shows it), not
    with a code of its own."""
    cashier = client_as("cashier")
    shift = cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0}).get_json()
    answers = {}

    def this_screen():
        answers["close"] = cashier.post(
            "/api/v1/payments/shifts/current/close", json={"counted_cash": 0}
        )

    def the_other_screen(s):
        shifts.close_shift(s, shifts.get_shift(s, shift["id"]), counted_cash=0)

    def reads_the_open_shift(statement, _parameters):
        return "FROM cashier_shifts" in statement and "FOR UPDATE" not in statement

    raced = held_race(runtime, this_screen, the_other_screen, holds=reads_the_open_shift)
    assert raced == {"first": "done", "step": "done"}, raced
    close = answers["close"]
    assert (close.status_code, close.get_json()["code"]) == (404, "no_open_shift"), close.get_json()
