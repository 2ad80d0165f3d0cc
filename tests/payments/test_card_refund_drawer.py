"""A refund names a drawer (``shift_id``) only when cash leaves one: a card refund naming a
shift is refused by that field and changes nothing, so no cashier's shift counts a card
refund she never gave."""

from __future__ import annotations

from sqlalchemy import func, select

from clinic.models import Refund
from tests.payments.test_api import _paid_above_the_limit


def _refunds(runtime) -> int:
    with runtime.db.session() as s:
        return s.scalar(select(func.count()).select_from(Refund))


def test_a_card_refund_naming_a_drawer_is_refused_by_shift_id(client_as, runtime):
    cashier, manager = client_as("cashier"), client_as("manager")
    shift, refund_url, large = _paid_above_the_limit(runtime, cashier, "card")
    for who, body in (
        (manager, {**large, "shift_id": shift["id"]}),
        (manager, {**large, "method": "card", "shift_id": shift["id"]}),
        (cashier, {"amount": 1_000_00, "reason": "ошибка", "shift_id": shift["id"]}),
    ):
        refused = who.post(refund_url, json=body)
        problem = refused.get_json()
        assert refused.status_code == 422, problem
        assert problem["errors"] == {"shift_id": ["a card refund takes no drawer"]}
    assert _refunds(runtime) == 0
    invoice = cashier.get(refund_url.rsplit("/", 1)[0]).get_json()
    assert invoice["status"] == "paid"
    # Without it the card refund is given, against no drawer.
    given = manager.post(refund_url, json={**large, "method": "card"})
    assert given.status_code == 201, given.get_json()
    assert given.get_json()["refund"]["shift_id"] is None
    drawer = cashier.get("/api/v1/payments/shifts/current").get_json()["shift"]
    assert drawer["cash_in_drawer"] == 0


def test_a_cash_refund_still_names_the_drawer_it_leaves(client_as, runtime):
    cashier, manager = client_as("cashier"), client_as("manager")
    shift, refund_url, large = _paid_above_the_limit(runtime, cashier, "cash")
    given = manager.post(refund_url, json={**large, "method": "cash", "shift_id": shift["id"]})
    assert given.status_code == 201, given.get_json()
    assert given.get_json()["refund"]["shift_id"] == shift["id"]
