"""Words and numbers kept whole on the paper: a receipt's number beside its "№", and a
ticket's big number narrower rather than cut, on the printer and in the PDF."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from clinic.printing import documents, pdfs, thermal
from tests.printing.test_delivery_and_layout import CLINIC, _printed_lines


@pytest.mark.parametrize("code_page", ["CP866", "CP1251"])
def test_a_receipts_number_stays_beside_its_number_sign(code_page):
    # 58 mm: "Чек возврата / Qaytarish cheki №" fills the line; the number goes with its sign.
    values = {"clinic": CLINIC, "number": "26-0000001-R1", "created_at": "02.12.2026 10:00",
              "amount": 5_000_000, "method": "cash", "actor": "Каримова",
              "reason": "-"}  # fmt: skip
    payload = thermal.render(
        documents.refund(values, ("ru", "uz")), paper_mm=58, code_page=code_page
    )
    lines = _printed_lines(payload, code_page.lower())
    assert "№ 26-0000001-R1" in lines and "\xa0" not in "".join(lines)


def test_a_tickets_big_number_is_never_cut_on_58_mm():
    # Letters four times as wide hold 8 on 58 mm; "ЎҚҒ-123" in Latin letters is nine.
    values = {"clinic": CLINIC, "department": ["Терапия"], "room": "1", "ahead": 0,
              "issued_at": "02.12.2026 09:00", "url": "https://clinic.uz/t/x"}  # fmt: skip
    for code, spelled, size in (("ЎҚҒ-123", "O'QG'-123", b"\x23"), ("T-001", "T-001", b"\x33")):
        ticket = documents.ticket({**values, "code": code}, ["ru"])
        payload = thermal.render(ticket, code_page="CP437", paper_mm=58)
        assert spelled in _printed_lines(payload, "cp437")
        # GS ! : as tall as ever (4), narrower only when it would not fit.
        assert b"\x1d!" + size in payload


@pytest.mark.parametrize("paper_mm", [58, 80])
def test_a_tickets_big_number_is_whole_in_its_pdf(paper_mm):
    # The widest Cyrillic letters and four digits: wider than a 58 mm roll in the big type.
    values = {"clinic": CLINIC, "department": ["Терапия"], "room": "1", "ahead": 0,
              "issued_at": "02.12.2026 09:00", "url": "https://clinic.uz/t/x"}  # fmt: skip
    ticket = documents.ticket({**values, "code": "ШЩЖ-1234"}, ["ru"])
    pdf = pdfs.render(ticket, "roll", paper_mm=paper_mm)
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "\nШЩЖ-1234\n" in text
