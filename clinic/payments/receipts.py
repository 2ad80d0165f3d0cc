"""Receipts: what is printed and e-mailed once an invoice is paid.

The printing module prints from the ``receipt.print_requested`` event; the e-mail receipt is
plain text in Russian and Uzbek, sent through the clinic's SMTP server.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from sqlalchemy.orm import Session

from clinic.base import iso
from clinic.events import record_event
from clinic.money import format_money
from clinic.payments import events as ev
from clinic.payments.invoices import payments_of
from clinic.payments.models import Invoice
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


def receipt_message(session: Session, invoice: Invoice, to: str, sender: str) -> EmailMessage:
    profile = session.get(ClinicProfile, 1)
    clinic_name = profile.legal_name if profile else "Clinic"
    message = EmailMessage()
    message["Subject"] = f"Чек / Chek № {invoice.number} — {clinic_name}"
    message["From"] = sender
    message["To"] = to
    rows = [
        f"{line.title} x{line.quantity}: {format_money(line.amount, 'ru')}"
        for line in invoice.lines
    ]
    if invoice.discount:
        rows.append(f"Скидка / Chegirma: -{format_money(invoice.discount, 'ru')}")
    rows.append(f"Итого / Jami: {format_money(invoice.total, 'ru')}")
    rows.append(f"Оплачено / To'langan: {format_money(invoice.paid_amount, 'ru')}")
    message.set_content(
        f"{clinic_name}\nЧек / Chek № {invoice.number}\n\n" + "\n".join(rows) + "\n"
    )
    return message


def send_mail(settings: Settings, message: EmailMessage) -> None:
    """Send through the configured SMTP server; raises on failure (the task retries)."""
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout) as s:
        if settings.smtp_starttls:
            s.starttls()
        if settings.smtp_user:
            s.login(settings.smtp_user, settings.smtp_password)
        s.send_message(message)
