"""The shared PDF document writes Cyrillic and Uzbek text that a PDF reader gets back."""

from __future__ import annotations

import io
from datetime import datetime, timezone

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


def test_documents_made_one_after_another_share_no_fonts_state():
    """Each document's fonts are its own: writing a PDF cuts its fonts down to the glyphs it
    used, in place, so fonts shared between documents (read once to save their 45 ms) would
    leave the next document without glyphs. The next one is as it would be alone."""
    when = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)

    def written(text: str) -> bytes:
        document = new_document((80, 120))
        document.set_creation_date(when)
        document.add_page()
        document.cell(text=text)
        document.set_font("DejaVu", "B", 12)
        document.cell(text=text)
        return to_bytes(document)

    alone = written("Талон K-001")
    written("Ёжик · Oʻzbekiston · Ğğ · 1 234 567 сум")
    assert written("Талон K-001") == alone
    assert "Талон K-001" in PdfReader(io.BytesIO(alone)).pages[0].extract_text()
