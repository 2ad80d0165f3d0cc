"""A document as a PDF (:mod:`clinic.pdf`): on A4 or A5 paper, or as long as a receipt roll
of the printer's width. A failed print job's PDF is what the desk prints from the browser."""

from __future__ import annotations

import io

import segno

from clinic.pdf import FAMILY, new_document, to_bytes

FORMATS = ("A4", "A5", "roll")
LINE_MM = 5.0
QR_MM = 30.0
MARGIN_MM = 4.0


def _roll_height(document: dict) -> float:
    height = 2 * MARGIN_MM + 12
    for block in document["blocks"]:
        height += QR_MM + 2 if block["t"] == "qr" else LINE_MM * max(1, block.get("size", 1))
        height += LINE_MM * 2 * (len(block.get("text", "")) // 40)
    return height


def render(document: dict, page: str = "A4", *, paper_mm: int = 80, copy: bool = False) -> bytes:
    """The PDF of ``document`` on ``page`` ("A4", "A5" or "roll"); a copy says so on top."""
    if page == "roll":
        pdf = new_document((float(paper_mm), _roll_height(document) + (8 if copy else 0)))
        pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
        pdf.set_auto_page_break(auto=False)
        base = 8
    else:
        pdf = new_document(page)
        base = 11
    pdf.set_title(document["title"])
    pdf.add_page()
    width = pdf.epw
    if copy:
        pdf.set_font(FAMILY, "B", base + 4)
        pdf.cell(width, 8, "КОПИЯ / COPY", align="C", new_x="LMARGIN", new_y="NEXT")
    for block in document["blocks"]:
        kind = block["t"]
        if kind == "text":
            size = block["size"]
            pdf.set_font(FAMILY, "B" if block["bold"] else "", base * (size if size < 4 else 3))
            align = {"left": "L", "center": "C", "right": "R"}[block["align"]]
            pdf.multi_cell(
                width,
                pdf.font_size * 1.4,
                block["text"],
                align=align,
                new_x="LMARGIN",
                new_y="NEXT",
            )
        elif kind == "pair":
            pdf.set_font(FAMILY, "", base)
            height = pdf.font_size * 1.5
            pdf.cell(width * 0.55, height, block["left"])
            pdf.multi_cell(
                width * 0.45, height, block["right"], align="R", new_x="LMARGIN", new_y="NEXT"
            )
        elif kind == "rule":
            y = pdf.get_y() + 1
            pdf.line(pdf.l_margin, y, pdf.l_margin + width, y)
            pdf.set_y(y + 1)
        else:  # "qr"
            image = io.BytesIO()
            segno.make(block["data"], error="m").save(image, kind="png", scale=6, border=2)
            image.seek(0)
            side = min(QR_MM, width)
            pdf.image(image, x=pdf.l_margin + (width - side) / 2, w=side, h=side)
    return to_bytes(pdf)
