"""Print requests become print jobs.

The queue records ``ticket.print_requested`` on ``printing:tickets`` in the transaction that
issues the ticket; payments records ``receipt.print_requested`` on ``printing:receipts``, and
``payment.recorded`` (a part of an invoice paid at the desk has its own receipt: see
:func:`clinic.printing.trigger.part_payment_at_desk`), ``refund.recorded`` and
``shift.closed`` on ``payments:desk``. Those outbox rows are durable with the change itself,
so nothing is lost between the request and its job: :func:`collect` reads each channel
after its cursor, makes the jobs and moves the cursor in one transaction (the cursor rows are
locked, so two collectors never make a job twice, and a unique constraint on the request
backs that up). Events of one channel commit in the order of their numbers, so a request
behind the cursor cannot appear later; the jobs of one collecting round are made in the
order their requests were recorded, whatever their channels.

Collecting is started right after a request commits (:mod:`clinic.printing.trigger`) and by
beat's sweeper; a request older than :data:`STALE_AFTER` is passed over (a ticket printed an
hour late helps nobody; the desk still has the ticket on screen).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from clinic.accounts.models import User
from clinic.base import utcnow
from clinic.events.models import OutboxEvent
from clinic.payments import events as payment_events
from clinic.payments import fiscal
from clinic.payments.models import Invoice, Payment, Refund
from clinic.payments.providers import PaymeTransaction
from clinic.payments.refunds import given_back_while_open
from clinic.printing import documents, jobs, routes
from clinic.printing.facts import clinic_requisites, doctor_of, local_time, staff_name, titled
from clinic.printing.models import JobKind, PrintCursor, Printer, PrintJob
from clinic.printing.routes import printer_for
from clinic.printing.templates import languages_of
from clinic.printing.trigger import part_payment_at_desk
from clinic.queue import events as queue_events
from clinic.queue.models import Ticket
from clinic.queue.models import TicketStatus as S
from clinic.queue.position import people_ahead
from clinic.reference.models import Patient
from clinic.reports.cashier import shift_totals
from clinic.settings import Settings

TICKETS_CHANNEL = "printing:tickets"
RECEIPTS_CHANNEL = payment_events.RECEIPTS_CHANNEL
DESK_CHANNEL = payment_events.DESK_CHANNEL
# Which requests each channel carries.
REQUESTS = {
    TICKETS_CHANNEL: (queue_events.PRINT_REQUESTED.name,),
    RECEIPTS_CHANNEL: (payment_events.RECEIPT_PRINT_REQUESTED,),
    DESK_CHANNEL: (
        payment_events.PAYMENT_RECORDED,
        payment_events.REFUND_RECORDED,
        payment_events.SHIFT_CLOSED,
    ),
}
STALE_AFTER = timedelta(hours=1)
BATCH = 200


def _lock_cursor(session: Session, channel: str) -> PrintCursor:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(PrintCursor.__table__)
        .values(channel=channel, last_seq=0)
        .on_conflict_do_nothing(index_elements=["channel"])
    )
    return session.scalars(
        select(PrintCursor).where(PrintCursor.channel == channel).with_for_update()
    ).one()


def collect(session: Session, settings: Settings) -> int:
    """Make the jobs of every request not collected yet (part of the caller's transaction,
    which the caller commits); answers how many jobs were made."""
    stale_before = utcnow() - STALE_AFTER
    requested = []
    for channel, types in REQUESTS.items():
        cursor = _lock_cursor(session, channel)
        while True:
            events = session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.channel == channel, OutboxEvent.seq > cursor.last_seq)
                .order_by(OutboxEvent.seq)
                .limit(BATCH)
            ).all()
            for event in events:
                cursor.last_seq = event.seq
                if event.type in types and event.created_at >= stale_before:
                    requested.append(event)
            if len(events) < BATCH:
                break
    # The jobs of all channels in the order they were asked for: after the printing worker
    # was away, a part payment's slip still comes out before the receipt of the payment
    # that paid the rest, and a refund's after the receipt it gives back from.
    requested.sort(key=lambda event: event.id)
    return sum(_make_job(session, settings, event) for event in requested)


def _make_job(session: Session, settings: Settings, event: OutboxEvent) -> int:
    source = (event.channel, event.seq)
    data = event.data
    if event.type == queue_events.PRINT_REQUESTED.name:
        return _ticket_job(session, settings, data, source)
    if event.type == payment_events.RECEIPT_PRINT_REQUESTED:
        return _receipt_job(session, settings, data, source)
    if event.type == payment_events.PAYMENT_RECORDED:
        return _payment_job(session, settings, data, source)
    if event.type == payment_events.REFUND_RECORDED:
        return _refund_job(session, settings, data, source)
    return _shift_job(session, settings, data, source)


# -- tickets --------------------------------------------------------------------------------


def ticket_data(session: Session, settings: Settings, ticket: Ticket, languages) -> dict:
    department = ticket.queue.department
    room = ticket.room or ticket.queue.room
    return {
        "clinic": clinic_requisites(session),
        "code": ticket.code,
        "department": [
            getattr(department, f"name_{language}") or department.name_ru for language in languages
        ],
        "room": room.number if room else None,
        "issued_at": local_time(ticket.created_at, settings),
        "ahead": people_ahead(session, ticket) if ticket.status == S.WAITING else 0,
        "url": f"{settings.public_url}/t/{ticket.token}",
    }


def reprint_printer(session: Session, job: PrintJob, *, copy: bool = False):
    """Where a retry of ``job`` (or, ``copy``, a copy of it) goes: to the printer its desk
    has now, a queue ticket's to its queue's printer, a cashier's document to her desk's (a
    printer set up since, or another one: not one taken away, nor one her desk no longer
    prints on), whoever asks for it; a test page to its own printer."""
    targets = routes.copy_targets(session, job) if copy else routes.job_targets(session, job)
    if targets:
        return printer_for(session, targets)
    return session.get(Printer, job.printer_id) if job.printer_id else None


def reprint(session: Session, job: PrintJob, *, actor: str) -> PrintJob:
    """Print ``job`` again, marked as a copy, where :func:`reprint_printer` sends it. A
    receipt printed before Payme's fiscal data came (SetFiscalData follows the payment) is
    reprinted with that data: the copy the patient asks for is the fiscal receipt."""
    document = None
    if job.kind == JobKind.RECEIPT and job.subject_id and not documents.says_fiscal(job.document):
        fiscal = fiscal_of(session, job.subject_id)
        document = documents.with_fiscal(job.document, fiscal) if fiscal else None
    return jobs.reprint_job(
        session,
        job.id,
        actor=actor,
        printer=reprint_printer(session, job, copy=True),
        document=document,
    )


def _ticket_job(session: Session, settings: Settings, data: dict, source) -> int:
    ticket = session.get(Ticket, data["ticket_id"])
    if ticket is None:  # pragma: no cover - tickets are never deleted; a guard for old rows
        return 0
    printer = printer_for(session, routes.ticket_targets(ticket.queue_id))
    languages = languages_of(printer.languages if printer else "")
    values = ticket_data(session, settings, ticket, languages)
    jobs.create_job(
        session,
        kind=JobKind.TICKET,
        scope=jobs.queue_scope(ticket.queue_id),
        document=documents.ticket(values, languages),
        printer=printer,
        subject_id=ticket.id,
        source=source,
    )
    return 1


# -- the cashier's documents ----------------------------------------------------------------


def _cashier_printer(session: Session, username: str):
    return printer_for(session, routes.cashier_targets(username))


def fiscal_of(session: Session, invoice_id: int) -> dict | None:
    """The fiscal data Payme sent for the invoice's payment (SetFiscalData), if any."""
    found = session.scalar(
        select(PaymeTransaction.fiscal_perform)
        .join(Payment, Payment.id == PaymeTransaction.payment_id)
        .where(Payment.invoice_id == invoice_id, PaymeTransaction.fiscal_perform.is_not(None))
        .order_by(PaymeTransaction.id.desc())
    )
    return found or None


def discount_shares(lines: list[dict], discount: int) -> list[int]:
    """The invoice's discount spread over its lines in proportion to their amounts, no line's
    share above its amount: as the fiscal receipt spreads it, by the same rule."""
    return fiscal.spread(discount, [line["amount"] for line in lines])


def refunds_before_paid(session: Session, settings: Settings, invoice: Invoice | None) -> list:
    """The refunds given back of the invoice's part payments while it was still open: each
    took its amount off what is paid, so a receipt lists them (how and when) beside the
    payments, and its lines add up to what it says is paid. A refund after the invoice was
    paid leaves the paid amount as it is and has a refund receipt of its own."""
    if invoice is None:
        return []
    query = select(Refund, Payment.method).join(Payment, Payment.id == Refund.payment_id)
    query = query.where(given_back_while_open(invoice))
    return [
        {"amount": row.amount, "method": method, "created_at": local_time(row.created_at, settings)}
        for row, method in session.execute(query.order_by(Refund.id)).all()
    ]


def receipt_data(session: Session, settings: Settings, data: dict) -> dict:
    """Everything a receipt shows, from the request's data and the invoice's rows."""
    invoice = session.get(Invoice, data["invoice_id"])
    patient = session.get(Patient, invoice.patient_id) if invoice else None
    lines = [
        {**line, "vat": fiscal.vat_in(line["amount"] - share, line["vat_percent"])}
        for line, share in zip(
            titled(session, data["lines"]), discount_shares(data["lines"], data["discount"])
        )
    ]
    paid_at = invoice.paid_at if invoice and invoice.paid_at else utcnow()
    return {
        "clinic": clinic_requisites(session),
        "number": data["number"],
        "paid_at": local_time(paid_at, settings),
        "patient": patient.full_name if patient else None,
        "doctor": doctor_of(session, invoice),
        "visit": invoice.visit_id if invoice else None,
        "lines": lines,
        "discount": data["discount"],
        "total": data["total"],
        "paid_amount": data["paid_amount"],
        "payments": data["payments"],
        "refunds": refunds_before_paid(session, settings, invoice),
        "fiscal": fiscal_of(session, data["invoice_id"]),
        # Who took the payment (a reprint names her too, whoever asks for it): the one who
        # asked for the print for an invoice not paid in full yet.
        "cashier": staff_name(
            session, (invoice.paid_by if invoice else None) or data.get("requested_by") or ""
        ),
    }


def _receipt_job(session: Session, settings: Settings, data: dict, source) -> int:
    printer = _cashier_printer(session, data["requested_by"])
    languages = languages_of(printer.languages if printer else "")
    document = documents.receipt(receipt_data(session, settings, data), languages)
    original = None
    if data["reprint"]:
        # A reprint is the receipt as first made, marked as a copy: its very bytes on the same
        # printer; on another (a second cashier's), rendered for that one's paper and code page.
        # The first job is that receipt even when it went out marked as a copy itself (its
        # printer dropped the connection mid-job): its bytes carry their one mark already.
        original = session.scalar(
            select(PrintJob)
            .where(PrintJob.kind == JobKind.RECEIPT, PrintJob.subject_id == data["invoice_id"])
            .order_by(PrintJob.id)
            .limit(1)
        )
    if original is not None and not documents.says_fiscal(original.document):
        if fiscal_of(session, data["invoice_id"]):
            # Payme's fiscal data (SetFiscalData) came after the receipt was printed: the copy
            # is that receipt, as its cashier had it, with the fiscal sign and QR.
            first = {**data, "requested_by": original.requested_by}
            document = documents.receipt(receipt_data(session, settings, first), languages)
            original = None
    # On the same printer, set as it was (not to another code page or paper since).
    same_printer = (
        original is not None
        and original.printer_id == (printer.id if printer else None)
        and jobs.made_for(original, printer)
    )
    payload = None
    if same_printer:
        payload = original.payload if original.copy else jobs.with_copy(original.payload, printer)
    jobs.create_job(
        session,
        kind=JobKind.RECEIPT,
        scope=jobs.CASHIER_SCOPE,
        document=original.document if original else document,
        printer=printer,
        subject_id=data["invoice_id"],
        payload=payload,
        copy=data["reprint"],
        source=source,
        requested_by=data["requested_by"],
    )
    return 1


def _payment_job(session: Session, settings: Settings, data: dict, source) -> int:
    """The receipt of a part of an invoice paid at the desk, as the payment left it (the
    event's invoice is its state in the payment's own transaction); none for a payment that
    settles its invoice, which has the invoice's receipt."""
    if not part_payment_at_desk(data):
        return 0
    paid, payment = data["invoice"], data["payment"]
    invoice = session.get(Invoice, paid["id"])
    patient = session.get(Patient, invoice.patient_id) if invoice else None
    printer = _cashier_printer(session, payment["actor"])
    languages = languages_of(printer.languages if printer else "")
    values = {
        "clinic": clinic_requisites(session),
        "number": f"{paid['number']}-P{payment['id']}",
        "invoice": paid["number"],
        "paid_at": local_time(_parse(payment["created_at"]), settings),
        "patient": patient.full_name if patient else None,
        "doctor": doctor_of(session, invoice),
        "visit": paid["visit_id"],
        "lines": titled(session, paid["lines"]),
        "discount": paid["discount"],
        "total": paid["total"],
        "paid_before": paid["paid_amount"] - payment["amount"],
        "payment": payment,
        "paid_amount": paid["paid_amount"],
        "amount_due": paid["amount_due"],
        "cashier": staff_name(session, payment["actor"]),
    }
    jobs.create_job(
        session,
        kind=JobKind.PAYMENT,
        scope=jobs.CASHIER_SCOPE,
        document=documents.payment_receipt(values, languages),
        printer=printer,
        subject_id=payment["id"],
        source=source,
        requested_by=payment["actor"],
    )
    return 1


def _refunded_method(session: Session, refund: dict) -> str | None:
    """How the money went back: the way the refunded payment came in (cash from the drawer,
    to the card)."""
    payment = session.get(Payment, refund["payment_id"]) if refund.get("payment_id") else None
    return payment.method if payment is not None else None


def _refund_job(session: Session, settings: Settings, data: dict, source) -> int:
    refund = data["refund"]
    printer = _cashier_printer(session, routes.refund_desk(session, refund["id"], refund["actor"]))
    languages = languages_of(printer.languages if printer else "")
    values = {
        "clinic": clinic_requisites(session),
        "number": f"{data['invoice'].get('number') or data['invoice']['id']}-R{refund['id']}",
        "created_at": local_time(_parse(refund["created_at"]), settings),
        "amount": refund["amount"],
        "method": _refunded_method(session, refund),
        "reason": refund["reason"],
        "actor": staff_name(session, refund["actor"]),
    }
    jobs.create_job(
        session,
        kind=JobKind.REFUND,
        scope=jobs.CASHIER_SCOPE,
        document=documents.refund(values, languages),
        printer=printer,
        subject_id=refund["id"],
        source=source,
        requested_by=refund["actor"],
    )
    return 1


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _shift_job(session: Session, settings: Settings, data: dict, source) -> int:
    shift = data["shift"]
    user = session.get(User, shift["cashier_id"])
    username = user.username if user else ""
    printer = _cashier_printer(session, username)
    languages = languages_of(printer.languages if printer else "")
    values = {
        **shift,
        "clinic": clinic_requisites(session),
        "cashier": (user.full_name or user.username) if user else "",
        "opened_at": local_time(_parse(shift["opened_at"]), settings),
        "closed_at": local_time(_parse(shift["closed_at"]), settings),
        # The Z report's own figures: the slip and the report say the same.
        **shift_totals(session, shift["id"]),
    }
    jobs.create_job(
        session,
        kind=JobKind.SHIFT,
        scope=jobs.CASHIER_SCOPE,
        document=documents.shift(values, languages),
        printer=printer,
        subject_id=shift["id"],
        source=source,
        requested_by=username,
    )
    return 1
