"""What a fiscal receipt of an invoice carries: its lines with IKPU/MXIK and package codes,
VAT and the discount spread over them (PROTOCOLS.md, "Fiscal detail")."""

from __future__ import annotations

from clinic.payments.models import Invoice


def receipt_detail(invoice: Invoice) -> dict:
    """The fiscal receipt of an invoice as Payme prints it: one item per invoice line, with
    its IKPU and package code.

    ``price`` is the price of one unit in tiyin and ``count`` the quantity, as Payme reads
    them; an invoice-level discount is shown on the lines it came from, in proportion (each
    item's ``discount`` is for all its units), so the items add up to what is paid. ``units``
    (a unit-of-measure code) is left out: the price list does not keep one.
    """
    items = []
    lines = list(invoice.lines)
    discount_left = invoice.discount
    for index, line in enumerate(lines):
        if index == len(lines) - 1:
            share = discount_left
        else:
            share = invoice.discount * line.amount // invoice.subtotal if invoice.subtotal else 0
        discount_left -= share
        item = {
            "title": line.title,
            "price": line.unit_price,
            "count": line.quantity,
            "code": line.ikpu_code,
            "vat_percent": line.vat_percent,
            "package_code": line.package_code,
        }
        if share:
            item["discount"] = share
        items.append(item)
    return {"receipt_type": 0, "items": items}
