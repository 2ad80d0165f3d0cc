"""The cashier's page in headless Chromium: a cash payment shows on the registrar's desk as
paid within a second, and the held "pay before the doctor" ticket becomes callable."""

from __future__ import annotations

import pytest

from clinic.payments import invoices, shifts
from clinic.queue import calls
from tests.browser.conftest import new_tab, sign_in, wait_live
from tests.payments.fixtures import TZ, issue_ticket, make_patient, make_queue, make_service

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _call_next(runtime, queue_id):
    with runtime.db.transaction() as s:
        ticket = calls.call_next(s, queue_id, tz=TZ, actor="doctor")
        return ticket.code if ticket else None


def test_a_cash_payment_shows_paid_at_reception_within_a_second_and_releases_the_ticket(
    browser, live_server, runtime, make_user
):
    cashier_id = make_user("cashier", "kassa-1")
    make_user("registrar", "desk-1")
    with runtime.db.transaction() as s:
        queue_id = make_queue(s, pay_first=True)
        patient = make_patient(s)
        ticket = issue_ticket(s, queue_id, patient)
        code = ticket.code
        invoice = invoices.create_invoice(
            s,
            patient_id=patient,
            ticket_id=ticket.id,
            lines=[{"service_id": make_service(s, 25_000_00), "quantity": 1}],
            actor="desk-1",
        )
        invoice_id = invoice.id
        shifts.open_shift(s, cashier_id=cashier_id, opening_cash=0)
    assert _call_next(runtime, queue_id) is None  # held until paid

    contexts = []
    try:
        context, reception = new_tab(browser)
        contexts.append(context)
        sign_in(reception, live_server, "desk-1")
        reception.goto(f"{live_server}/queue/desk?lang=en")
        wait_live(reception)
        row = reception.locator(f".desk-queue[data-queue-id='{queue_id}'] [data-code='{code}']")
        row.wait_for()
        assert row.get_attribute("data-paid") is None

        context, cashier = new_tab(browser)
        contexts.append(context)
        sign_in(cashier, live_server, "kassa-1")
        cashier.goto(f"{live_server}/payments/desk?lang=en")
        wait_live(cashier)
        invoice_row = cashier.locator(f"#invoices tr[data-invoice-id='{invoice_id}']")
        invoice_row.wait_for()
        assert "25 000,00" in invoice_row.inner_text()
        invoice_row.locator("input[name=tendered]").fill("30 000")
        invoice_row.locator("button[data-action=cash]").click()
        cashier.wait_for_selector(
            f"#invoices tr[data-invoice-id='{invoice_id}'][data-status='paid']"
        )
        assert "Change due: 5 000,00" in cashier.inner_text("#cashier-status")

        # The payment committed before the cashier saw it: reception follows within a second.
        reception.locator(
            f".desk-queue[data-queue-id='{queue_id}'] [data-code='{code}'][data-paid='yes']"
        ).wait_for(timeout=1000)
    finally:
        for context in contexts:
            context.close()
    assert _call_next(runtime, queue_id) == code
