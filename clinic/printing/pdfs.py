"""A document as a PDF (:mod:`clinic.pdf`): on A4 or A5 paper, or as long as a receipt roll
of the printer's width. A failed print job's PDF is what the desk prints from the browser."""

from __future__ import annotations

import io

import segno

from clinic.pdf import FAMILY, new_document, to_bytes

FORMATS = ("A4", "A5", "roll")
QR_MM = 30.0
MARGIN_MM = 4.0
ROLL_PROBE_MM = 10_000.0
ROLL_BASE, SHEET_BASE = 8, 11  # font sizes (pt) of a normal line


def render(document: dict, page: str = "A4", *, paper_mm: int = 80, copy: bool = False) -> bytes:
    """The PDF of ``document`` on ``page`` ("A4", "A5" or "roll"); a copy says so on top. A
    roll is exactly as long as what is printed on it."""
    if page == "roll":
        # Laid out once on a roll long enough for anything, then on one cut to its length.
        height = _draw(_roll(paper_mm, ROLL_PROBE_MM), document, ROLL_BASE, copy).get_y()
        pdf = _draw(_roll(paper_mm, height + MARGIN_MM), document, ROLL_BASE, copy)
    else:
        pdf = new_document(page)
        pdf.add_page()
        _draw(pdf, document, SHEET_BASE, copy)
    return to_bytes(pdf)


def _roll(paper_mm: int, height: float):
    pdf = new_document((float(paper_mm), height))
    pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    return pdf


def _draw(pdf, document: dict, base: int, copy: bool):
    pdf.set_title(document["title"])
    width = pdf.epw
    if copy:
        pdf.set_font(FAMILY, "B", base + 4)
        pdf.cell(width, 8, "КОПИЯ / COPY", align="C", new_x="LMARGIN", new_y="NEXT")
    for block in document["blocks"]:
        kind = block["t"]
        if kind == "text":
            size = block["size"]
            pdf.set_font(FAMILY, "B" if block["bold"] else "", base * (size if size < 4 else 3))
            _fit_words(pdf, block["text"], width, base)
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
            _pair(pdf, block["left"], _in_one(block["right"]), width, base)
        elif kind == "rule":
            y = pdf.get_y() + 1
            pdf.line(pdf.l_margin, y, pdf.l_margin + width, y)
            pdf.set_y(y + 1)
        else:  # "qr"
            image = io.BytesIO()
            segno.make(block["data"], error="m").save(image, kind="png", scale=6, border=2)
            image.seek(0)
            side = min(QR_MM, width)
            if pdf.will_page_break(side):
                pdf.add_page()
            pdf.image(image, x=pdf.l_margin + (width - side) / 2, w=side, h=side)
    return pdf


def _fit_words(pdf, text: str, width: float, base: int) -> None:
    """Large letters made smaller (not below ``base``) until the widest word of ``text``
    fits the line: a ticket's number such as "ШЖ-1234" on a 58 mm roll is printed whole,
    not broken in the middle of its digits."""
    room = width - 2 * pdf.c_margin
    widest = max(text.split(), key=pdf.get_string_width, default="")
    while pdf.font_size_pt > base and pdf.get_string_width(widest) > room:
        pdf.set_font_size(pdf.font_size_pt - 1)


def _in_one(value: str | list[str]) -> str:
    """A pair's value as one text: a text as it is, a name in each language (a ticket's
    department) joined with " / " as typed ("Терапия / Terapiya"), one the same as one
    before it said once (a department named in Russian only)."""
    return value if isinstance(value, str) else " / ".join(dict.fromkeys(value))


def _pair(pdf, left: str, right: str, width: float, base: int) -> None:
    """A label and its value side by side, each wrapped in its own column; the value gets the
    room a number or a code needs, and goes under its label when that leaves the label none."""
    pdf.set_font(FAMILY, "", base)
    line = pdf.font_size * 1.5
    value_width = max(width * 0.45, pdf.get_string_width(right) + 2 * pdf.c_margin + 0.01)
    if value_width > width * 0.7:  # one under the other, each the full width
        columns = [(width, left, "L", "NEXT"), (width, right, "R", "NEXT")]
    else:
        columns = [(width - value_width, left, "L", "TOP"), (value_width, right, "R", "TOP")]
    heights = [
        pdf.multi_cell(w, line, value, align=align, dry_run=True, output="HEIGHT")
        for w, value, align, _ in columns
    ]
    height = sum(heights) if columns[0][3] == "NEXT" else max(heights)
    if pdf.will_page_break(height):
        pdf.add_page()
    top = pdf.get_y()
    for w, value, align, new_y in columns:
        pdf.multi_cell(w, line, value, align=align, new_x="RIGHT", new_y=new_y)
        if new_y == "NEXT":
            pdf.set_x(pdf.l_margin)
    pdf.set_xy(pdf.l_margin, top + height)
