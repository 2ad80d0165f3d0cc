"""The invoice on office paper says what became of it: cancelled, given back after it was paid
(in part or in full), or part paid with the rest still due; a paid one says none of that."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from tests.conftest import ONE_BACKEND
from tests.payments.fixtures import make_invoice

# What is checked is what the sheet says; the payment rules that bring an invoice to each
# state are tested on both backends in tests/payments.
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])

CANCELLED = "АННУЛИРОВАН / BEKOR QILINGAN"
REFUNDED = "Возвращено / Qaytarildi"
REFUNDED_IN_FULL = "ВОЗВРАЩЕНО ПОЛНОСТЬЮ / TO'LIQ QAYTARILDI"
DUE = "Остаток к оплате / To'lov qoldig'i"


def _lines(client, invoice_id: int, page: str = "A4") -> list[str]:
    """The lines of the invoice's PDF as its reader sees them ("label value" for a pair)."""
    sheet = client.get(f"/api/v1/printing/invoices/{invoice_id}/pdf?page={page}")
    assert sheet.status_code == 200, sheet.get_json()
    pages = PdfReader(io.BytesIO(sheet.data)).pages
    return [line.strip() for page in pages for line in page.extract_text().splitlines()]


def _says_of_its_state(lines: list[str]) -> list[str]:
    """The lines that say what became of the invoice."""
    marks = (CANCELLED, REFUNDED, REFUNDED_IN_FULL, DUE)
    return [line for line in lines if line.startswith(marks)]


def _pay(cashier, invoice_id: int, **payment) -> dict:
    paid = cashier.post(
        f"/api/v1/payments/invoices/{invoice_id}/pay", json={"method": "cash", **payment}
    )
    assert paid.status_code == 201, paid.get_json()
    return paid.get_json()["invoice"]


def _give_back(cashier, invoice_id: int, amount: int) -> dict:
    given = cashier.post(
        f"/api/v1/payments/invoices/{invoice_id}/refunds",
        json={"amount": amount, "reason": "Пациент отказался от услуги"},
    )
    assert given.status_code == 201, given.get_json()
    return cashier.get(f"/api/v1/payments/invoices/{invoice_id}").get_json()


@pytest.fixture
def cashier(client_as, clinic_profile):
    """A cashier with her shift open: she takes cash and gives it back from her drawer."""
    cashier = client_as("cashier", "kassir1")
    assert cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0}).status_code == 201
    return cashier


def test_a_cancelled_invoice_prints_as_cancelled_not_as_one_still_to_pay(runtime, cashier):
    invoice_id = make_invoice(runtime, (12_000_000,))
    cancelled = cashier.post(f"/api/v1/payments/invoices/{invoice_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"

    for page in ("A4", "A5"):
        lines = _lines(cashier, invoice_id, page)
        assert "Итого / Jami 120 000 сум" in lines
        assert _says_of_its_state(lines) == [CANCELLED], page


def test_an_invoice_given_back_in_part_after_it_was_paid_says_how_much_and_no_part_twice(
    runtime, cashier
):
    invoice_id = make_invoice(runtime, (2_500_000,))
    _pay(cashier, invoice_id, amount=1_000_000)
    # 4 000 given back while it was open: off what is paid, listed beside the payments.
    _give_back(cashier, invoice_id, 400_000)
    assert _pay(cashier, invoice_id)["paid_amount"] == 2_500_000
    # 1 000 given back after it was paid: the invoice's refunded amount.
    invoice = _give_back(cashier, invoice_id, 100_000)
    assert (invoice["status"], invoice["refunded_amount"]) == ("partly_refunded", 100_000)

    lines = _lines(cashier, invoice_id)
    assert _says_of_its_state(lines) == [f"{REFUNDED} -4 000 сум", f"{REFUNDED} -1 000 сум"]
    # The part given back while open stays beside the payments, above what is paid; what was
    # given back after comes under it.
    paid = lines.index("Оплачено / To'langan 25 000 сум")
    assert lines.index(f"{REFUNDED} -4 000 сум") < paid < lines.index(f"{REFUNDED} -1 000 сум")


def test_an_invoice_given_back_in_full_after_it_was_paid_says_so(runtime, cashier):
    invoice_id = make_invoice(runtime, (12_000_000,))
    _pay(cashier, invoice_id)
    invoice = _give_back(cashier, invoice_id, 12_000_000)
    assert (invoice["status"], invoice["refunded_amount"]) == ("refunded", 12_000_000)

    for page in ("A4", "A5"):
        lines = _lines(cashier, invoice_id, page)
        assert "Оплачено / To'langan 120 000 сум" in lines
        assert _says_of_its_state(lines) == [f"{REFUNDED} -120 000 сум", REFUNDED_IN_FULL], page


def test_an_open_invoice_part_paid_says_what_remains_due(runtime, cashier):
    invoice_id = make_invoice(runtime, (2_500_000,))
    assert _pay(cashier, invoice_id, amount=1_000_000)["status"] == "open"

    lines = _lines(cashier, invoice_id, "A5")
    assert "Оплачено / To'langan 10 000 сум" in lines
    assert _says_of_its_state(lines) == [f"{DUE} 15 000 сум"]


def test_a_paid_invoice_and_an_open_one_nothing_was_paid_of_say_none_of_that(runtime, cashier):
    paid_id, open_id = make_invoice(runtime, (12_000_000,)), make_invoice(runtime, (3_000_000,))
    assert _pay(cashier, paid_id)["status"] == "paid"

    paid, still_open = _lines(cashier, paid_id), _lines(cashier, open_id)
    assert "Оплачено / To'langan 120 000 сум" in paid
    assert "Оплачено / To'langan 0 сум" in still_open
    assert _says_of_its_state(paid) == _says_of_its_state(still_open) == []
