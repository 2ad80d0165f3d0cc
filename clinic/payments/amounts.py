"""Amounts and lines: whole tiyin, what is still due, and invoice lines copied from the
price list (a later price change does not touch an issued invoice)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.base import is_id
from clinic.errors import NotFound, ValidationFailed
from clinic.payments.models import Invoice, InvoiceLine
from clinic.payments.models import InvoiceStatus as S
from clinic.reference.models import Service
from clinic.visits.models import VisitService

MAX_LINES = 100
MAX_QUANTITY = 1000
# The largest amount of one payment or refund, and so of an invoice: ten trillion UZS.
MAX_AMOUNT = 10**15


def whole_tiyin(value, field: str, *, positive: bool = False) -> int:
    """``value`` as an amount of tiyin, or ValidationFailed naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(
            f"{field} is a whole number of tiyin", errors={field: ["whole tiyin"]}
        )
    if value < 0 or (positive and value == 0) or value > MAX_AMOUNT:
        raise ValidationFailed(f"{field} is out of range", errors={field: ["out of range"]})
    return value


def amount_due(invoice: Invoice) -> int:
    """Tiyin still to pay: nothing unless the invoice is open."""
    if invoice.status != S.OPEN:
        return 0
    return invoice.total - invoice.paid_amount


def lines_from_price_list(
    session: Session, lines, visit_id: int | None = None
) -> list[InvoiceLine]:
    """Invoice lines priced from the price list. A service dropped from it (inactive) is
    invoiced only for the visit ``visit_id`` booked with it before: the patient came for it."""
    if not isinstance(lines, list) or not lines:
        raise ValidationFailed("an invoice needs lines", errors={"lines": ["at least one line"]})
    if len(lines) > MAX_LINES:
        raise ValidationFailed("too many lines", errors={"lines": [f"at most {MAX_LINES}"]})
    made = []
    for index, line in enumerate(lines):
        where = f"lines.{index}"
        if not isinstance(line, dict):
            raise ValidationFailed("a line is an object", errors={where: ["an object"]})
        service_id, quantity = line.get("service_id"), line.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise ValidationFailed(
                "quantity is a whole number", errors={f"{where}.quantity": ["a whole number"]}
            )
        if not 1 <= quantity <= MAX_QUANTITY:
            raise ValidationFailed(
                "quantity out of range", errors={f"{where}.quantity": [f"1..{MAX_QUANTITY}"]}
            )
        service = session.get(Service, service_id) if is_id(service_id) else None
        if service is None or not (service.active or _booked(session, visit_id, service.id)):
            raise NotFound(
                f"service {service_id} is not on the price list",
                errors={f"{where}.service_id": ["unknown service"]},
            )
        made.append(
            InvoiceLine(
                position=index + 1,
                service_id=service.id,
                title=service.name_ru,
                quantity=quantity,
                unit_price=service.price,
                amount=service.price * quantity,
                ikpu_code=service.ikpu_code,
                package_code=service.package_code,
                units=service.units,
                vat_percent=service.vat_percent,
            )
        )
    if sum(line.amount for line in made) > MAX_AMOUNT:
        # An invoice nobody could pay in one go: refused here, not at the desk.
        raise ValidationFailed(
            "the invoice's total is too large", errors={"lines": [f"at most {MAX_AMOUNT} tiyin"]}
        )
    return made


def check_discount(
    subtotal: int, discount, reason, *, fields=("discount", "discount_reason")
) -> tuple[int, str]:
    """The discount and its reason; a refusal names the caller's ``fields`` (amount, reason)."""
    amount_field, reason_field = fields
    discount = whole_tiyin(discount, amount_field)
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if discount > subtotal:
        raise ValidationFailed(
            "the discount is larger than the invoice", errors={amount_field: ["above the total"]}
        )
    if discount and not reason:
        raise ValidationFailed(
            "a discount needs a reason", errors={reason_field: ["required with a discount"]}
        )
    return discount, reason[:500]


def _booked(session: Session, visit_id: int | None, service_id: int) -> bool:
    if visit_id is None:
        return False
    booked = select(VisitService.service_id).where(
        VisitService.visit_id == visit_id, VisitService.service_id == service_id
    )
    return session.scalar(booked) is not None
