"""What each printed document says, as data: a list of blocks that the thermal printer
(:mod:`clinic.printing.thermal`) and the PDF (:mod:`clinic.printing.pdfs`) both render.

A block is a dict: ``{"t": "text", "text", "align", "bold", "size"}`` (size 1 normal, 2
double, 4 the ticket's big number), ``{"t": "pair", "left", "right"}`` (a label and a value
on one line), ``{"t": "rule"}`` and ``{"t": "qr", "data"}``. Builders take plain values, so
the documents are checked without a database.

A pair's value is a text, or a name in each of the document's languages (a ticket's
department): each renderer writes those as it writes any text and joins them with " / ", a
name that then reads as one before it said once (a printer without Cyrillic spells Терапия
as Terapiya, the Uzbek name, and prints Terapiya once). A document stored with one text
there prints as it did.
"""

from __future__ import annotations

from clinic.money import format_money
from clinic.payments.models import InvoiceStatus
from clinic.printing.templates import say


def text(value: str, *, align: str = "left", bold: bool = False, size: int = 1) -> dict:
    return {"t": "text", "text": value, "align": align, "bold": bold, "size": size}


def pair(left: str, right: str | list[str]) -> dict:
    return {"t": "pair", "left": left, "right": right}


RULE = {"t": "rule"}


def qr(data: str) -> dict:
    return {"t": "qr", "data": data}


def document(kind: str, title: str, blocks: list[dict], languages) -> dict:
    return {"kind": kind, "title": title, "languages": list(languages), "blocks": blocks}


def _money(tiyin: int, languages) -> str:
    return format_money(tiyin, languages[0])


def _header(clinic: dict) -> list[dict]:
    blocks = [text(clinic.get("legal_name") or "", align="center", bold=True)]
    if clinic.get("address"):
        blocks.append(text(clinic["address"], align="center"))
    return blocks


def ticket(data: dict, languages) -> dict:
    """A queue ticket: clinic, the big number, department, room, time, people ahead and a QR
    code of the patient's own page. ``data``: clinic, code, department (by language), room,
    issued_at (clinic time, text), ahead, url."""
    blocks = _header(data["clinic"])
    blocks += [
        RULE,
        text(say("ticket", languages), align="center"),
        text(data["code"], align="center", bold=True, size=4),
        pair(say("department", languages), list(data["department"])),
    ]
    if data.get("room"):
        blocks.append(pair(say("room", languages), data["room"]))
    blocks += [
        pair(say("issued", languages), data["issued_at"]),
        pair(say("ahead", languages), str(data["ahead"])),
        RULE,
        qr(data["url"]),
        text(say("follow", languages), align="center"),
    ]
    return document("ticket", data["code"], blocks, languages)


def _requisites(clinic: dict, languages) -> list[dict]:
    blocks = _header(clinic)
    if clinic.get("taxpayer_number"):
        blocks.append(pair(say("taxpayer", languages), clinic["taxpayer_number"]))
    return blocks


def _fiscal(fiscal: dict | None, languages) -> list[dict]:
    if not fiscal:
        return [RULE, text(say("not_fiscal", languages), align="center", bold=True)]
    blocks = [RULE, text(say("fiscal_receipt", languages), align="center", bold=True)]
    if fiscal.get("terminal_id"):
        blocks.append(pair(say("terminal", languages), str(fiscal["terminal_id"])))
    if fiscal.get("receipt_id"):
        blocks.append(pair(say("number", languages), str(fiscal["receipt_id"])))
    if fiscal.get("fiscal_sign"):
        blocks.append(pair(say("fiscal_sign", languages), str(fiscal["fiscal_sign"])))
    if fiscal.get("qr_code_url") and isinstance(fiscal["qr_code_url"], str):
        # Stored as Payme sent it: a QR code of anything but a text would fail the receipt.
        blocks.append(qr(fiscal["qr_code_url"]))
    return blocks


def says_fiscal(document: dict) -> bool:
    """Whether a receipt ``document`` is a fiscal receipt (carries Payme's fiscal data)."""
    heading = say("fiscal_receipt", document["languages"])
    return any(block["t"] == "text" and block["text"] == heading for block in document["blocks"])


def with_fiscal(document: dict, fiscal: dict) -> dict:
    """A receipt ``document`` printed as not fiscal, with the fiscal data that came after it
    (Payme's SetFiscalData): its "not fiscal" part gives way to the fiscal receipt's
    terminal, number, sign and QR; every other line stays as it was printed (the same
    cashier, the same time). A document without that part is answered as it is."""
    languages = document["languages"]
    not_fiscal = say("not_fiscal", languages)
    blocks = list(document["blocks"])
    at = next(
        (i for i, b in enumerate(blocks) if b["t"] == "text" and b["text"] == not_fiscal), None
    )
    if at is None:
        return document
    start = at - 1 if at and blocks[at - 1]["t"] == "rule" else at
    blocks[start : at + 1] = _fiscal(fiscal, languages)
    return {**document, "blocks": blocks}


def _for_whom(data: dict, languages) -> list[dict]:
    """The patient, doctor and visit a receipt is for, those it knows."""
    return [
        pair(say(label, languages), str(data[label]))
        for label in ("patient", "doctor", "visit")
        if data.get(label)
    ]


def receipt(data: dict, languages, heading: str = "receipt") -> dict:
    """A payment receipt with every field PROTOCOLS.md lists: the clinic's legal name,
    address and taxpayer number, terminal or fiscal module, receipt number, date and time,
    each service with its IKPU and package code, quantity, price and VAT, the discount, the
    total, how it was paid (less any part given back before it was paid, so the lines add
    up to the paid amount), the fiscal sign and QR when the payment is fiscal ("not fiscal"
    said when it is not), and the patient, doctor, visit and cashier."""
    money = lambda tiyin: _money(tiyin, languages)  # noqa: E731 - local shorthand
    blocks = _requisites(data["clinic"], languages)
    blocks += [
        RULE,
        text(f"{say(heading, languages)} № {data['number']}", align="center", bold=True),
        pair(say("date", languages), data["paid_at"]),
    ]
    blocks += _for_whom(data, languages)
    blocks.append(RULE)
    for line in data["lines"]:
        blocks += [
            text(_line_title(line, languages), bold=True),
            pair(f"{line['quantity']} x {money(line['unit_price'])}", money(line["amount"])),
            pair(say("ikpu", languages), line["ikpu_code"] or "-"),
            pair(say("package", languages), line["package_code"] or "-"),
            pair(f"{say('vat', languages)} {line['vat_percent']}%", money(line["vat"])),
        ]
    blocks.append(RULE)
    if data["discount"]:
        blocks.append(pair(say("discount", languages), "-" + money(data["discount"])))
    blocks.append(pair(say("total", languages), money(data["total"])))
    for payment in data["payments"]:
        method = _method(payment["method"], languages)
        blocks.append(pair(method, money(payment["amount"])))
        if payment.get("tendered") is not None:
            # Cash handed over and the change given back, as the desk counted them.
            blocks.append(pair(say("tendered", languages), money(payment["tendered"])))
            blocks.append(pair(say("change", languages), money(payment.get("change") or 0)))
    for given in data.get("refunds") or ():
        # Given back of a part payment before the rest was paid: what is paid is the payments
        # less these, so the receipt adds up.
        blocks += [
            pair(say("refunded", languages), "-" + money(given["amount"])),
            pair(say("method", languages), _method(given["method"], languages)),
            pair(say("date", languages), given["created_at"]),
        ]
    blocks.append(pair(say("paid", languages), money(data["paid_amount"])))
    if heading == "receipt":
        # Printed once the invoice is paid: after receipts of its parts, each with what was
        # still due, this one says nothing is.
        blocks.append(text(say("paid_in_full", languages), align="center", bold=True))
    elif heading == "invoice":
        blocks += _standing(data, languages)
    blocks += _fiscal(data.get("fiscal"), languages)
    if data.get("cashier"):
        blocks.append(pair(say("cashier", languages), data["cashier"]))
    blocks.append(text(say("thanks", languages), align="center"))
    return document(heading, f"{say(heading, languages)} {data['number']}", blocks, languages)


def payment_receipt(data: dict, languages) -> dict:
    """The receipt of a part of an invoice paid at the desk: the clinic's requisites, its
    number, date and time, the invoice it pays, the patient, doctor and visit, the invoice's
    services and total, what was paid of it before, this payment (how much and how; for cash
    what was handed over and the change), what is paid now and what remains due, that it is
    not fiscal, and the cashier. The payment that settles the invoice has the full
    :func:`receipt` (every line with its codes and VAT) instead."""
    money = lambda tiyin: _money(tiyin, languages)  # noqa: E731 - local shorthand
    heading = say("payment_receipt", languages)
    blocks = _requisites(data["clinic"], languages)
    blocks += [
        RULE,
        text(f"{heading} № {data['number']}", align="center", bold=True),
        pair(say("date", languages), data["paid_at"]),
        pair(say("invoice", languages), data["invoice"]),
    ]
    blocks += _for_whom(data, languages)
    blocks.append(RULE)
    for line in data["lines"]:
        blocks += [
            text(_line_title(line, languages)),
            pair(f"{line['quantity']} x {money(line['unit_price'])}", money(line["amount"])),
        ]
    blocks.append(RULE)
    if data["discount"]:
        blocks.append(pair(say("discount", languages), "-" + money(data["discount"])))
    payment = data["payment"]
    blocks += [
        pair(say("total", languages), money(data["total"])),
        pair(say("paid_before", languages), money(data["paid_before"])),
        pair(say("this_payment", languages), money(payment["amount"])),
        pair(say("method", languages), _method(payment["method"], languages)),
    ]
    if payment.get("tendered") is not None:
        blocks.append(pair(say("tendered", languages), money(payment["tendered"])))
        blocks.append(pair(say("change", languages), money(payment.get("change") or 0)))
    blocks += [
        pair(say("paid", languages), money(data["paid_amount"])),
        pair(say("amount_due", languages), money(data["amount_due"])),
    ]
    blocks += _fiscal(None, languages)
    if data.get("cashier"):
        blocks.append(pair(say("cashier", languages), data["cashier"]))
    blocks.append(text(say("thanks", languages), align="center"))
    return document("payment", f"{heading} {data['number']}", blocks, languages)


def _line_title(line: dict, languages) -> str:
    """The line's service in the receipt's first language, as it writes its money; its own
    (Russian) title when the line has no names by language."""
    return (line.get("titles") or {}).get(languages[0]) or line["title"]


METHODS = ("cash", "card", "payme", "click")


def _method(method: str, languages) -> str:
    """A payment method in the receipt's languages (a webhook sender by its own name)."""
    return say(method, languages) if method in METHODS else method


def refund(data: dict, languages) -> dict:
    """A refund receipt: the invoice, the amount returned, why, when and by whom."""
    blocks = _requisites(data["clinic"], languages)
    blocks += [
        RULE,
        text(f"{say('refund_receipt', languages)} № {data['number']}", align="center", bold=True),
        pair(say("date", languages), data["created_at"]),
        pair(say("refunded", languages), _money(data["amount"], languages)),
    ]
    if data.get("method"):  # cash from the drawer, or back to the card
        blocks.append(pair(say("method", languages), _method(data["method"], languages)))
    blocks += [
        pair(say("reason", languages), data["reason"]),
        pair(say("cashier", languages), data["actor"]),
    ]
    blocks += _fiscal(None, languages)
    return document(
        "refund", f"{say('refund_receipt', languages)} {data['number']}", blocks, languages
    )


def shift(data: dict, languages) -> dict:
    """The cashier's shift (Z) slip: when it was open, the cash and card taken and given back
    (the Z report's figures), the cash expected, counted and the difference."""
    money = lambda tiyin: _money(tiyin or 0, languages)  # noqa: E731 - local shorthand
    blocks = _requisites(data["clinic"], languages)
    blocks += [
        RULE,
        text(f"{say('shift_report', languages)} № {data['id']}", align="center", bold=True),
        pair(say("cashier", languages), data["cashier"]),
        pair(say("opened", languages), data["opened_at"]),
        pair(say("closed", languages), data["closed_at"]),
        pair(say("opening_cash", languages), money(data["opening_cash"])),
        pair(say("cash_taken", languages), money(data["cash_taken"])),
        pair(say("card_taken", languages), money(data["card_taken"])),
        pair(say("cash_refunded", languages), money(data["cash_refunded"])),
        pair(say("card_refunded", languages), money(data["card_refunded"])),
        pair(say("expected_cash", languages), money(data["expected_cash"])),
        pair(say("counted_cash", languages), money(data["counted_cash"])),
        pair(say("discrepancy", languages), money(data["discrepancy"])),
    ]
    return document("shift", f"Z {data['id']}", blocks, languages)


def test_page(printer_name: str, now: str, languages) -> dict:
    """What the test-print button prints: the printer's name and Cyrillic and Uzbek text."""
    blocks = [
        text(say("test_page", languages), align="center", bold=True, size=2),
        text(printer_name, align="center"),
        text(now, align="center"),
        text("АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ абвгдеёжзийклмнопрстуфхцчшщъыьэюя"),
        text("Oʻzbekiston, gʻalaba, qoʻl"),
    ]
    return document("test", say("test_page", languages), blocks, languages)


def visit_slip(data: dict, languages) -> dict:
    """The visit slip (A4 or A5 PDF): patient, doctor, department, room and time."""
    blocks = _requisites(data["clinic"], languages)
    blocks += [
        RULE,
        text(f"{say('visit_slip', languages)} № {data['number']}", align="center", bold=True),
        pair(say("patient", languages), data["patient"]),
        pair(say("doctor", languages), data["doctor"]),
        pair(say("department", languages), data["department"]),
        pair(say("room", languages), data["room"] or "-"),
        pair(say("when", languages), data["starts_at"]),
    ]
    return document(
        "visit_slip", f"{say('visit_slip', languages)} {data['number']}", blocks, languages
    )


def invoice(data: dict, languages) -> dict:
    """The invoice (A4 or A5 PDF): the receipt's lines and totals, for an unpaid one too, and
    under what is paid what became of it (see :func:`_standing`). ``data``: a receipt's, with
    the invoice's ``status`` and ``refunded_amount``."""
    return receipt({**data, "paid_at": data.get("paid_at") or "-"}, languages, "invoice")


def _standing(data: dict, languages) -> list[dict]:
    """What became of an invoice, so that its paper does not pass for one to pay or one paid:
    cancelled says so; given back after it was paid, how much (the invoice's refunded
    amount: what was given back while it was open is already listed beside the payments and
    taken off what is paid), and "in full" when all of it was; part paid and still open, what
    remains due. A paid invoice, or an open one nothing was paid of, says nothing more."""
    status = data["status"]
    if status == InvoiceStatus.CANCELLED:
        return [text(say("cancelled", languages), align="center", bold=True)]
    if status in (InvoiceStatus.PARTLY_REFUNDED, InvoiceStatus.REFUNDED):
        given = [pair(say("refunded", languages), "-" + _money(data["refunded_amount"], languages))]
        if status == InvoiceStatus.REFUNDED:
            given.append(text(say("refunded_in_full", languages), align="center", bold=True))
        return given
    if status == InvoiceStatus.OPEN and data["paid_amount"] > 0:
        due = data["total"] - data["paid_amount"]
        return [pair(say("amount_due", languages), _money(due, languages))]
    return []
