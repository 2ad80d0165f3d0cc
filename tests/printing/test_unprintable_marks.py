"""Texts pasted from a word processor or a spreadsheet, and names in Karakalpak or Kazakh
Cyrillic, reach the paper without a "?": invisible marks are left out, letters a code page
lacks print as the nearest ones it has (in Latin letters on a printer without Cyrillic),
and the PDFs keep every letter as typed."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from clinic.money import format_money
from clinic.payments import invoices
from clinic.printing import thermal
from clinic.printing.models import JobKind, JobState, PrintJob
from clinic.printing.templates import LABELS
from clinic.reference import patients
from tests.payments.fixtures import make_service
from tests.printing.conftest import pay_at_the_desk_and_print

CODE_PAGES = ("CP866", "CP1251", "CP437")


@pytest.mark.parametrize("code_page", CODE_PAGES)
@pytest.mark.parametrize(
    "pasted",
    [
        pytest.param("Ультра\u00adзвуковое", id="soft-hyphen"),
        pytest.param("Ультра\u200bзвуковое", id="zero-width-space"),
        pytest.param("\ufeffУльтразвуковое", id="byte-order-mark"),
        pytest.param("Ультра\u200d\u200cзвуковое\u200e\u200f", id="joiners-direction-marks"),
        pytest.param("Ультра\u2060звуковое\u202a\u202c", id="word-joiner-bidi-embedding"),
    ],
)
def test_invisible_marks_pasted_into_a_text_are_left_out(pasted, code_page):
    expected = "Ultrazvukovoe" if code_page == "CP437" else "Ультразвуковое"
    assert thermal.printable(pasted, code_page) == expected


@pytest.mark.parametrize(
    "code_page, printed",
    [
        ("CP866", "Отегенов Алишер; АОУУНИХ аоууних"),
        ("CP1251", "Отегенов Алішер; АОУУНІХ аоууніх"),
        ("CP437", "Otegenov Alisher; AOUUNIH áóúunih"),
    ],
    ids=CODE_PAGES,
)
def test_karakalpak_and_kazakh_letters_print_as_the_nearest_ones(code_page, printed):
    typed = "Өтегенов Әлішер; ӘӨҮҰҢІҺ әөүұңіһ"
    assert thermal.printable(typed, code_page) == printed
    printed.encode(code_page.lower())  # every letter on paper, none a "?"


@pytest.mark.parametrize("code_page", CODE_PAGES)
def test_a_double_prime_prints_as_a_quote(code_page):
    assert thermal.printable("Бумага 12″", code_page).endswith(' 12"')


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_a_receipt_pasted_from_a_word_processor_for_a_karakalpak_patient_has_no_question_mark(
    runtime, client, client_as, fake_printer, clinic_profile
):
    cashier = client_as("cashier", "kassir1")
    made = client.post(
        "/api/v1/printing/printers",
        json={"name": "Касса", "host": "127.0.0.1", "port": fake_printer.port,
              "targets": ["cashier:kassir1"]},
    )  # fmt: skip
    assert made.status_code == 201, made.get_json()
    with runtime.db.transaction() as s:
        service_id = make_service(s, 12_000_000, name_ru="Ультра\u00adзвуковое исследование 12″")
        patient_id = patients.create_patient(s, {"full_name": "Өтегенов Әлішер", "sex": "M"}).id
        invoice_id = invoices.create_invoice(
            s, patient_id=patient_id, lines=[{"service_id": service_id}], actor="registrar"
        ).id
    pay_at_the_desk_and_print(runtime, cashier, invoice_id, made.get_json()["id"], "cash")

    with runtime.db.session() as s:
        receipt = s.scalars(select(PrintJob).where(PrintJob.kind == JobKind.RECEIPT)).one()
    assert receipt.state == JobState.PRINTED and fake_printer.jobs() == [receipt.payload]
    for said in ('Ультразвуковое исследование 12"', "Отегенов Алишер"):
        assert said.encode("cp866") in receipt.payload, said
    # The desk's PDF of it has the letters as typed.
    pdf = cashier.get(f"/api/v1/printing/jobs/{receipt.id}/pdf?page=A5")
    assert pdf.status_code == 200
    assert "Өтегенов Әлішер" in _text(pdf.data)


def test_uzbek_labels_write_the_apostrophe_as_the_sums_and_pages_do():
    """One sign on one receipt: "To'langan / Оплачено: 150 000 so'm", not "Toʻlangan" beside
    "so'm" (docs/translations.md: Uzbek is written with the plain apostrophe)."""
    assert "'" in format_money(15_000_000, "uz")
    signs = {
        label: texts["uz"] for label, texts in LABELS.items() if set(texts["uz"]) & set("ʻʼ‘’`")
    }
    assert signs == {}
