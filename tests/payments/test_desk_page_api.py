"""What the desk page's requests meet at the API: each invoice an answer gives says the desk
channel's event it was read after (``desk_event_id``), so a late answer is told from newer
events even when less is paid now; the refunds page's cash never comes from the caller's own
shift; and a refund's amount or reason refused says why by its reason's code."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from sqlalchemy import select

from clinic.events.models import OutboxEvent
from clinic.payments.models import Refund
from clinic.payments.refunds import REASONS
from tests.payments.fixtures import make_invoice

INVOICES = "/api/v1/payments/invoices"
SHIFTS = "/api/v1/payments/shifts"


def _desk_events(runtime, invoice_id: int) -> list[tuple[int, str, int]]:
    """The desk channel's events of the invoice: number, type and what was paid of it."""
    with runtime.db.session() as s:
        rows = s.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.channel == "payments:desk")
            .order_by(OutboxEvent.seq)
        ).all()
    return [
        (r.seq, r.type, r.data["invoice"]["paid_amount"])
        for r in rows
        if r.data.get("invoice", {}).get("id") == invoice_id
    ]


def _posted(client, url: str, data: dict, status: int = 201) -> dict:
    answer = client.post(url, json=data)
    assert answer.status_code == status, answer.get_json()
    return answer.get_json()


def _refunds(runtime, invoice_id: int) -> list[tuple[int, int | None]]:
    with runtime.db.session() as s:
        given = s.scalars(select(Refund).where(Refund.invoice_id == invoice_id)).all()
    return [(r.amount, r.shift_id) for r in given]


def test_an_answer_says_the_desk_event_it_was_read_after_though_less_is_paid_since(
    client_as, runtime
):
    cashier, manager = client_as("cashier"), client_as("manager")
    _posted(cashier, SHIFTS, {"opening_cash": 0})
    invoice_id = make_invoice(runtime, prices=(500_000_00,))
    paid = _posted(
        cashier, f"{INVOICES}/{invoice_id}/pay", {"method": "card", "amount": 200_000_00}
    )
    # Part of the part paid given back at another screen: what is paid falls again.
    given = _posted(
        manager,
        f"{INVOICES}/{invoice_id}/refunds",
        {"amount": 100_000_00, "reason": "part back", "method": "card"},
    )
    events = _desk_events(runtime, invoice_id)
    assert [(kind, amount) for _, kind, amount in events] == [
        ("invoice.created", 0),
        ("payment.recorded", 200_000_00),
        ("refund.recorded", 100_000_00),
    ]
    paid_event, given_event = events[1][0], events[2][0]
    # Each answer is read after its own event: the payment's is older than the refund's,
    # though it says more was paid.
    assert paid_event <= paid["invoice"]["desk_event_id"] < given_event
    assert given["invoice"]["desk_event_id"] >= given_event
    assert paid["invoice"]["paid_amount"] > given["invoice"]["paid_amount"] == 100_000_00
    # The list (an invoice found by its number too) and an invoice read alone say it as well.
    number = given["invoice"]["number"]
    (found,) = cashier.get(f"{INVOICES}?number={number}").get_json()
    assert found["paid_amount"] == 100_000_00
    assert found["desk_event_id"] >= given["invoice"]["desk_event_id"]
    assert cashier.get(f"{INVOICES}/{invoice_id}").get_json()["desk_event_id"] >= given_event


def test_cash_asked_not_to_come_from_ones_own_shift_needs_a_drawer_named(client_as, runtime):
    """An administrator with a drawer of his own at the refunds page chose none: the cash is
    not taken from his own shift, and the refusal names the drawer to choose."""
    admin, cashier = client_as("admin"), client_as("cashier")
    hers = _posted(cashier, SHIFTS, {"opening_cash": 0})
    _posted(admin, SHIFTS, {"opening_cash": 1_000_000_00})  # his own drawer, open
    invoice_id = make_invoice(runtime, prices=(150_000_00,))
    _posted(cashier, f"{INVOICES}/{invoice_id}/pay", {"method": "cash"})
    url = f"{INVOICES}/{invoice_id}/refunds"
    asked = {"amount": 50_000_00, "reason": "no drawer chosen", "method": "cash"}
    refused = _posted(admin, url, {**asked, "from_own_shift": False}, status=409)
    assert (refused["code"], [*refused["errors"]]) == ("no_open_shift", ["shift_id"])
    # Given back as paid last, found to be cash: no drawer of his either.
    as_paid = {"amount": 50_000_00, "reason": "no drawer chosen", "from_own_shift": False}
    refused = _posted(admin, url, as_paid, status=409)
    assert (refused["code"], [*refused["errors"]]) == ("no_open_shift", ["shift_id"])
    assert _refunds(runtime, invoice_id) == []
    # The drawer named gives it; a cashier's own drawer is still hers by default.
    _posted(admin, url, {**asked, "from_own_shift": False, "shift_id": hers["id"]})
    _posted(cashier, url, {**asked, "amount": 10_000_00})
    assert _refunds(runtime, invoice_id) == [(50_000_00, hers["id"]), (10_000_00, hers["id"])]


@pytest.mark.parametrize(
    "asked, field, reason",
    [
        ({"reason": "x" * 501}, "reason", "reason_too_long"),
        ({"reason": ""}, "reason", "reason_required"),
        ({"reason": "   "}, "reason", "reason_required"),
        ({"reason": None}, "reason", "reason_required"),
        ({"amount": 150_000_01}, "amount", "above_payment"),
        ({"amount": 150_000_01, "method": "card"}, "amount", "above_payment"),
    ],
)
def test_a_refunds_amount_or_reason_refused_says_why_by_its_code(
    client_as, runtime, asked, field, reason
):
    cashier = client_as("cashier")
    _posted(cashier, SHIFTS, {"opening_cash": 0})
    invoice_id = make_invoice(runtime, prices=(150_000_00,))
    _posted(cashier, f"{INVOICES}/{invoice_id}/pay", {"method": "card"})
    data = {"amount": 10_000_00, "reason": "changed his mind", **asked}
    refused = _posted(cashier, f"{INVOICES}/{invoice_id}/refunds", data, status=422)
    assert refused["reasons"] == {field: [reason]}, refused
    assert [*refused["errors"]] == [field]
    # A reason of 500 characters is kept whole.
    kept = _posted(
        cashier, f"{INVOICES}/{invoice_id}/refunds", {"amount": 10_000_00, "reason": "y" * 500}
    )
    assert kept["refund"]["reason"] == "y" * 500


@pytest.mark.parametrize(
    "role, path", [("cashier", "/payments/desk"), ("manager", "/payments/refunds")]
)
def test_both_forms_of_the_desk_page_word_every_reason_a_refund_is_refused_for(
    client_as, role, path
):
    html = client_as(role).get(f"{path}?lang=en").get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="cashier-config">(.*?)</script>', html)
    texts = json.loads(unescape(found.group(1)))["texts"]
    assert set(REASONS) <= {code for code, words in texts["reasons"].items() if words}
    for own in ("refundNotTiyin", "refundZero", "tenderedNotSum"):
        assert texts[own], own
