"""What a fiscal receipt of an invoice carries: its lines with IKPU/MXIK and package codes,
VAT and the discount spread over them (PROTOCOLS.md, "Fiscal detail")."""

from __future__ import annotations

from clinic.payments.models import Invoice


def receipt_detail(invoice: Invoice) -> dict:
    """The fiscal receipt of an invoice as Payme prints it: one item per invoice line, with
    its IKPU and package code.

    ``price`` is the line's amount (unit price times count) in tiyin; an invoice-level
    discount is shown on the lines it came from, in proportion, so the items add up to what
    is paid.
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
            "price": line.amount,
            "count": line.quantity,
            "code": line.ikpu_code,
            "units": None,
            "vat_percent": line.vat_percent,
            "package_code": line.package_code,
        }
        if share:
            item["discount"] = share
        items.append(item)
    return {"receipt_type": 0, "items": items}
