"""The reports: each is one aggregating SQL statement, streamed row by row.

Figures are summed by the database; Python sees one row per group (per day, per doctor...),
never one per payment or visit, so a month of a large clinic costs the worker the same
memory as a quiet week. Results are read with ``yield_per`` (a server-side cursor on
PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, literal, literal_column, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from clinic.accounts.models import User
from clinic.payments import reconcile
from clinic.payments.models import (
    CashierShift,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    Refund,
)
from clinic.payments.providers import ClickTransaction, PaymeTransaction, WebhookEvent
from clinic.queue.models import Queue, Ticket, TicketStatus
from clinic.reference.models import Department, Doctor, Room, Service
from clinic.reports.labels import label
from clinic.reports.params import ReportParams
from clinic.reports.sql import Dialect, as_date
from clinic.visits.events import VisitStatus
from clinic.visits.models import Visit

YIELD_PER = 1000


@dataclass(frozen=True)
class Column:
    """``kind``: text, count, money (tiyin), minutes or percent. A percent column names its
    numerator and denominator, so the totals row computes it from the totals."""

    key: str
    kind: str = "count"
    rate_of: tuple[str, str] | None = None

    @property
    def summed(self) -> bool:
        return self.kind in ("count", "money")


@dataclass
class Built:
    params: ReportParams
    columns: tuple[Column, ...]
    rows: Iterator[tuple]


def _stream(session: Session, statement) -> Iterator:
    return session.execute(statement.execution_options(yield_per=YIELD_PER))


def _in(column, lo: datetime, hi: datetime):
    return and_(column >= lo, column < hi)


def _rate(part: int, whole: int) -> float | None:
    return round(part * 100.0 / whole, 1) if whole else None


def _minutes(seconds) -> float | None:
    return None if seconds is None else round(float(seconds) / 60.0, 1)


# --- revenue -------------------------------------------------------------------------------


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


def _revenue_key(p: ReportParams, d: Dialect, record, doctor, department):
    return {
        "day": d.local_day(record.created_at),
        "method": Payment.method,
        "provider": func.coalesce(Payment.provider, literal("desk")),
        "cashier": record.actor,
        "doctor": doctor,
        "department": department,
    }[p.by]


def _revenue(session: Session, p: ReportParams, d: Dialect, lo, hi) -> Built:
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
    paid = paid.where(_in(Payment.created_at, lo, hi)).group_by(literal_column_key(1))
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
    given = given.where(_in(Refund.created_at, lo, hi)).group_by(literal_column_key(1))
    both = union_all(paid, given).subquery()
    names = {"department": Department, "doctor": Doctor}.get(p.by)
    statement = select(
        both.c.key,
        func.sum(both.c.n),
        func.sum(both.c.received),
        func.sum(both.c.refunded),
    )
    if names is not None:
        name = (
            getattr(Department, f"name_{p.language}") if names is Department else Doctor.full_name
        )
        statement = statement.add_columns(name).outerjoin(names, names.id == both.c.key)
        statement = statement.group_by(both.c.key, name)
    else:
        statement = statement.group_by(both.c.key)
    statement = statement.order_by(both.c.key)

    def rows() -> Iterator[tuple]:
        for row in _stream(session, statement):
            key = _key_text(p, row[0], row[4] if names is not None else None)
            received, refunded = int(row[2] or 0), int(row[3] or 0)
            yield (key, int(row[1] or 0), received, refunded, received - refunded)

    columns = (
        Column(f"by.{p.by}", "text"),
        Column("payments"),
        Column("received", "money"),
        Column("refunded", "money"),
        Column("net", "money"),
    )
    return Built(p, columns, rows())


def literal_column_key(position: int):
    """GROUP BY the select list's n-th expression: the same on both databases, and on
    PostgreSQL it matches an expression holding bound parameters (the time zone)."""
    return literal_column(str(position))


def _revenue_by_service(session: Session, p: ReportParams, lo, hi) -> Built:
    """Services on invoices paid in the period, at their invoiced amounts (before any
    invoice-wide discount)."""
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
        .where(_in(Invoice.paid_at, lo, hi), Invoice.status.in_(InvoiceStatus.SETTLED))
        .group_by(Service.id, Service.code, name)
        .order_by(Service.code)
    )

    def rows() -> Iterator[tuple]:
        for code, title, quantity, amount in _stream(session, statement):
            yield (f"{code} {title}", int(quantity), int(amount))

    columns = (Column("by.service", "text"), Column("quantity"), Column("billed", "money"))
    return Built(p, columns, rows())


def _key_text(p: ReportParams, key, name) -> str:
    if key is None:
        return label("none", p.language)
    if p.by == "day":
        return as_date(key).isoformat()
    if p.by in ("method", "provider", "status"):
        prefix = "status." if p.by == "status" else ""
        return label(f"{prefix}{key}", p.language)
    if p.by == "hour":
        return f"{int(key):02d}:00"
    if name is not None:
        return str(name)
    return str(key)


# --- visits --------------------------------------------------------------------------------


def _visits(session: Session, p: ReportParams, d: Dialect, lo, hi) -> Built:
    earlier = aliased(Visit)
    # New: the patient's first visit that was not cancelled; every later one is a follow-up.
    # Each patient of the period's first such visit is looked up once (an index range per
    # patient), not once per visit.
    patients = select(Visit.patient_id).where(_in(Visit.starts_at, lo, hi))
    firsts = (
        select(earlier.patient_id.label("patient_id"), func.min(earlier.starts_at).label("first"))
        .where(earlier.status != VisitStatus.CANCELLED, earlier.patient_id.in_(patients))
        .group_by(earlier.patient_id)
        .subquery()
    )
    new = or_(firsts.c.first.is_(None), firsts.c.first >= Visit.starts_at)
    key = {
        "status": Visit.status,
        "day": d.local_day(Visit.starts_at),
        "department": Visit.department_id,
        "doctor": Visit.doctor_id,
    }[p.by]

    def count_if(condition):
        return func.sum(case((condition, 1), else_=0))

    inner = (
        select(
            key.label("key"),
            func.count(Visit.id).label("visits"),
            count_if(Visit.status == VisitStatus.COMPLETED).label("completed"),
            count_if(Visit.status == VisitStatus.NO_SHOW).label("no_shows"),
            count_if(Visit.status == VisitStatus.CANCELLED).label("cancelled"),
            count_if(Visit.late_cancellation.is_(True)).label("late"),
            count_if(new).label("new"),
        )
        .outerjoin(firsts, firsts.c.patient_id == Visit.patient_id)
        .where(_in(Visit.starts_at, lo, hi))
    )
    if p.doctor_id is not None:
        inner = inner.where(Visit.doctor_id == p.doctor_id)
    if p.department_id is not None:
        inner = inner.where(Visit.department_id == p.department_id)
    inner = inner.group_by(literal_column_key(1)).subquery()
    statement = select(inner)
    if p.by == "department":
        name = getattr(Department, f"name_{p.language}")
        statement = statement.add_columns(name).outerjoin(Department, Department.id == inner.c.key)
    elif p.by == "doctor":
        statement = statement.add_columns(Doctor.full_name).outerjoin(
            Doctor, Doctor.id == inner.c.key
        )
    statement = statement.order_by(inner.c.key)

    def rows() -> Iterator[tuple]:
        for row in _stream(session, statement):
            visits, completed, no_shows, cancelled, late, new_count = (
                int(v or 0) for v in row[1:7]
            )
            name = row[7] if len(row) > 7 else None
            yield (
                _key_text(p, row[0], name),
                visits,
                completed,
                no_shows,
                cancelled,
                late,
                new_count,
                visits - new_count,
                _rate(no_shows, visits),
                _rate(late, visits),
            )

    columns = (
        Column(f"by.{p.by}", "text"),
        Column("visits"),
        Column("completed"),
        Column("no_shows"),
        Column("cancelled"),
        Column("late_cancellations"),
        Column("new_patients"),
        Column("follow_ups"),
        Column("no_show_rate", "percent", ("no_shows", "visits")),
        Column("late_cancel_rate", "percent", ("late_cancellations", "visits")),
    )
    return Built(p, columns, rows())


# --- queue ---------------------------------------------------------------------------------


def _queue(session: Session, p: ReportParams, d: Dialect, lo, hi) -> Built:
    key = {
        "queue": Ticket.queue_id,
        "room": func.coalesce(Ticket.room_id, Queue.room_id, literal(0)),
        "hour": d.local_hour(Ticket.queued_at),
    }[p.by]

    def scoped(statement):
        statement = statement.select_from(Ticket).join(Queue, Queue.id == Ticket.queue_id)
        statement = statement.where(_in(Ticket.queued_at, lo, hi))
        if p.doctor_id is not None:
            statement = statement.where(Queue.doctor_id == p.doctor_id)
        if p.department_id is not None:
            statement = statement.where(Queue.department_id == p.department_id)
        return statement

    served = Ticket.status == TicketStatus.SERVED
    service = d.seconds(Ticket.started_at, Ticket.finished_at)
    counts = (
        scoped(
            select(
                key.label("key"),
                func.count(Ticket.id).label("tickets"),
                func.sum(case((served, 1), else_=0)).label("served"),
                func.sum(case((Ticket.status == TicketStatus.NO_SHOW, 1), else_=0)).label(
                    "no_shows"
                ),
                func.avg(
                    case(
                        (
                            and_(
                                served,
                                Ticket.started_at.is_not(None),
                                Ticket.finished_at.is_not(None),
                            ),
                            service,
                        ),
                        else_=None,
                    )
                ).label("service"),
            )
        )
        .group_by(literal_column_key(1))
        .subquery()
    )
    # Percentiles by nearest rank, with window functions both databases have: the p-th
    # percentile of n waits is the ceil(p * n / 100)-th smallest.
    wait = d.seconds(Ticket.queued_at, Ticket.called_at)
    ranked = (
        scoped(
            select(
                key.label("key"),
                wait.label("wait"),
                func.row_number().over(partition_by=key, order_by=wait).label("rank"),
                func.count().over(partition_by=key).label("n"),
            )
        )
        .where(Ticket.called_at.is_not(None), Ticket.called_at >= Ticket.queued_at)
        .subquery()
    )

    def nth(percent: int):
        return func.max(case((ranked.c.rank == (ranked.c.n * percent + 99) // 100, ranked.c.wait)))

    percentiles = (
        select(ranked.c.key, nth(50).label("p50"), nth(90).label("p90"))
        .group_by(ranked.c.key)
        .subquery()
    )
    statement = select(
        counts.c.key,
        counts.c.tickets,
        counts.c.served,
        counts.c.no_shows,
        percentiles.c.p50,
        percentiles.c.p90,
        counts.c.service,
    ).outerjoin(percentiles, percentiles.c.key == counts.c.key)
    if p.by == "queue":
        statement = statement.add_columns(Queue.code).outerjoin(Queue, Queue.id == counts.c.key)
    elif p.by == "room":
        statement = statement.add_columns(Room.number).outerjoin(Room, Room.id == counts.c.key)
    statement = statement.order_by(counts.c.key)

    def rows() -> Iterator[tuple]:
        for row in _stream(session, statement):
            name = row[7] if len(row) > 7 else None
            key_value = None if p.by == "room" and not row[0] else row[0]
            yield (
                _key_text(p, key_value, name),
                int(row[1]),
                int(row[2] or 0),
                int(row[3] or 0),
                _minutes(row[4]),
                _minutes(row[5]),
                _minutes(row[6]),
            )

    columns = (
        Column(f"by.{p.by}", "text"),
        Column("tickets"),
        Column("served"),
        Column("no_shows"),
        Column("wait_p50", "minutes"),
        Column("wait_p90", "minutes"),
        Column("service_avg", "minutes"),
    )
    return Built(p, columns, rows())


# --- cashier shifts (Z) --------------------------------------------------------------------


def _shifts(session: Session, p: ReportParams, d: Dialect, lo, hi) -> Built:
    def by_method(amount, method):
        return func.coalesce(func.sum(case((Payment.method == method, amount), else_=0)), 0)

    taken = (
        select(
            Payment.shift_id.label("shift_id"),
            by_method(Payment.amount, PaymentMethod.CASH).label("cash"),
            by_method(Payment.amount, PaymentMethod.CARD).label("card"),
        )
        .where(Payment.shift_id.is_not(None))
        .group_by(Payment.shift_id)
        .subquery()
    )
    given = (
        select(
            Refund.shift_id.label("shift_id"),
            by_method(Refund.amount, PaymentMethod.CASH).label("cash"),
            by_method(Refund.amount, PaymentMethod.CARD).label("card"),
        )
        .join(Payment, Payment.id == Refund.payment_id)
        .where(Refund.shift_id.is_not(None))
        .group_by(Refund.shift_id)
        .subquery()
    )
    statement = (
        select(
            CashierShift.id,
            User.username,
            CashierShift.opened_at,
            CashierShift.closed_at,
            CashierShift.opening_cash,
            func.coalesce(taken.c.cash, 0),
            func.coalesce(taken.c.card, 0),
            func.coalesce(given.c.cash, 0),
            func.coalesce(given.c.card, 0),
            CashierShift.expected_cash,
            CashierShift.counted_cash,
            CashierShift.discrepancy,
        )
        .join(User, User.id == CashierShift.cashier_id)
        .outerjoin(taken, taken.c.shift_id == CashierShift.id)
        .outerjoin(given, given.c.shift_id == CashierShift.id)
        .where(_in(CashierShift.opened_at, lo, hi))
        .order_by(CashierShift.opened_at, CashierShift.id)
    )

    def local(instant) -> str:
        return instant.astimezone(d.tz).strftime("%Y-%m-%d %H:%M") if instant else ""

    def rows() -> Iterator[tuple]:
        for row in _stream(session, statement):
            opening, cash_in, card_in, cash_out, card_out = (int(v) for v in row[4:9])
            expected = row[9] if row[9] is not None else opening + cash_in - cash_out
            yield (
                f"#{row[0]} {row[1]}",
                local(row[2]),
                local(row[3]),
                opening,
                cash_in,
                card_in,
                cash_out,
                card_out,
                int(expected),
                row[10],
                row[11],
            )

    columns = (
        Column("by.shift", "text"),
        Column("opened", "text"),
        Column("closed", "text"),
        Column("opening_cash", "money"),
        Column("cash_taken", "money"),
        Column("card_taken", "money"),
        Column("cash_refunded", "money"),
        Column("card_refunded", "money"),
        Column("expected_cash", "money"),
        Column("counted_cash", "money"),
        Column("discrepancy", "money"),
    )
    return Built(p, columns, rows())


# --- reconciliation ------------------------------------------------------------------------


def _reconciliation(session: Session, p: ReportParams, d: Dialect, lo, hi) -> Built:
    """The payments module's reconciliation checks, over the records of the period, read in
    batches by id (memory stays flat however many records the period holds)."""
    lo_ms, hi_ms = int(lo.timestamp() * 1000), int(hi.timestamp() * 1000)
    within = {
        PaymeTransaction: and_(
            PaymeTransaction.create_time >= lo_ms, PaymeTransaction.create_time < hi_ms
        ),
        ClickTransaction: _in(ClickTransaction.created_at, lo, hi),
        WebhookEvent: _in(WebhookEvent.received_at, lo, hi),
        Payment: and_(_in(Payment.created_at, lo, hi), Payment.provider.is_not(None)),
    }

    def rows() -> Iterator[tuple]:
        for model, check in reconcile.SOURCES:
            after = 0
            while True:
                batch = session.scalars(
                    select(model)
                    .where(within[model], model.id > after)
                    .order_by(model.id)
                    .limit(YIELD_PER)
                ).all()
                for record in batch:
                    for found in check(session, record):
                        yield tuple(found[c] for c in reconcile.COLUMNS)
                if len(batch) < YIELD_PER:
                    break
                after = batch[-1].id
                session.expunge_all()

    columns = (
        Column("by.kind", "text"),
        Column("provider", "text"),
        Column("provider_ref", "text"),
        Column("invoice_id", "text"),
        Column("provider_amount", "money"),
        Column("our_amount", "money"),
        Column("provider_state", "text"),
        Column("detail", "text"),
    )
    return Built(p, columns, rows())


REPORTS: dict[str, Callable] = {
    "revenue": _revenue,
    "visits": _visits,
    "queue": _queue,
    "shifts": _shifts,
    "reconciliation": _reconciliation,
}


def build(session: Session, params: ReportParams, tz: ZoneInfo) -> Built:
    """The report's columns and its rows, read lazily as the caller iterates."""
    lo, hi = params.bounds(tz)
    dialect = Dialect(session.get_bind().dialect.name, tz, lo)
    return REPORTS[params.report](session, params, dialect, lo, hi)


def period_text(params: ReportParams) -> str:
    if params.start == params.end:
        return params.start.isoformat()
    return f"{params.start.isoformat()} — {params.end.isoformat()}"
