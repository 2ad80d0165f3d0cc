"""ESC/POS bytes for a document, built with python-escpos's ``Dummy`` printer, and sending
them to a network printer on raw TCP.

The printer's code page (CP866 unless the printer is set otherwise) is selected first
(``ESC t``) and every text is encoded in it, as :mod:`clinic.printing.thermal_text` writes
it for that page. Texts are wrapped at word boundaries to the paper's width (32 characters a
line on 58 mm, 48 on 80 mm, or what the printer profile says its line holds when that is
less). The bytes of a job are kept; a reprint sends the same bytes after a "КОПИЯ / COPY"
heading.
"""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING

from clinic.printing.templates import COPY_MARK
from clinic.printing.thermal_text import printable, said_once, wrap

# Characters of the font A line on each paper width.
COLUMNS = {58: 32, 80: 48}
QR_SIZE = 6

if TYPE_CHECKING:
    from escpos.printer import Dummy


def _printer(profile: str, code_page: str) -> Dummy:
    # Imported here, as PDFs import fpdf2: only the processes that print need python-escpos
    # and what it brings (qrcode, barcode, USB and CUPS back ends).
    from escpos.printer import Dummy

    printer = Dummy(profile=profile or "default")
    printer.hw("INIT")
    printer.charcode(code_page or "CP866")
    return printer


def setup_errors(profile: str, code_page: str) -> dict[str, list[str]]:
    """What keeps a printer with this python-escpos ``profile`` and ``code_page`` from
    printing (by field), empty when it prints."""
    from escpos.capabilities import CAPABILITIES

    if profile not in CAPABILITIES["profiles"]:
        return {"profile": ["not a python-escpos printer profile: default fits most printers"]}
    try:
        _printer(profile, code_page)
    except (KeyError, LookupError, ValueError):
        return {"code_page": [f"the {profile} profile has no {code_page}"]}
    return {}


def _pair(left: str, right: str, columns: int) -> str:
    room = columns - len(right) - 1
    if len(left) <= room and "\n" not in right:
        return f"{left.ljust(room)} {right}"
    # The value does not fit beside its label (or is lines of its own): the label, then the
    # value on the right.
    lines = wrap(left, columns) + [line.rjust(columns) for line in wrap(right, columns) if line]
    return "\n".join(lines)


def columns_of(profile: str, paper_mm) -> int:
    """Characters of a font A line: the paper's, or fewer when the printer profile knows its
    print head is narrower (an Epson TM-T88V prints 42 on 80 mm paper: a line of 48 would
    break on the paper wherever the printer runs out of room)."""
    from escpos.capabilities import CAPABILITIES

    columns = COLUMNS.get(paper_mm, 48)
    known = CAPABILITIES["profiles"].get(profile or "default", {})
    head = known.get("media", {}).get("width", {}).get("pixels")
    line = known.get("fonts", {}).get("0", {}).get("columns")
    # A profile of a real model (its head's width known), with a line a letter of at most 24
    # dots fills (one profile's 12 letters on 576 dots are a slip of its data).
    if isinstance(head, int) and isinstance(line, int) and line * 24 >= head:
        columns = min(columns, line)
    return columns


def _qr(printer: Dummy, data: str) -> None:
    """The QR code of ``data``: drawn by the printer (``GS ( k``), or sent as a picture to a
    printer whose profile has no QR command (the common 58 mm ones: POS-5890, ZJ-5870),
    which would print nothing of it, at most as wide as its head."""
    if printer.profile.supports("qrCode") or not printer.profile.supports("bitImageRaster"):
        printer.qr(data, size=QR_SIZE, native=True)
        return
    import qrcode
    from qrcode.exceptions import DataOverflowError

    code = qrcode.QRCode(border=1)
    code.add_data(data)
    try:
        code.make(fit=True)
    except (DataOverflowError, ValueError):  # more than a QR code holds: none to draw
        return
    head = printer.profile.profile_data["media"]["width"]["pixels"]
    known = isinstance(head, int)
    size = max(1, min(QR_SIZE, head // (code.modules_count + 2))) if known else QR_SIZE
    printer.qr(data, size=size, native=False, center=known)


def _fitting_width(value: str, columns: int, size: int) -> int:
    """How wide (1 to ``size`` times) the letters of ``value`` are printed: ``size`` times,
    narrower when a word of it would not fit on a line of letters that wide (a ticket's
    number spelled in Latin letters, "O'QG'-123", is nine letters where four-times-wide
    letters hold eight on 58 mm): the word is printed whole, as tall, never cut."""
    longest = max((len(word) for word in value.split()), default=0)
    width = size
    while width > 1 and longest > columns // width:
        width -= 1
    return width


def render(document: dict, *, profile: str = "default", code_page: str = "CP866", paper_mm=80):
    """The ESC/POS bytes that print ``document`` (see :mod:`clinic.printing.documents`)."""
    columns = columns_of(profile, paper_mm)
    printer = _printer(profile, code_page)
    # A label in Russian and Uzbek, or a name in each (a ticket's department), is said once
    # on a page where both read the same.
    languages = document.get("languages", ())
    for block in document["blocks"]:
        kind = block["t"]
        if kind == "text":
            size = block["size"]
            value = said_once(block["text"], code_page, languages)
            width = _fitting_width(value, columns, size)
            printer.set(
                align=block["align"],
                bold=block["bold"],
                custom_size=size > 1,
                width=width,
                height=size,
            )
            # Wrapped here, between words: a line of letters ``width`` times as wide holds
            # ``width`` times fewer of them (a heading of the test page on 58 mm).
            printer.text("\n".join(wrap(value, columns // width)) + "\n")
            printer.set_with_default()
        elif kind == "pair":
            left = said_once(block["left"], code_page, languages)
            right = said_once(block["right"], code_page, languages)
            printer.text(_pair(left, right, columns) + "\n")
        elif kind == "rule":
            printer.text("-" * columns + "\n")
        else:  # "qr", centred
            printer.set(align="center")
            _qr(printer, block["data"])
            printer.set_with_default()
    printer.cut()
    return printer.output


def with_copy_mark(payload: bytes, *, profile: str = "default", code_page: str = "CP866") -> bytes:
    """The same bytes, after a bold centred "КОПИЯ / COPY" heading: a reprint."""
    printer = _printer(profile, code_page)
    printer.set(align="center", bold=True, double_height=True, double_width=True)
    printer.text(printable(COPY_MARK, code_page) + "\n")
    printer.set_with_default()
    return printer.output + payload


class JobInterrupted(OSError):
    """The printer took the connection but not the whole job in time (it hung, or closed the
    connection mid-job): some or all of it may be on paper already."""


# The real-time question of the roll paper sensor (DLE EOT 4). A printer answers it as soon
# as it reads it, even offline, with one byte: bits 1 and 4 set, bits 0 and 7 clear, and bits
# 5 and 6 set when the paper has run out. A printer that does not know it ignores it.
PAPER_STATUS = b"\x10\x04\x04"
OUT_OF_PAPER = "out of paper"


def _paper_answer(byte: int) -> bool:
    return byte & 0x93 == 0x12


def _paper_out(answer: bytes) -> bool:
    return any(_paper_answer(byte) and byte & 0x60 == 0x60 for byte in answer)


class OutOfPaper(JobInterrupted):
    """The printer read the job with its paper run out: nothing of it came out, though the
    printer may keep it and print it once paper is in."""


class NoPaperYet(OSError):
    """The printer, asked before the job, says its paper is still out: nothing was sent."""


def describe(error: OSError) -> str:
    """What went wrong, for the printer's and the job's ``last_error``."""
    if isinstance(error, (OutOfPaper, NoPaperYet)):
        return OUT_OF_PAPER
    cause = error.__cause__ if isinstance(error, JobInterrupted) and error.__cause__ else error
    text = f"{type(cause).__name__}: {cause}"
    return f"{text} (after connecting)" if isinstance(error, JobInterrupted) else text


# What went wrong, as a code the printers page and the desks say in their language (a last
# error is the system's own English words).
FAILURES = ("out_of_paper", "broke_off", "refused", "no_answer", "unknown_host", "unreachable")
_FAILURE_OF = (
    ("ConnectionRefusedError", "refused"),
    ("TimeoutError", "no_answer"),
    ("gaierror", "unknown_host"),
    ("OSError: not a host name", "unknown_host"),
)


def failure(last_error: str) -> str | None:
    """The kind of ``last_error`` (as :func:`describe` wrote it), one of :data:`FAILURES`;
    None when there is none."""
    if not last_error:
        return None
    if last_error == OUT_OF_PAPER:
        return "out_of_paper"
    if last_error.endswith("(after connecting)"):
        return "broke_off"
    return next(
        (code for start, code in _FAILURE_OF if last_error.startswith(start)), "unreachable"
    )


def _read(connection: socket.socket, deadline: float, *, until_paper: bool) -> bytes:
    """What the printer sends until it closes its end (or, ``until_paper``, until it has
    answered the paper question), before ``deadline``."""
    answer = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the printer did not finish reading the job")
        connection.settimeout(remaining)
        chunk = connection.recv(1024)
        answer += chunk
        if not chunk or (until_paper and any(_paper_answer(byte) for byte in chunk)):
            return answer


def send(
    host: str, port: int, payload: bytes, *, timeout: float, paper_first: bool = False
) -> None:
    """Send ``payload`` to the printer at ``host:port`` over raw TCP, then ask it whether
    it has paper, and wait, ``timeout`` seconds at most, for the printer to close its end: it
    has read the whole job then. Raises ``OSError`` when it cannot be reached,
    :class:`OutOfPaper` when it answers that its paper has run out, and
    :class:`JobInterrupted` when it answered but hung or broke the connection before taking
    everything. ``paper_first`` (a printer that ran out of paper): the paper is asked about
    before the job, which is not sent while it is still out (:class:`NoPaperYet`), so the
    printer does not keep one more copy of the job to print when paper is in."""
    try:
        connection = socket.create_connection((host, port), timeout=timeout)
    except UnicodeError as exc:  # a name the resolver cannot even encode
        raise OSError(f"not a host name: {host!r}") from exc
    with connection:
        if paper_first:
            connection.sendall(PAPER_STATUS)
            answer = _read(connection, time.monotonic() + timeout, until_paper=True)
            if _paper_out(answer):
                raise NoPaperYet(OUT_OF_PAPER)
        try:
            connection.sendall(payload + PAPER_STATUS)
            connection.shutdown(socket.SHUT_WR)
            # A printer closes its end once it has read the job; some send status bytes.
            answer = _read(connection, time.monotonic() + timeout, until_paper=False)
        except OSError as exc:
            raise JobInterrupted(str(exc)) from exc
        if _paper_out(answer):
            raise OutOfPaper(OUT_OF_PAPER)
