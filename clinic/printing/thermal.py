"""ESC/POS bytes for a document, built with python-escpos's ``Dummy`` printer, and sending
them to a network printer on raw TCP.

Cyrillic goes through the printer's code page (CP866 unless the printer is set otherwise):
the code page is selected first (``ESC t``) and every text is encoded in it. Uzbek ʻ (U+02BB)
is in no common code page and prints as "'". The bytes of a job are kept; a reprint sends
the same bytes after a "КОПИЯ / COPY" heading.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from clinic.printing.templates import COPY_MARK

# Characters of the font A line on each paper width.
COLUMNS = {58: 32, 80: 48}
# What the code pages lack, as the nearest character they have.
REPLACEMENTS = str.maketrans({"ʻ": "'", "ʼ": "'", "‘": "'", "’": "'", "«": '"', "»": '"', "—": "-"})
QR_SIZE = 6

if TYPE_CHECKING:
    from escpos.printer import Dummy


def printable(value: str) -> str:
    """``value`` with the characters no code page has replaced by ones it has."""
    return value.translate(REPLACEMENTS)


def _printer(profile: str, code_page: str) -> Dummy:
    # Imported here, as PDFs import fpdf2: only the processes that print need python-escpos
    # and what it brings (qrcode, barcode, USB and CUPS back ends).
    from escpos.printer import Dummy

    printer = Dummy(profile=profile or "default")
    printer.hw("INIT")
    printer.charcode(code_page or "CP866")
    return printer


def _pair(left: str, right: str, columns: int) -> str:
    room = columns - len(right) - 1
    if room < 8:  # the value does not fit beside its label: two lines
        return f"{left}\n{right.rjust(columns)}"
    return f"{left[:room].ljust(room)} {right}"


def render(document: dict, *, profile: str = "default", code_page: str = "CP866", paper_mm=80):
    """The ESC/POS bytes that print ``document`` (see :mod:`clinic.printing.documents`)."""
    columns = COLUMNS.get(paper_mm, 48)
    printer = _printer(profile, code_page)
    for block in document["blocks"]:
        kind = block["t"]
        if kind == "text":
            size = block["size"]
            printer.set(
                align=block["align"],
                bold=block["bold"],
                custom_size=size > 1,
                width=size,
                height=size,
            )
            printer.text(printable(block["text"]) + "\n")
            printer.set_with_default()
        elif kind == "pair":
            printer.text(printable(_pair(block["left"], block["right"], columns)) + "\n")
        elif kind == "rule":
            printer.text("-" * columns + "\n")
        else:  # "qr": the printer draws it (GS ( k), centred
            printer.set(align="center")
            printer.qr(block["data"], size=QR_SIZE, native=True)
            printer.set_with_default()
    printer.cut()
    return printer.output


def with_copy_mark(payload: bytes, *, profile: str = "default", code_page: str = "CP866") -> bytes:
    """The same bytes, after a bold centred "КОПИЯ / COPY" heading: a reprint."""
    printer = _printer(profile, code_page)
    printer.set(align="center", bold=True, double_height=True, double_width=True)
    printer.text(COPY_MARK + "\n")
    printer.set_with_default()
    return printer.output + payload


def send(host: str, port: int, payload: bytes, *, timeout: float) -> None:
    """Send ``payload`` to the printer at ``host:port`` over raw TCP; raises ``OSError`` when
    it cannot be reached or the connection breaks."""
    with socket.create_connection((host, port), timeout=timeout) as connection:
        connection.sendall(payload)
        connection.shutdown(socket.SHUT_WR)
