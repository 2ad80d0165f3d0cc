"""Cashier shifts: opened with the cash in the drawer, closed with the cash counted.

A cashier has at most one open shift (a partial unique index decides it). At the close the
expected cash is the opening cash plus the shift's cash payments less its cash refunds; the
discrepancy (counted less expected, negative when cash is missing) is kept with the shift.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clinic.accounts.models import User
from clinic.base import is_id, iso, utcnow
from clinic.db import note_written
from clinic.errors import Conflict, NotFound
from clinic.events import record_event
from clinic.payments import events as ev
from clinic.payments.amounts import whole_tiyin
from clinic.payments.models import CashierShift, Payment, PaymentMethod, Refund

# The longest note a shift is closed with (the API refuses a longer one, the page says so).
NOTE_MAX = 1000


def shift_as_dict(shift: CashierShift) -> dict:
    return {
        "id": shift.id,
        "cashier_id": shift.cashier_id,
        "opened_at": iso(shift.opened_at),
        "closed_at": iso(shift.closed_at),
        "opening_cash": shift.opening_cash,
        "expected_cash": shift.expected_cash,
        "counted_cash": shift.counted_cash,
        "discrepancy": shift.discrepancy,
        "note": shift.note,
    }


def current_shift(
    session: Session, cashier_id: int, *, keep_open=False, cash_out=False
) -> CashierShift | None:
    """The cashier's open shift, if any. ``keep_open``: money is about to go in or out of
    it, so it stays open until this transaction ends (a close waits for it, and a shift
    being closed is not found). ``cash_out``: cash may come out of its drawer, counted
    first: one such change at a time, so that two refunds never both count the same cash."""
    query = select(CashierShift).where(
        CashierShift.cashier_id == cashier_id, CashierShift.closed_at.is_(None)
    )
    return session.scalar(_kept_open(session, query, keep_open, cash_out))


def open_shifts(session: Session, *, cashier_id: int | None = None) -> list[dict]:
    """The shifts open now, oldest first, each with its cashier's name (her full name, else
    her username) and the cash its drawer holds: the drawers a cash refund may come out of.
    ``cashier_id``: hers only."""
    query = (
        select(CashierShift, User.full_name, User.username)
        .join(User, User.id == CashierShift.cashier_id)
        .where(CashierShift.closed_at.is_(None))
        .order_by(CashierShift.id)
    )
    if cashier_id is not None:
        query = query.where(CashierShift.cashier_id == cashier_id)
    return [
        {
            "id": shift.id,
            "cashier_id": shift.cashier_id,
            "cashier_name": full_name or username,
            "opened_at": iso(shift.opened_at),
            "opening_cash": shift.opening_cash,
            "cash_in_drawer": cash_in_drawer(session, shift),
        }
        for shift, full_name, username in session.execute(query)
    ]


def open_shift_by_id(
    session: Session, shift_id, *, keep_open=False, cash_out=False
) -> CashierShift | None:
    """The shift ``shift_id`` if it is open (``keep_open`` and ``cash_out`` as for
    :func:`current_shift`)."""
    if not is_id(shift_id):
        return None
    query = select(CashierShift).where(
        CashierShift.id == shift_id, CashierShift.closed_at.is_(None)
    )
    return session.scalar(_kept_open(session, query, keep_open, cash_out))


def _kept_open(session: Session, query, keep_open: bool, cash_out: bool):
    if (keep_open or cash_out) and session.get_bind().dialect.name == "postgresql":
        # Payments share the row (they only add cash); cash going out takes it alone.
        return query.with_for_update(read=not cash_out)  # SQLite serialises writers already
    return query


def get_shift(session: Session, shift_id: int) -> CashierShift:
    shift = session.get(CashierShift, shift_id) if is_id(shift_id) else None
    if shift is None:
        raise NotFound(f"shift {shift_id} does not exist")
    return shift


def open_shift(session: Session, *, cashier_id: int, opening_cash: int, now=None) -> CashierShift:
    """Open the cashier's shift; Conflict ``shift_open`` if one is open already."""
    opening_cash = whole_tiyin(opening_cash, "opening_cash")
    shift = CashierShift(
        cashier_id=cashier_id, opened_at=now or utcnow(), opening_cash=opening_cash, note=""
    )
    try:
        with session.begin_nested():
            session.add(shift)
            session.flush()
    except IntegrityError as exc:
        raise Conflict("this cashier's shift is already open", code="shift_open") from exc
    record_event(session, ev.DESK_CHANNEL, ev.SHIFT_OPENED, {"shift": shift_as_dict(shift)})
    return shift


def cash_in_drawer(session: Session, shift: CashierShift) -> int:
    """Opening cash + cash taken - cash given back, in this shift."""
    taken = session.scalar(
        select(func.coalesce(func.sum(Payment.amount), 0)).where(
            Payment.shift_id == shift.id, Payment.method == PaymentMethod.CASH
        )
    )
    given_back = session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0))
        .join(Payment, Payment.id == Refund.payment_id)
        .where(Refund.shift_id == shift.id, Payment.method == PaymentMethod.CASH)
    )
    return shift.opening_cash + int(taken) - int(given_back)


def close_shift(
    session: Session, shift: CashierShift, *, counted_cash: int, note: str = "", now=None
) -> CashierShift:
    """Close an open shift with the cash counted; the discrepancy is recorded."""
    counted_cash = whole_tiyin(counted_cash, "counted_cash")
    if session.get_bind().dialect.name == "postgresql":
        # Payments and refunds in flight hold the shift open (``keep_open``): wait for them,
        # so the cash they move is counted.
        session.execute(
            select(CashierShift.id).where(CashierShift.id == shift.id).with_for_update()
        )
    expected = cash_in_drawer(session, shift)
    result = session.execute(
        update(CashierShift)
        .where(CashierShift.id == shift.id, CashierShift.closed_at.is_(None))
        .values(
            closed_at=now or utcnow(),
            expected_cash=expected,
            counted_cash=counted_cash,
            discrepancy=counted_cash - expected,
            note=(note or "")[:NOTE_MAX],
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        # Closed meanwhile at another screen: said as a close with no shift open is.
        raise NotFound("the shift is already closed", code="no_open_shift")
    # A plain update, which the unit of work does not see: the request's audit row names the
    # shift it closed, as it names the one it opened.
    note_written(session, CashierShift.__tablename__, shift.id)
    session.refresh(shift)
    record_event(session, ev.DESK_CHANNEL, ev.SHIFT_CLOSED, {"shift": shift_as_dict(shift)})
    return shift
