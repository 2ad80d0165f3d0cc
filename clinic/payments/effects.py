"""The side effects of "paid", each exactly once per invoice.

A paid invoice's transaction sends ``payments.apply_paid`` after commit (and the sweeper
finds any invoice whose effects are missing). The task may run twice, or twice at once: each
effect first inserts its ``(invoice, kind)`` row, and only the transaction whose insert
went in does the effect, in the same transaction. An effect that fails (the mail server is
down) rolls its row back and is tried again by the task's retry.

Effects: the receipt print request for the printing module; ``invoice.paid`` on the
cashiers' desk channel and the ticket's queue staff channel (registrars); the e-mail receipt
when the patient has an address (the row is written either way, so it is never re-checked;
an address the mail server refuses for good keeps the refusal in the row's ``error``).
The ticket's release itself is state, not an effect: it happens in the paying transaction.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from typing import Callable

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from clinic.base import utcnow
from clinic.events import record_event
from clinic.mail import refused_for_good
from clinic.payments import events as ev
from clinic.payments import receipts
from clinic.payments.invoices import invoice_as_dict, lock_invoice
from clinic.payments.models import EffectKind, Invoice, PaidEffect
from clinic.payments.settling import queue_channel_of
from clinic.payments.views import paid_state_as_dict
from clinic.queue.models import Ticket
from clinic.reference.models import Patient
from clinic.settings import Settings

log = logging.getLogger(__name__)


def _claim(session: Session, invoice_id: int, kind: str) -> bool:
    """Insert the effect's row; False if it exists (done, or being done by another run that
    this insert waited for)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    row = session.execute(
        insert(PaidEffect.__table__)
        .values(invoice_id=invoice_id, kind=kind, done_at=utcnow())
        .on_conflict_do_nothing(index_elements=["invoice_id", "kind"])
        .returning(PaidEffect.__table__.c.id)
    ).first()
    return row is not None


def _notify(session: Session, invoice: Invoice) -> None:
    ticket = session.get(Ticket, invoice.ticket_id) if invoice.ticket_id else None
    data = {
        "invoice": invoice_as_dict(invoice),
        "ticket_id": invoice.ticket_id,
        "queue_id": ticket.queue_id if ticket else None,
    }
    record_event(session, ev.DESK_CHANNEL, ev.INVOICE_PAID, data)
    channel = queue_channel_of(session, invoice)
    if channel:
        record_event(
            session, channel, ev.INVOICE_PAID, {**data, "invoice": paid_state_as_dict(invoice)}
        )


def _email(session: Session, invoice: Invoice, settings: Settings, send: Callable) -> None:
    patient = session.get(Patient, invoice.patient_id)
    if not patient or not patient.email:
        return
    if not settings.smtp_host:
        log.info("no SMTP server configured: no e-mail receipt for invoice %s", invoice.id)
        return
    message = receipts.receipt_message(
        session, invoice, patient.email, settings.smtp_from, tz=settings.tz
    )
    try:
        send(settings, message)
    except smtplib.SMTPRecipientsRefused as exc:
        refused = refused_for_good(exc)
        if refused is None:
            raise  # another try may pass: the effect is undone and retried
        # No try will ever deliver it: the effect is done, its refusal kept with it, rather
        # than sent again for days to an address that does not exist.
        log.warning("e-mail receipt of invoice %s refused for good: %s", invoice.id, refused)
        session.execute(
            update(PaidEffect)
            .where(PaidEffect.invoice_id == invoice.id, PaidEffect.kind == EffectKind.EMAIL)
            .values(error=refused)
        )


def apply_paid(
    sessionmaker, invoice_id: int, *, settings: Settings, send_mail: Callable | None = None
) -> list[str]:
    """Do whichever paid effects of the invoice are not done yet; returns the kinds done now.

    ``sessionmaker`` makes the sessions (one transaction per effect); ``send_mail(settings,
    message)`` defaults to SMTP.
    """
    send_mail = send_mail or receipts.send_mail
    done = []
    for kind in EffectKind.ALL:
        with sessionmaker() as session, session.begin():
            if kind == EffectKind.NOTIFY:
                # Announced as it stands under its lock: a refund committing meanwhile is
                # waited for and said (an unlocked read would announce it paid after it).
                invoice = lock_invoice(session, invoice_id)
            else:
                invoice = session.get(Invoice, invoice_id)
            if invoice is None or invoice.paid_at is None:
                return done  # never paid: nothing to do, ever
            if not _claim(session, invoice.id, kind):
                continue
            if kind == EffectKind.RECEIPT:
                receipts.request_print(
                    session, invoice, reprint=False, requested_by=invoice.paid_by or ""
                )
            elif kind == EffectKind.NOTIFY:
                _notify(session, invoice)
            else:  # EffectKind.EMAIL, the last of the three
                _email(session, invoice, settings, send_mail)
            done.append(kind)
    return done


def invoices_missing_effects(
    session: Session, *, within_days: int = 3, settled_seconds: int = 10, limit: int = 500
):
    """Ids of invoices paid in the last ``within_days`` (and at least ``settled_seconds``
    ago, so the task sent at payment has had its chance) whose effects are not all done:
    for the sweeper, so a lost task message does not lose a receipt."""
    now = utcnow()
    since = now - timedelta(days=within_days)
    done = (
        select(func.count(PaidEffect.id))
        .where(PaidEffect.invoice_id == Invoice.id)
        .scalar_subquery()
    )
    return list(
        session.scalars(
            select(Invoice.id)
            .where(
                Invoice.paid_at >= since,
                Invoice.paid_at <= now - timedelta(seconds=settled_seconds),
            )
            .where(done < len(EffectKind.ALL))
            .order_by(Invoice.id)
            .limit(limit)
        )
    )
