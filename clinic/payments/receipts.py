"""Receipts: what is printed and e-mailed once an invoice is paid.

The printing module prints from the ``receipt.print_requested`` event; the e-mail receipt is
plain text in Russian and Uzbek, sent through the clinic's SMTP server.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic import mail
from clinic.base import CLINIC_TZ, iso, utcnow
from clinic.events import record_event
from clinic.money import format_money
from clinic.payments import events as ev
from clinic.payments.fiscal import spread, vat_in
from clinic.payments.invoices import payments_of
from clinic.payments.models import Invoice, Refund
from clinic.payments.refunds import given_back_while_open
from clinic.payments.views import line_as_dict, payment_as_dict
from clinic.reference.models import ClinicProfile
from clinic.settings import Settings


def receipt_data(session: Session, invoice: Invoice, *, reprint: bool, requested_by: str) -> dict:
    return {
        "invoice_id": invoice.id,
        "number": invoice.number,
        "ticket_id": invoice.ticket_id,
        "total": invoice.total,
        "discount": invoice.discount,
        "paid_amount": invoice.paid_amount,
        "paid_at": iso(invoice.paid_at),
        "lines": [line_as_dict(line) for line in invoice.lines],
        "payments": [payment_as_dict(p) for p in payments_of(session, invoice.id)],
        "reprint": reprint,
        "requested_by": requested_by,
    }


def request_print(session: Session, invoice: Invoice, *, reprint: bool, requested_by: str) -> None:
    """Ask the printing module for the invoice's receipt (part of the caller's transaction)."""
    record_event(
        session,
        ev.RECEIPTS_CHANNEL,
        ev.RECEIPT_PRINT_REQUESTED,
        receipt_data(session, invoice, reprint=reprint, requested_by=requested_by),
    )


# How each way of paying is named on the e-mail receipt (a webhook sender by its own name).
METHOD_NAMES = {
    "cash": "Наличные / Naqd",
    "card": "Карта / Karta",
    "payme": "Payme",
    "click": "Click",
}
TIME_FORMAT = "%d.%m.%Y %H:%M"


def receipt_message(
    session: Session, invoice: Invoice, to: str, sender: str, *, tz: ZoneInfo = CLINIC_TZ
) -> EmailMessage:
    """The e-mail receipt of a paid invoice: the clinic's requisites, when (in the clinic's
    zone ``tz``) and how it was paid, and that it is not a fiscal receipt."""
    profile = session.get(ClinicProfile, 1)
    clinic_name = profile.legal_name if profile else "Clinic"
    requisites = [
        profile.address if profile else "",
        f"ИНН / STIR: {profile.taxpayer_number}" if profile and profile.taxpayer_number else "",
    ]
    message = EmailMessage()
    message["Subject"] = f"Чек / Chek № {invoice.number} — {clinic_name}"
    message["From"] = sender
    message["To"] = to
    # A Date is required of every message (RFC 5322): the clinic's time, with its offset. The
    # Message-ID is the invoice's, so a receipt sent again after a crash is recognisable.
    message["Date"] = format_datetime(utcnow().astimezone(tz))
    message["Message-ID"] = f"<receipt-{invoice.id}@{sender.rpartition('@')[2] or 'clinic.local'}>"
    head = [clinic_name, *(line for line in requisites if line)]
    head += [
        f"Чек / Chek № {invoice.number}",
        f"Дата / Sana: {invoice.paid_at.astimezone(tz).strftime(TIME_FORMAT)}",
    ]
    rows = []
    # The VAT each line holds, after its share of the discount: the printed receipt's own.
    shares = spread(invoice.discount, [line.amount for line in invoice.lines])
    for line, share in zip(invoice.lines, shares):
        rows.append(f"{line.title} x{line.quantity}: {format_money(line.amount, 'ru')}")
        if line.vat_percent:
            vat = vat_in(line.amount - share, line.vat_percent)
            rows.append(f"  НДС / QQS {line.vat_percent}%: {format_money(vat, 'ru')}")
    if invoice.discount:
        rows.append(f"Скидка / Chegirma: -{format_money(invoice.discount, 'ru')}")
    rows.append(f"Итого / Jami: {format_money(invoice.total, 'ru')}")
    rows += [
        f"{METHOD_NAMES.get(p.method, p.method)}: {format_money(p.amount, 'ru')}"
        for p in payments_of(session, invoice.id)
    ]
    # A part given back before the rest was paid: what is paid is the payments less it.
    rows += [
        f"Возвращено / Qaytarildi: -{format_money(r.amount, 'ru')}"
        for r in session.scalars(
            select(Refund).where(given_back_while_open(invoice)).order_by(Refund.id)
        )
    ]
    rows.append(f"Оплачено / To'langan: {format_money(invoice.paid_amount, 'ru')}")
    rows.append("НЕФИСКАЛЬНЫЙ ДОКУМЕНТ / FISKAL HUJJAT EMAS")
    message.set_content("\n".join(head) + "\n\n" + "\n".join(rows) + "\n")
    return message


def send_mail(settings: Settings, message: EmailMessage) -> None:
    """Send through the configured SMTP server; raises on failure (the task retries)."""
    mail.send(settings, message)
