"""The open shifts a cash refund may come out of (``GET /api/v1/payments/shifts/open``): every
drawer for a manager or an administrator, her own for a cashier, nothing for anyone else;
and the refunds-only desk page that lists them for a manager."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from clinic.accounts.models import User
from clinic.models import AuditEntry
from tests.payments.fixtures import make_patient, make_service

OPEN_SHIFTS = "/api/v1/payments/shifts/open"


def _named(runtime, client, full_name: str) -> None:
    with runtime.db.transaction() as s:
        s.execute(update(User).where(User.username == client.username).values(full_name=full_name))


def _cash_paid(runtime, cashier, price: int) -> None:
    with runtime.db.transaction() as s:
        patient, service = make_patient(s), make_service(s, price)
    invoice = cashier.post(
        "/api/v1/payments/invoices",
        json={"patient_id": patient, "lines": [{"service_id": service, "quantity": 1}]},
    ).get_json()
    paid = cashier.post(f"/api/v1/payments/invoices/{invoice['id']}/pay", json={"method": "cash"})
    assert paid.status_code == 201, paid.get_json()


def test_a_manager_sees_every_open_drawer_and_a_cashier_only_her_own(client_as, runtime):
    aziza, dilnoza, idle = client_as("cashier"), client_as("cashier"), client_as("cashier")
    _named(runtime, aziza, "Каримова Азиза")
    first = aziza.post("/api/v1/payments/shifts", json={"opening_cash": 10_000_00}).get_json()
    _cash_paid(runtime, aziza, 25_000_00)
    closed = dilnoza.post("/api/v1/payments/shifts", json={"opening_cash": 0}).get_json()
    assert (
        dilnoza.post("/api/v1/payments/shifts/current/close", json={"counted_cash": 0}).status_code
        == 200
    )
    second = dilnoza.post("/api/v1/payments/shifts", json={"opening_cash": 5_000_00}).get_json()

    expected = [
        (first["id"], first["cashier_id"], "Каримова Азиза", 10_000_00, 35_000_00),
        # No full name given: her username says who she is.
        (second["id"], second["cashier_id"], dilnoza.username, 5_000_00, 5_000_00),
    ]

    def listed(answer):
        assert answer.status_code == 200, answer.get_json()
        return [
            (s["id"], s["cashier_id"], s["cashier_name"], s["opening_cash"], s["cash_in_drawer"])
            for s in answer.get_json()
        ]

    for role in ("manager", "admin"):
        assert listed(client_as(role).get(OPEN_SHIFTS)) == expected, role
    assert closed["id"] not in [s[0] for s in expected]
    # A cashier sees her own drawer only, and none when her shift is not open.
    assert listed(aziza.get(OPEN_SHIFTS)) == expected[:1]
    assert listed(dilnoza.get(OPEN_SHIFTS)) == expected[1:]
    assert listed(idle.get(OPEN_SHIFTS)) == []


@pytest.mark.parametrize("role", ["registrar", "doctor", "display", "kiosk"])
def test_the_open_drawers_are_no_one_elses_to_see(client_as, role):
    refused = client_as(role).get(OPEN_SHIFTS)
    assert refused.status_code == 403, refused.get_json()


def test_the_open_drawers_are_refused_to_anyone_not_signed_in(anon_client):
    assert anon_client.get(OPEN_SHIFTS).status_code == 401


def test_an_option_the_list_of_drawers_does_not_read_is_refused_naming_it(client_as):
    refused = client_as("manager").get(f"{OPEN_SHIFTS}?cashier_id=3")
    assert refused.status_code == 422
    assert [*refused.get_json()["errors"]] == ["cashier_id"]


def test_the_refunds_page_is_a_managers_and_offers_no_payment_and_no_shift(client_as):
    manager = client_as("manager")
    page = manager.get("/payments/refunds?lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "cashier-drawers.js" in html and '"refundsOnly": true' in html
    # No shift of his own, no new invoice, no payment taken: those are the cashier's.
    for cashiers_own in ('id="shift-open"', 'id="new-invoice"', "cashier-invoice.js"):
        assert cashiers_own not in html, cashiers_own
    # The cashier's desk stays hers; the refunds page a cashier may not open.
    assert manager.get("/payments/desk").status_code == 403
    assert client_as("cashier").get("/payments/refunds").status_code == 403


def test_the_audit_log_names_the_shift_a_cashier_opened_and_the_one_she_closed(client_as, runtime):
    cashier = client_as("cashier", "kassir-z")
    opened = cashier.post("/api/v1/payments/shifts", json={"opening_cash": 100})
    assert opened.status_code == 201, opened.get_json()
    closed = cashier.post("/api/v1/payments/shifts/current/close", json={"counted_cash": 100})
    assert closed.status_code == 200, closed.get_json()
    with runtime.db.session() as s:
        rows = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.action.in_(["payments.open_shift", "payments.close_shift"]))
            .order_by(AuditEntry.id)
        ).all()
    shift_id = str(opened.get_json()["id"])
    assert [(r.action, r.object_type, r.object_id, r.username) for r in rows] == [
        ("payments.open_shift", "cashier_shifts", shift_id, "kassir-z"),
        ("payments.close_shift", "cashier_shifts", shift_id, "kassir-z"),
    ]
