"""The cashier's documents: the receipt with every field a receipt carries (and its PDF),
its reprint, the refund receipt and the shift's Z slip, each on the cashier's printer."""

from __future__ import annotations

import io
import time
from datetime import datetime

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from clinic.accounts.models import User
from clinic.payments import effects, invoices
from clinic.payments.models import Payment
from clinic.payments.providers import PaymeTransaction
from clinic.printing import pdfs
from clinic.printing.models import JobKind, JobState, PrintJob
from clinic.printing.templates import COPY_MARK
from clinic.reports.definitions import build
from clinic.reports.params import ReportParams
from tests.conftest import ONE_BACKEND
from tests.payments.fixtures import make_invoice, make_patient, make_service
from tests.printing.conftest import collect, drain
from tests.races import wait_for

FISCAL = {
    "receipt_id": "R-77120",
    "terminal_id": "EP000000000123",
    "fiscal_sign": "581230498712",
    "qr_code_url": "https://ofd.soliq.uz/check?t=EP000000000123&r=77120",
}
# What is checked is what the documents say and where they print; the payment and printing
# rules behind them are tested on both backends in tests/payments and tests/printing.
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _off_the_page(pdf: bytes) -> list[str]:
    """The pieces of text that start outside their page's width or height."""
    outside = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)

        def seen(text, cm, tm, _font, _size, width=width, height=height):
            x, y = cm[0] * tm[4] + cm[2] * tm[5] + cm[4], cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
            if text.strip() and not (0 <= x < width and 0 <= y <= height):
                outside.append(text)

        page.extract_text(visitor_text=seen)
    return outside


def _jobs(runtime, kind: str) -> list[PrintJob]:
    with runtime.db.session() as s:
        return list(s.scalars(select(PrintJob).where(PrintJob.kind == kind).order_by(PrintJob.id)))


def test_receipt_refund_and_z_slip_print_on_the_cashiers_printer_and_the_pdf_says_it_all(
    app, runtime, client, client_as, fake_printer, clinic_profile
):
    cashier = client_as("cashier", "kassir1")
    printer = client.post(
        "/api/v1/printing/printers",
        json={"name": "Касса", "host": "127.0.0.1", "port": fake_printer.port, "paper_mm": 58,
              "targets": ["cashier:kassir1"]},
    ).get_json()  # fmt: skip
    with runtime.db.transaction() as s:
        service_id = make_service(
            s, 12_000_000, ikpu_code="10399001001000000", package_code="1501234", vat_percent=12
        )
        patient_id = make_patient(s)
        invoice_id = invoices.create_invoice(
            s, patient_id=patient_id, lines=[{"service_id": service_id}], actor="registrar"
        ).id
    assert cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0}).status_code == 201
    paid = cashier.post(f"/api/v1/payments/invoices/{invoice_id}/pay", json={"method": "cash"})
    assert paid.status_code == 201, paid.get_json()
    effects.apply_paid(runtime.db.sessionmaker, invoice_id, settings=runtime.settings)
    collect(runtime)
    drain(runtime, printer["id"])
    [receipt] = _jobs(runtime, JobKind.RECEIPT)
    assert receipt.state == JobState.PRINTED and fake_printer.jobs() == [receipt.payload]

    pdf = cashier.get(f"/api/v1/printing/jobs/{receipt.id}/pdf?page=A5")
    assert pdf.status_code == 200
    text = _text(pdf.data)
    number = paid.get_json()["invoice"]["number"]
    for field in (
        "Шифо Клиник", "Тошкент, Чилонзор 7", "ИНН / STIR", "305123456", f"№ {number}",
        "Каримов Алишер", "10399001001000000", "1501234", "НДС / QQS 12%", "Итого / Jami",
        "120 000", "Наличные / Naqd", "kassir1", "НЕФИСКАЛЬНЫЙ ДОКУМЕНТ",
    ):  # fmt: skip
        assert field in text, field

    # The cashier asks for the receipt again: the same bytes, marked as a copy.
    assert cashier.post(f"/api/v1/payments/invoices/{invoice_id}/reprint").status_code == 202
    refund = cashier.post(
        f"/api/v1/payments/invoices/{invoice_id}/refunds",
        json={"amount": 2_000_000, "reason": "Пациент отказался от услуги"},
    )
    assert refund.status_code == 201, refund.get_json()
    closed = cashier.post(
        "/api/v1/payments/shifts/current/close", json={"counted_cash": 10_000_000}
    )
    assert closed.status_code == 200, closed.get_json()
    assert collect(runtime) == 3
    drain(runtime, printer["id"])
    reprint = _jobs(runtime, JobKind.RECEIPT)[1]
    [refunded] = _jobs(runtime, JobKind.REFUND)
    [z_slip] = _jobs(runtime, JobKind.SHIFT)
    assert reprint.copy and reprint.payload.endswith(receipt.payload)
    assert COPY_MARK.encode("cp866") in reprint.payload
    assert fake_printer.jobs() == [
        receipt.payload,
        reprint.payload,
        refunded.payload,
        z_slip.payload,
    ]
    assert "Пациент отказался от услуги".encode("cp866") in refunded.payload
    assert "Наличные".encode("cp866") in refunded.payload  # the cash left the drawer
    assert "Z-отчёт смены".encode("cp866") in z_slip.payload
    assert "Расхождение".encode("cp866") in z_slip.payload

    # Sheets on office paper: the invoice, with its lines.
    sheet = cashier.get(f"/api/v1/printing/invoices/{invoice_id}/pdf?page=A4")
    assert sheet.status_code == 200 and "Счёт / Hisob" in _text(sheet.data)


def test_a_managers_cash_refund_from_a_cashiers_drawer_prints_at_that_cashiers_desk(
    runtime, client, client_as, fake_printer, clinic_profile
):
    cashier, manager = client_as("cashier", "kassir1"), client_as("manager", "boss")
    desk = client.post(
        "/api/v1/printing/printers",
        json={"name": "Касса 1", "host": "127.0.0.1", "port": fake_printer.port,
              "targets": ["cashier:kassir1"]},
    ).get_json()  # fmt: skip
    back_office = client.post(
        "/api/v1/printing/printers",
        json={"name": "Бэк-офис", "host": "127.0.0.1", "port": fake_printer.port,
              "targets": ["receipts"]},
    ).get_json()  # fmt: skip
    invoice_id = make_invoice(runtime, (80_000_000,))
    shift = cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0}).get_json()
    assert cashier.post(f"/api/v1/payments/invoices/{invoice_id}/pay",
                        json={"method": "cash"}).status_code == 201  # fmt: skip
    given = manager.post(
        f"/api/v1/payments/invoices/{invoice_id}/refunds",
        json={"amount": 60_000_000, "reason": "ошибка в счёте", "shift_id": shift["id"]},
    )
    assert given.status_code == 201, given.get_json()
    collect(runtime)
    [refunded] = _jobs(runtime, JobKind.REFUND)
    assert refunded.printer_id == desk["id"] != back_office["id"]


def test_a_reprint_on_another_cashiers_printer_is_made_for_that_printer(
    runtime, client, client_as, fake_printer, clinic_profile
):
    cashier = client_as("cashier", "kassir2")
    for name, paper, code_page, target in (
        ("Касса 1", 80, "CP866", "cashier:kassir2"),
        ("Касса 2", 58, "CP1251", "cashier:admin"),
    ):
        made = client.post(
            "/api/v1/printing/printers",
            json={"name": name, "host": "127.0.0.1", "port": fake_printer.port,
                  "paper_mm": paper, "code_page": code_page, "targets": [target]},
        )  # fmt: skip
        assert made.status_code == 201, made.get_json()
    invoice_id = _paid_in_cash(runtime, cashier)
    # The administrator at the second desk asks for it again.
    assert client.post(f"/api/v1/payments/invoices/{invoice_id}/reprint").status_code == 202
    collect(runtime)
    receipt, reprint = _jobs(runtime, JobKind.RECEIPT)
    assert reprint.copy and reprint.printer_id != receipt.printer_id
    assert reprint.document == receipt.document
    # Its own code page and paper, not the first printer's bytes behind a copy mark.
    assert not reprint.payload.endswith(receipt.payload)
    assert COPY_MARK.encode("cp1251") in reprint.payload
    assert "Итого".encode("cp1251") in reprint.payload
    assert "Итого".encode("cp866") not in reprint.payload


def test_a_receipt_reprinted_after_its_printer_was_set_to_another_code_page_is_made_for_it(
    runtime, client, client_as, fake_printer, clinic_profile
):
    """The cashier's printer was registered with CP866 and is really set to CP1251: once
    its code page is corrected, her receipt's copy is that receipt made in CP1251, not the
    CP866 bytes it was first sent as behind a copy mark."""
    cashier = client_as("cashier", "kassir2")
    made = client.post(
        "/api/v1/printing/printers",
        json={"name": "Касса 1", "host": "127.0.0.1", "port": fake_printer.port,
              "targets": ["cashier:kassir2"]},
    )  # fmt: skip
    assert made.status_code == 201, made.get_json()
    invoice_id = _paid_in_cash(runtime, cashier)
    collect(runtime)
    assert drain(runtime, made.get_json()["id"])["printed"] == 1
    changed = client.patch(
        f"/api/v1/printing/printers/{made.get_json()['id']}", json={"code_page": "CP1251"}
    )
    assert changed.status_code == 200, changed.get_json()
    assert cashier.post(f"/api/v1/payments/invoices/{invoice_id}/reprint").status_code == 202
    collect(runtime)
    receipt, reprint = _jobs(runtime, JobKind.RECEIPT)
    assert reprint.copy and reprint.document == receipt.document
    assert reprint.payload.startswith(b"\x1b@\x1bt\x2e")  # ESC t 46: WPC1251
    assert "Итого".encode("cp1251") in reprint.payload
    assert "Итого".encode("cp866") not in reprint.payload


def _paid_by_payme(runtime, letter: str, fiscal: dict | None) -> int:
    """An invoice paid through Payme (its transaction ``letter`` * 24, performed, with the
    fiscal data ``fiscal`` or none yet), its paid effects applied: the invoice's id."""
    invoice_id = make_invoice(runtime)
    with runtime.db.transaction() as s:
        payment = invoices.record_payment(
            s, invoices.get_invoice(s, invoice_id), method="payme", amount=15_000_000,
            provider="payme", provider_ref=letter * 24, actor="payme",
        )  # fmt: skip
        s.add(
            PaymeTransaction(
                payme_id=letter * 24, invoice_id=invoice_id, amount=15_000_000, account={},
                payme_time=1, create_time=1, state=2, payment_id=payment.id,
                fiscal_perform=fiscal,
            )
        )  # fmt: skip
    effects.apply_paid(runtime.db.sessionmaker, invoice_id, settings=runtime.settings)
    return invoice_id


def test_a_receipt_paid_through_payme_carries_its_fiscal_sign_and_qr(runtime, db, clinic_profile):
    invoice_id = _paid_by_payme(runtime, "p", FISCAL)
    collect(runtime)
    [receipt] = _jobs(runtime, JobKind.RECEIPT)
    assert receipt.state == JobState.PDF_ONLY  # no printer for receipts: the PDF is the print
    roll = pdfs.render(receipt.document, "roll", paper_mm=80)
    text = _text(roll)
    for field in ("Фискальный чек", FISCAL["fiscal_sign"], FISCAL["terminal_id"], "R-77120"):
        assert field in text, field
    for page in ("roll", "A5", "A4"):
        assert _off_the_page(pdfs.render(receipt.document, page)) == [], page
    assert "НЕФИСКАЛЬНЫЙ" not in text
    assert FISCAL["qr_code_url"].encode() in receipt.payload and b"\x1d(k" in receipt.payload
    paid = db.scalar(select(Payment.id).where(Payment.invoice_id == invoice_id))
    assert db.scalar(select(PaymeTransaction.payment_id)) == paid


def test_fiscal_data_with_a_qr_code_that_is_no_address_never_stops_printing(
    runtime, clinic_profile
):
    _paid_by_payme(runtime, "n", {**FISCAL, "qr_code_url": 77120})
    assert collect(runtime) == 1  # the receipt is made: collecting does not stop at it
    [receipt] = _jobs(runtime, JobKind.RECEIPT)
    assert FISCAL["fiscal_sign"] in _text(pdfs.render(receipt.document, "roll", paper_mm=80))
    assert b"\x1d(k" not in receipt.payload


def test_a_reprint_after_paymes_fiscal_data_came_carries_it(runtime, client, clinic_profile):
    invoice_id = _paid_by_payme(runtime, "q", None)
    collect(runtime)
    # Payme fiscalises the payment afterwards (SetFiscalData), then the patient asks for a copy.
    with runtime.db.transaction() as s:
        s.scalars(select(PaymeTransaction)).one().fiscal_perform = FISCAL
    assert client.post(f"/api/v1/payments/invoices/{invoice_id}/reprint").status_code == 202
    collect(runtime)
    receipt, reprint = _jobs(runtime, JobKind.RECEIPT)
    assert "НЕФИСКАЛЬНЫЙ" in _text(pdfs.render(receipt.document, "roll", paper_mm=80))
    text = _text(pdfs.render(reprint.document, "roll", paper_mm=80))
    assert FISCAL["fiscal_sign"] in text and "НЕФИСКАЛЬНЫЙ" not in text
    assert FISCAL["qr_code_url"].encode() in reprint.payload
    assert reprint.copy and COPY_MARK.encode("cp866") in reprint.payload
    # Still the receipt as it was taken: by Payme, not by whoever asked for the copy.
    assert {"t": "pair", "left": "Кассир / Kassir", "right": "payme"} in reprint.document["blocks"]


def test_a_cashiers_z_slip_is_hers_and_the_managers_to_open_not_another_cashiers(
    runtime, client_as, clinic_profile
):
    kassir1, kassir2 = client_as("cashier", "kassir1"), client_as("cashier", "kassir2")
    assert kassir1.post("/api/v1/payments/shifts", json={"opening_cash": 0}).status_code == 201
    closed = kassir1.post("/api/v1/payments/shifts/current/close", json={"counted_cash": 0})
    assert closed.status_code == 200, closed.get_json()
    collect(runtime)
    [z_slip] = _jobs(runtime, JobKind.SHIFT)
    for reader, allowed in ((kassir1, True), (client_as("admin"), True), (kassir2, False)):
        listed = reader.get("/api/v1/printing/jobs?scope=cashier").get_json()
        assert (z_slip.id in [j["id"] for j in listed]) is allowed
        assert (reader.get(f"/api/v1/printing/jobs/{z_slip.id}/pdf").status_code == 200) is allowed
        reprint = reader.post(f"/api/v1/printing/jobs/{z_slip.id}/reprint")
        assert reprint.status_code == (202 if allowed else 403)


def test_a_copy_of_a_cashiers_z_slip_made_by_an_administrator_is_still_hers(
    runtime, client_as, clinic_profile
):
    kassir1, kassir2 = client_as("cashier", "kassir1"), client_as("cashier", "kassir2")
    assert kassir1.post("/api/v1/payments/shifts", json={"opening_cash": 0}).status_code == 201
    closed = kassir1.post("/api/v1/payments/shifts/current/close", json={"counted_cash": 0})
    assert closed.status_code == 200, closed.get_json()
    collect(runtime)
    [z_slip] = _jobs(runtime, JobKind.SHIFT)
    copy = client_as("admin").post(f"/api/v1/printing/jobs/{z_slip.id}/reprint")
    assert copy.status_code == 202, copy.get_json()
    copy_id = copy.get_json()["id"]
    for reader, allowed in ((kassir1, True), (kassir2, False)):
        listed = reader.get("/api/v1/printing/jobs?scope=cashier").get_json()
        assert (copy_id in [j["id"] for j in listed]) is allowed
        assert (reader.get(f"/api/v1/printing/jobs/{copy_id}/pdf").status_code == 200) is allowed


def test_a_cash_receipt_shows_the_cash_handed_over_and_the_change(
    runtime, client_as, clinic_profile
):
    cashier = client_as("cashier", "kassir1")
    invoice_id = make_invoice(runtime, (68_000_000,))
    assert cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0}).status_code == 201
    paid = cashier.post(
        f"/api/v1/payments/invoices/{invoice_id}/pay",
        json={"method": "cash", "tendered": 70_000_000},
    )
    assert paid.status_code == 201, paid.get_json()
    effects.apply_paid(runtime.db.sessionmaker, invoice_id, settings=runtime.settings)
    collect(runtime)
    [receipt] = _jobs(runtime, JobKind.RECEIPT)
    text = _text(pdfs.render(receipt.document, "A5"))
    for field in ("Получено / Olindi", "700 000", "Сдача / Qaytim", "20 000"):
        assert field in text, field


def _paid_in_cash(runtime, cashier) -> int:
    """An invoice of one service the cashier took in cash in her new shift, its paid effects
    done: the receipt is requested."""
    with runtime.db.transaction() as s:
        service_id = make_service(s, 12_000_000)
        invoice_id = invoices.create_invoice(
            s, patient_id=make_patient(s), lines=[{"service_id": service_id}], actor="registrar"
        ).id
    assert cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0}).status_code == 201
    paid = cashier.post(f"/api/v1/payments/invoices/{invoice_id}/pay", json={"method": "cash"})
    assert paid.status_code == 201, paid.get_json()
    effects.apply_paid(runtime.db.sessionmaker, invoice_id, settings=runtime.settings)
    return invoice_id


def test_a_receipt_that_went_out_marked_after_a_dropped_connection_is_still_what_reprints_copy(
    runtime, client, client_as, fake_printer, clinic_profile
):
    cashier = client_as("cashier", "kassir1")
    printer = client.post(
        "/api/v1/printing/printers",
        json={"name": "Касса", "host": "127.0.0.1", "port": fake_printer.port,
              "targets": ["cashier:kassir1"]},
    ).get_json()  # fmt: skip
    invoice_id = _paid_in_cash(runtime, cashier)
    fake_printer.mode = "cut"  # the printer resets in the middle of the receipt
    collect(runtime)
    retry_in = drain(runtime, printer["id"])["retry_in"]
    assert retry_in is not None
    fake_printer.mode = "print"

    def printed():
        drain(runtime, printer["id"])
        return _jobs(runtime, JobKind.RECEIPT)[0].state == JobState.PRINTED

    time.sleep(retry_in)  # the worker comes back then, not every 20 ms before
    wait_for(printed, what="the receipt to print")
    [receipt] = _jobs(runtime, JobKind.RECEIPT)
    assert receipt.copy and receipt.document["blocks"]

    # The cashier at her desk, then the administrator (no printer of his own: a PDF), ask
    # for it again: the receipt kassir1 took, with one copy mark.
    assert cashier.post(f"/api/v1/payments/invoices/{invoice_id}/reprint").status_code == 202
    assert client.post(f"/api/v1/payments/invoices/{invoice_id}/reprint").status_code == 202
    assert collect(runtime) == 2
    _receipt, at_desk, as_pdf = _jobs(runtime, JobKind.RECEIPT)
    assert at_desk.payload == receipt.payload
    assert at_desk.payload.count(COPY_MARK.encode("cp866")) == 1
    assert at_desk.document == as_pdf.document == receipt.document
    assert {"t": "pair", "left": "Кассир / Kassir", "right": "kassir1"} in as_pdf.document["blocks"]


def test_receipts_and_refund_receipts_name_the_cashier_as_the_z_slip_does(
    runtime, client, client_as, clinic_profile
):
    cashier = client_as("cashier", "kassir7")
    with runtime.db.transaction() as s:
        s.scalar(select(User).where(User.username == "kassir7")).full_name = "Каримова Дилноза"
    invoice_id = _paid_in_cash(runtime, cashier)
    refund = cashier.post(
        f"/api/v1/payments/invoices/{invoice_id}/refunds",
        json={"amount": 2_000_000, "reason": "Отказ"},
    )
    assert refund.status_code == 201, refund.get_json()
    closed = cashier.post("/api/v1/payments/shifts/current/close", json={"counted_cash": 0})
    assert closed.status_code == 200, closed.get_json()
    assert collect(runtime) == 3
    name = {"t": "pair", "left": "Кассир / Kassir", "right": "Каримова Дилноза"}
    for kind in (JobKind.RECEIPT, JobKind.REFUND, JobKind.SHIFT):
        [made] = _jobs(runtime, kind)
        assert name in made.document["blocks"], kind


def test_a_receipt_lists_the_refund_of_a_part_payment_so_its_lines_add_up_to_what_was_paid(
    runtime, client_as, clinic_profile
):
    cashier = client_as("cashier", "kassir1")
    invoice_id = make_invoice(runtime, (2_500_000,))
    assert cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0}).status_code == 201
    pay = f"/api/v1/payments/invoices/{invoice_id}/pay"
    assert cashier.post(pay, json={"method": "cash", "amount": 1_000_000}).status_code == 201
    refund = cashier.post(
        f"/api/v1/payments/invoices/{invoice_id}/refunds",
        json={"amount": 400_000, "reason": "Пациент ушёл"},
    )
    assert refund.status_code == 201, refund.get_json()
    paid = cashier.post(pay, json={"method": "card"})
    assert paid.status_code == 201, paid.get_json()
    assert paid.get_json()["invoice"]["paid_amount"] == 2_500_000
    effects.apply_paid(runtime.db.sessionmaker, invoice_id, settings=runtime.settings)
    # A refund after the invoice was paid has a refund receipt of its own: not on this one.
    later = cashier.post(
        f"/api/v1/payments/invoices/{invoice_id}/refunds",
        json={"amount": 100_000, "reason": "Скидка"},
    )
    assert later.status_code == 201, later.get_json()
    collect(runtime)
    [receipt] = _jobs(runtime, JobKind.RECEIPT)
    blocks = receipt.document["blocks"]
    lines = [b for b in blocks if b["t"] == "pair"]
    labels = [b["left"] for b in lines]
    refunded = labels.index("Возвращено / Qaytarildi")
    assert lines[refunded]["right"] == "-4 000 сум"
    assert lines[refunded + 1] == {"t": "pair", "left": "Способ оплаты / To'lov usuli",
                                   "right": "Наличные / Naqd"}  # fmt: skip
    assert lines[refunded + 2]["left"] == "Дата / Sana" and lines[refunded + 2]["right"]
    # 10 000 in cash, 4 000 of it given back, 19 000 by card: the 25 000 paid.
    assert {"t": "pair", "left": "Наличные / Naqd", "right": "10 000 сум"} in lines
    assert {"t": "pair", "left": "Карта / Karta", "right": "19 000 сум"} in lines
    assert {"t": "pair", "left": "Оплачено / To'langan", "right": "25 000 сум"} in lines
    assert labels.count("Возвращено / Qaytarildi") == 1


def test_the_z_slip_carries_the_card_taken_and_given_back_as_the_z_report_does(
    runtime, client_as, clinic_profile
):
    cashier = client_as("cashier", "kassir1")
    shift = cashier.post("/api/v1/payments/shifts", json={"opening_cash": 100_000}).get_json()
    by_cash, by_card = make_invoice(runtime, (3_000_000,)), make_invoice(runtime, (5_000_000,))
    for invoice_id, method in ((by_cash, "cash"), (by_card, "card")):
        paid = cashier.post(f"/api/v1/payments/invoices/{invoice_id}/pay", json={"method": method})
        assert paid.status_code == 201, paid.get_json()
    for invoice_id, amount in ((by_cash, 1_000_000), (by_card, 2_000_000)):
        given = cashier.post(
            f"/api/v1/payments/invoices/{invoice_id}/refunds",
            json={"amount": amount, "reason": "Отказ"},
        )
        assert given.status_code == 201, given.get_json()
    closed = cashier.post("/api/v1/payments/shifts/current/close", json={"counted_cash": 0})
    assert closed.status_code == 200, closed.get_json()
    collect(runtime)
    [z_slip] = _jobs(runtime, JobKind.SHIFT)
    tz = runtime.settings.tz
    day = datetime.fromisoformat(shift["opened_at"]).astimezone(runtime.settings.tz).date()
    with runtime.db.session() as s:
        built = build(s, ReportParams(report="shifts", by="shift", start=day, end=day), tz)
        [row] = [r for r in built.rows if r[0].startswith(f"#{shift['id']} ")]
    # opening, cash taken, card taken, cash refunded, card refunded, expected: the report's
    assert row[3:9] == (100_000, 3_000_000, 5_000_000, 1_000_000, 2_000_000, 2_100_000)
    lines = [b for b in z_slip.document["blocks"] if b["t"] == "pair"]
    for label, amount in (
        ("Наличные / Naqd", "30 000 сум"),
        ("Карта / Karta", "50 000 сум"),
        ("Возврат наличными / Naqd qaytarish", "10 000 сум"),
        ("Возврат на карту / Kartaga qaytarish", "20 000 сум"),
        ("Ожидается в кассе / Kassada kutilgan", "21 000 сум"),
    ):
        assert {"t": "pair", "left": label, "right": amount} in lines, label


def test_a_cashiers_z_slip_reaches_her_and_the_managers_sockets_not_another_cashiers(
    runtime, live_server, client_as, clinic_profile
):
    from tests.wsclient import WSClient

    kassir1, kassir2 = client_as("cashier", "kassir1"), client_as("cashier", "kassir2")
    readers = {"kassir1": kassir1, "kassir2": kassir2, "admin": client_as("admin")}

    def socket(name: str) -> WSClient:
        cookie = readers[name].get_cookie("clinic_session").value
        return WSClient(live_server, cookie=f"clinic_session={cookie}", origin=live_server)

    live = {name: socket(name) for name in readers}
    for ws in live.values():
        ws.subscribe("print_jobs:cashier")
    slips = {}
    for name in ("kassir1", "kassir2"):
        cashier = readers[name]
        assert cashier.post("/api/v1/payments/shifts", json={"opening_cash": 0}).status_code == 201
        closed = cashier.post("/api/v1/payments/shifts/current/close", json={"counted_cash": 0})
        assert closed.status_code == 200, closed.get_json()
        collect(runtime)
        slips[name] = _jobs(runtime, JobKind.SHIFT)[-1].id
    everyone = [slips["kassir1"], slips["kassir2"]]
    expected = {"kassir1": [slips["kassir1"]], "kassir2": [slips["kassir2"]], "admin": everyone}
    for name, ws in live.items():
        # Events come in order: a cashier's first is her own slip, never her colleague's.
        got = ws.events("print_jobs:cashier", len(expected[name]))
        assert [e["data"]["job"]["id"] for e in got] == expected[name], name
        # Starting again, from a snapshot or from the first event, shows the same.
        snapshot = next(m for m in ws.subscribe("print_jobs:cashier") if m["op"] == "snapshot")
        assert sorted(j["id"] for j in snapshot["data"]["jobs"]) == expected[name], name
        replayed = ws.subscribe("print_jobs:cashier", last_id=0)
        assert [m["data"]["job"]["id"] for m in replayed if m["op"] == "event"] == expected[name]
        assert replayed[-1]["last_id"] == 2  # nothing is held back: the channel is at its end
        ws.close()
