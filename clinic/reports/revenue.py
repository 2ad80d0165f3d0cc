"""Revenue: payments less refunds by day, department, doctor, payment method, provider or
cashier; and the services on the invoices paid."""

from __future__ import annotations

from typing import Iterator

from sqlalchemy import case, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from clinic.accounts.models import User
from clinic.payments.models import (
    DESK_PROVIDER,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    Refund,
)
from clinic.queue.models import Queue, Ticket
from clinic.reference.models import Department, Doctor, Service
from clinic.reports.common import (
    Built,
    Column,
    by_position,
    every_day,
    key_text,
    stream,
    within,
)
from clinic.reports.labels import label
from clinic.reports.params import ReportParams
from clinic.reports.sql import Dialect
from clinic.visits.models import Visit


def _attributed(statement, invoice_id):
    """Join what tells an invoice's doctor and department: its visit, else its ticket's
    queue. Returns the statement and the (doctor id, department id) expressions."""
    statement = (
        statement.join(Invoice, Invoice.id == invoice_id)
        .outerjoin(Visit, Visit.id == Invoice.visit_id)
        .outerjoin(Ticket, Ticket.id == Invoice.ticket_id)
        .outerjoin(Queue, Queue.id == Ticket.queue_id)
    )
    return (
        statement,
        func.coalesce(Visit.doctor_id, Queue.doctor_id),
        func.coalesce(Visit.department_id, Queue.department_id),
    )


def _scoped(statement, p: ReportParams, doctor, department):
    if p.doctor_id is not None:
        statement = statement.where(doctor == p.doctor_id)
    if p.department_id is not None:
        statement = statement.where(department == p.department_id)
    return statement


def _cashier(record):
    """Whose money it is by cashier: a payment's taker; a refund goes back the way its payment
    came, so a provider's payment given back (a Click refund recorded at the desk) stays under
    the provider, and the desk's own under whoever gave it back from her drawer."""
    if record is Payment:
        return Payment.actor
    # The desk's own payments: none named, or one taken with its page's key.
    desks = or_(Payment.provider.is_(None), Payment.provider == DESK_PROVIDER)
    return case((desks, Refund.actor), else_=Payment.actor)


def _revenue_key(p: ReportParams, d: Dialect, record, doctor, department):
    return {
        "day": d.local_day(record.created_at),
        "method": Payment.method,
        "provider": func.coalesce(Payment.provider, literal("desk")),
        "cashier": _cashier(record),
        "doctor": doctor,
        "department": department,
    }[p.by]


def revenue_report(session: Session, p: ReportParams, d: Dialect, lo, hi) -> Built:
    if p.by == "service":
        return _revenue_by_service(session, p, lo, hi)
    paid, doctor, department = _attributed(select().select_from(Payment), Payment.invoice_id)
    paid = _scoped(paid, p, doctor, department)
    paid = paid.add_columns(
        _revenue_key(p, d, Payment, doctor, department).label("key"),
        func.count(Payment.id).label("n"),
        func.sum(Payment.amount).label("received"),
        literal(0).label("refunded"),
    )
    paid = paid.where(within(Payment.created_at, lo, hi)).group_by(by_position(1))
    given, doctor, department = _attributed(
        select().select_from(Refund).join(Payment, Payment.id == Refund.payment_id),
        Payment.invoice_id,
    )
    given = _scoped(given, p, doctor, department)
    given = given.add_columns(
        _revenue_key(p, d, Refund, doctor, department).label("key"),
        literal(0).label("n"),
        literal(0).label("received"),
        func.sum(Refund.amount).label("refunded"),
    )
    given = given.where(within(Refund.created_at, lo, hi)).group_by(by_position(1))
    both = union_all(paid, given).subquery()
    statement = select(
        both.c.key,
        func.sum(both.c.n),
        func.sum(both.c.received),
        func.sum(both.c.refunded),
    )
    named = p.by in ("department", "doctor", "cashier")
    if p.by == "cashier":
        # A cashier by name, as the shift slip names her; a provider's money by its name.
        name = func.nullif(User.full_name, "")
        statement = statement.add_columns(name).outerjoin(User, User.username == both.c.key)
    elif named:
        names = Department if p.by == "department" else Doctor
        name = (
            getattr(Department, f"name_{p.language}") if names is Department else Doctor.full_name
        )
        statement = statement.add_columns(name).outerjoin(names, names.id == both.c.key)
    statement = statement.group_by(both.c.key, name) if named else statement.group_by(both.c.key)
    # Rows with no department, doctor or room ("not given") last, on either database.
    statement = statement.order_by(both.c.key.is_(None), both.c.key)

    def rows() -> Iterator[tuple]:
        for row in stream(session, statement):
            name = row[4] if named else None
            if p.by == "cashier" and name is None and row[0] in PaymentMethod.PROVIDERS:
                name = label(row[0], p.language)
            key = key_text(p, row[0], name)
            received, refunded = int(row[2] or 0), int(row[3] or 0)
            yield (key, int(row[1] or 0), received, refunded, received - refunded)

    found = rows()
    if p.by == "day":
        # Every day of the period, one with no money in it as zeros.
        found = every_day(p, found, lambda day: (day, 0, 0, 0, 0))
    columns = (
        Column(f"by.{p.by}", "text"),
        Column("payments"),
        Column("received", "money"),
        Column("refunded", "money"),
        Column("net", "money"),
    )
    return Built(p, columns, found)


def _revenue_by_service(session: Session, p: ReportParams, lo, hi) -> Built:
    """Services on invoices paid in the period, at their invoiced amounts (before any
    invoice-wide discount), whatever was given back of them later: a period's report does not
    change after it (refunds are in the report by method, on their own days)."""
    statement, doctor, department = _attributed(
        select().select_from(InvoiceLine), InvoiceLine.invoice_id
    )
    statement = _scoped(statement, p, doctor, department)
    name = getattr(Service, f"name_{p.language}")
    statement = (
        statement.join(Service, Service.id == InvoiceLine.service_id)
        .add_columns(
            Service.code, name, func.sum(InvoiceLine.quantity), func.sum(InvoiceLine.amount)
        )
        .where(
            within(Invoice.paid_at, lo, hi),
            Invoice.status.in_((*InvoiceStatus.SETTLED, InvoiceStatus.REFUNDED)),
        )
        .group_by(Service.id, Service.code, name)
        .order_by(Service.code)
    )

    def rows() -> Iterator[tuple]:
        for code, title, quantity, amount in stream(session, statement):
            yield (f"{code} {title}", int(quantity), int(amount))

    columns = (Column("by.service", "text"), Column("quantity"), Column("billed", "money"))
    return Built(p, columns, rows())
