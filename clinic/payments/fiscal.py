"""What a fiscal receipt of an invoice carries: its lines with IKPU/MXIK, package and unit
of measure codes, VAT and the discount spread over them (PROTOCOLS.md, "Fiscal detail")."""

from __future__ import annotations

import logging

from clinic.payments.models import Invoice

log = logging.getLogger(__name__)


def receipt_detail(invoice: Invoice, paid: int | None = None) -> dict:
    """The fiscal receipt of an invoice as Payme prints it: one item per invoice line, with
    its IKPU and package code, and its unit of measure code (``units``) when it has one.

    ``price`` is the price of one unit in tiyin and ``count`` the quantity, as Payme reads
    them; each item's ``discount`` (for all its units) takes its share of what this payment
    does not cover, so the items add up to what is paid (``paid``, by default the invoice's
    total): the invoice-level discount and, when part was paid another way before (cash at
    the desk, with its own receipt), that part, both shown on the lines in proportion.
    ``units`` is optional in Payme's protocol: the item of a line whose service had no such
    code has no ``units`` key at all, rather than a null or a zero Payme would have to read.
    """
    lines = list(invoice.lines)
    paid = invoice.total if paid is None else paid
    shares = spread(invoice.subtotal - paid, [line.amount for line in lines])
    items = []
    for line, share in zip(lines, shares):
        item = {
            "title": line.title,
            "price": line.unit_price,
            "count": line.quantity,
            "code": line.ikpu_code,
            "vat_percent": line.vat_percent,
            "package_code": line.package_code,
        }
        if line.units is not None:
            item["units"] = line.units
        if share:
            item["discount"] = share
        items.append(item)
    return {"receipt_type": 0, "items": items}


def fiscal_detail(invoice: Invoice, paid: int | None = None) -> dict | None:
    """:func:`receipt_detail`, when every item carries its IKPU (17 digits) and package
    code; else none (with a warning in the log). Payme fiscalises each item by those codes:
    an item without them makes a receipt the tax office refuses, while the detail itself is
    optional (Payme then prints no fiscal receipt of ours until the price list has them)."""
    detail = receipt_detail(invoice, paid)
    complete = all(
        str(item.get("code") or "").isdigit()
        and len(str(item["code"])) == 17
        and item.get("package_code")
        for item in detail["items"]
    )
    if not complete:
        log.warning(
            "invoice %s: a service lacks its IKPU or package code; no fiscal detail", invoice.id
        )
        return None
    return detail


def spread(reduction: int, amounts: list[int]) -> list[int]:
    """``reduction`` shared over lines of these ``amounts`` in proportion, in whole tiyin, no
    line's share above its amount; what rounding leaves goes to the last lines that can
    take it."""
    whole = sum(amounts)
    reduction = max(0, min(reduction, whole))
    if not whole:
        return [0] * len(amounts)
    shares = [reduction * amount // whole for amount in amounts]
    left = reduction - sum(shares)
    for index in reversed(range(len(amounts))):
        extra = min(left, amounts[index] - shares[index])
        shares[index] += extra
        left -= extra
    return shares


def vat_in(amount: int, percent: int) -> int:
    """The VAT included in ``amount`` (tiyin), rounded half up to the tiyin: prices are
    with VAT, so it is ``amount * percent / (100 + percent)``."""
    return (2 * amount * percent + 100 + percent) // (2 * (100 + percent))
