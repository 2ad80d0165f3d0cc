"""The shared PDF document writes Cyrillic and Uzbek text that a PDF reader gets back."""

from __future__ import annotations

import io

from pypdf import PdfReader

from clinic.pdf import new_document, to_bytes


def test_a_document_carries_russian_and_uzbek_text_in_its_page_size():
    document = new_document("A5")
    document.add_page()
    document.set_font("DejaVu", "B", 14)
    document.cell(text="Квитанция · Toʻlov · 150 000 сум")
    reader = PdfReader(io.BytesIO(to_bytes(document)))
    page = reader.pages[0]
    assert "Квитанция · Toʻlov · 150 000 сум" in page.extract_text()
    assert round(float(page.mediabox.width) / 72 * 25.4) == 148


def test_a_receipt_roll_is_given_in_millimetres():
    document = new_document((80, 150))
    document.add_page()
    assert (document.w, document.h) == (80, 150)
