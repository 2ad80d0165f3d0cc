"""The cashiers' reports: each shift's Z report, and the reconciliation with the providers."""

from __future__ import annotations

from typing import Iterator

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from clinic.accounts.models import User
from clinic.payments import reconcile
from clinic.payments.models import CashierShift, Payment, PaymentMethod, Refund
from clinic.payments.providers import ClickTransaction, PaymeTransaction, WebhookEvent
from clinic.reports import common
from clinic.reports.common import Built, Column, stream, within
from clinic.reports.labels import LABELS, label
from clinic.reports.params import ReportParams
from clinic.reports.sql import Dialect


def _by_method(amount, method):
    return func.coalesce(func.sum(case((Payment.method == method, amount), else_=0)), 0)


def shift_money(shift_id: int | None = None):
    """The money each shift took and gave back, by cash and card: two subqueries (``taken``
    and ``given``, each with ``shift_id``, ``cash`` and ``card``), of one shift when
    ``shift_id`` is given. The Z report and the printed Z slip both read them."""
    taken = (
        select(
            Payment.shift_id.label("shift_id"),
            _by_method(Payment.amount, PaymentMethod.CASH).label("cash"),
            _by_method(Payment.amount, PaymentMethod.CARD).label("card"),
        )
        .where(Payment.shift_id.is_not(None) if shift_id is None else Payment.shift_id == shift_id)
        .group_by(Payment.shift_id)
        .subquery()
    )
    given = (
        select(
            Refund.shift_id.label("shift_id"),
            _by_method(Refund.amount, PaymentMethod.CASH).label("cash"),
            _by_method(Refund.amount, PaymentMethod.CARD).label("card"),
        )
        .join(Payment, Payment.id == Refund.payment_id)
        .where(Refund.shift_id.is_not(None) if shift_id is None else Refund.shift_id == shift_id)
        .group_by(Refund.shift_id)
        .subquery()
    )
    return taken, given


def _figures(taken, given) -> tuple:
    """Cash and card taken, cash and card refunded: the Z report's columns, in its order."""
    return (
        func.coalesce(taken.c.cash, 0),
        func.coalesce(taken.c.card, 0),
        func.coalesce(given.c.cash, 0),
        func.coalesce(given.c.card, 0),
    )


def shift_totals(session: Session, shift_id: int) -> dict:
    """One shift's figures of the Z report: cash and card taken, cash and card refunded."""
    taken, given = shift_money(shift_id)
    row = session.execute(
        select(*_figures(taken, given))
        .select_from(CashierShift)
        .outerjoin(taken, taken.c.shift_id == CashierShift.id)
        .outerjoin(given, given.c.shift_id == CashierShift.id)
        .where(CashierShift.id == shift_id)
    ).one()
    keys = ("cash_taken", "card_taken", "cash_refunded", "card_refunded")
    return dict(zip(keys, (int(value) for value in row)))


def open_shifts(session: Session, lo, hi) -> list[str]:
    """The shifts opened in [lo, hi) and not closed yet, as the Z report names them (by
    number and the cashier's full name, ``"#12 Каримова Дилноза"``, the user name when none
    is given), in the order it lists them."""
    rows = session.execute(
        select(CashierShift.id, User.username, User.full_name)
        .join(User, User.id == CashierShift.cashier_id)
        .where(within(CashierShift.opened_at, lo, hi), CashierShift.closed_at.is_(None))
        .order_by(CashierShift.opened_at, CashierShift.id)
    )
    return [shift_name(shift_id, full_name, username) for shift_id, username, full_name in rows]


def shift_name(shift_id: int, full_name: str | None, username: str) -> str:
    """How the Z report names a shift: its number and its cashier, by full name."""
    return f"#{shift_id} {full_name or username}"


def shifts_report(session: Session, p: ReportParams, d: Dialect, lo, hi) -> Built:
    taken, given = shift_money()
    statement = (
        select(
            CashierShift.id,
            User.username,
            CashierShift.opened_at,
            CashierShift.closed_at,
            CashierShift.opening_cash,
            *_figures(taken, given),
            CashierShift.expected_cash,
            CashierShift.counted_cash,
            CashierShift.discrepancy,
            User.full_name,
        )
        .join(User, User.id == CashierShift.cashier_id)
        .outerjoin(taken, taken.c.shift_id == CashierShift.id)
        .outerjoin(given, given.c.shift_id == CashierShift.id)
        .where(within(CashierShift.opened_at, lo, hi))
        .order_by(CashierShift.opened_at, CashierShift.id)
    )

    def local(instant) -> str:
        return instant.astimezone(d.tz).strftime("%Y-%m-%d %H:%M") if instant else ""

    still_open = label("shift.open", p.language)

    def rows() -> Iterator[tuple]:
        for row in stream(session, statement):
            opening, cash_in, card_in, cash_out, card_out = (int(v) for v in row[4:9])
            expected = row[9] if row[9] is not None else opening + cash_in - cash_out
            yield (
                # The cashier by name, as her shift slip names her.
                shift_name(row[0], row[12], row[1]),
                local(row[2]),
                # Said in words: a blank would read as a close nobody wrote down.
                local(row[3]) if row[3] is not None else still_open,
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
        Column("counted_cash", "money", total_needs_every_row=True),
        Column("discrepancy", "money", total_needs_every_row=True),
    )
    return Built(p, columns, rows())


def reconciliation_report(session: Session, p: ReportParams, d: Dialect, lo, hi) -> Built:
    """The payments module's reconciliation checks, over the records of the period, read in
    batches by id (memory stays flat however many records the period holds)."""
    lo_ms, hi_ms = int(lo.timestamp() * 1000), int(hi.timestamp() * 1000)
    in_period = {
        PaymeTransaction: and_(
            PaymeTransaction.create_time >= lo_ms, PaymeTransaction.create_time < hi_ms
        ),
        ClickTransaction: within(ClickTransaction.created_at, lo, hi),
        WebhookEvent: within(WebhookEvent.received_at, lo, hi),
        Payment: and_(within(Payment.created_at, lo, hi), Payment.provider.is_not(None)),
    }

    def said(row: tuple) -> tuple:
        """The disagreement in the report's language, Payme and Click by their own names (as
        the revenue names them); a webhook sender by the name it was set up with."""
        kind, provider, *rest = row
        kind = label(f"kind.{kind}", p.language) if f"kind.{kind}" in LABELS else kind
        if provider in PaymentMethod.PROVIDERS:
            provider = label(provider, p.language)
        return (kind, provider, *rest)

    def rows() -> Iterator[tuple]:
        for model, check in reconcile.SOURCES:
            after = 0
            while True:
                batch = session.scalars(
                    select(model)
                    .where(in_period[model], model.id > after)
                    .order_by(model.id)
                    .limit(common.YIELD_PER)
                ).all()
                for record in batch:
                    for found in check(session, record):
                        yield said(tuple(found[c] for c in reconcile.COLUMNS))
                if len(batch) < common.YIELD_PER:
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
