"""The cashier's desk: cash and card-terminal payments, refunds and reprints.

Desk payments need the cashier's open shift: cash goes into that shift's drawer (the change
due is tendered less the amount), a card payment is recorded against it too. A client may
send an idempotency key with a payment, so a repeated click or a retried request pays once.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, text
from sqlalchemy.orm import Session

from clinic.base import is_id
from clinic.errors import Conflict, Forbidden, ValidationFailed
from clinic.payments import invoices, receipts, webhooks
from clinic.payments.amounts import whole_tiyin
from clinic.payments.models import (
    DESK_PROVIDER,
    Invoice,
)
from clinic.payments.models import InvoiceStatus as S
from clinic.payments.models import Payment, PaymentMethod, Refund, refunded_by_its_provider
from clinic.payments.refunds import (
    payment_to_refund,
    refund,
    refuse_above_payment,
    refuse_nothing_paid,
)
from clinic.payments.shifts import cash_in_drawer, current_shift, open_shift_by_id
from clinic.payments.unseen import maybe_owed

# A desk payment's idempotency key is stored as the payment's reference of the "provider"
# DESK_PROVIDER (clinic.payments.models).
# The most invoices the desk's list (and its channel's snapshot) holds, newest first.
DESK_LIST_LIMIT = 500
# How far back the desk's list keeps invoices whose patient left unseen, his money kept.
OWED_DAYS = 30


def _open_shift_id(session: Session, cashier_id: int) -> int:
    shift = current_shift(session, cashier_id, keep_open=True)
    if shift is None:
        raise Conflict("open your shift before taking payments", code="no_open_shift")
    return shift.id


def checked_key(idempotency_key) -> str:
    if not isinstance(idempotency_key, str) or not 8 <= len(idempotency_key) <= 100:
        raise ValidationFailed(
            "an idempotency key is 8 to 100 characters",
            errors={"idempotency_key": ["8 to 100 characters"]},
        )
    return idempotency_key


def key_reused(what: str) -> ValidationFailed:
    """The same key again is the same request again (a repeated click): one that asks for
    something else is a mistake of the caller's, not a repeat to answer with the first."""
    return ValidationFailed(
        "that idempotency key was used for another request",
        errors={"idempotency_key": [f"already used for {what}: use a new key"]},
    )


def key_of_another_invoice(what: str) -> Conflict:
    """The key paid or gave back of another invoice: 409 ``ref_used``, naming the key."""
    return Conflict(
        f"that idempotency key {what} another invoice",
        code="ref_used",
        errors={"idempotency_key": [f"{what} another invoice: use a new key"]},
    )


def _repeated_payment(session: Session, key: str, invoice_id, method: str, amount):
    repeated = invoices.find_payment(session, DESK_PROVIDER, key)
    if repeated is None:
        return None
    if repeated.invoice_id != invoice_id:
        raise key_of_another_invoice("paid")
    if repeated.method != method or amount not in (None, repeated.amount):
        raise key_reused(f"a {repeated.method} payment of {repeated.amount} tiyin")
    return repeated


def credit_reported_first(session: Session, invoice_id) -> bool:
    """Before the desk takes money for an invoice, gives part of it back, cancels it or
    discounts it: a card payment its sender reported that no worker has applied yet (one
    behind, or down) is credited now, so that the desk asks only for what is still due and
    never cancels or changes an invoice the patient has paid (the payment would be refused
    later, for an amount no longer due or an invoice cancelled). True when there was one: the
    caller commits it then, to be kept whatever becomes of the desk's request (refused as
    already paid, most often)."""
    return bool(webhooks.apply_waiting_payments(session, invoice_id))


def take_payment(
    session: Session,
    invoice_id: int,
    *,
    cashier_id: int,
    actor: str,
    method: str,
    amount: int | None = None,
    tendered: int | None = None,
    idempotency_key: str | None = None,
) -> Payment:
    """Cash or card at the desk for an invoice; ``amount`` defaults to what is due. Cash
    may come with ``tendered`` (the change due is on the payment)."""
    if method not in PaymentMethod.DESK:
        raise ValidationFailed("cash or card at the desk", errors={"method": ["cash or card"]})
    if method == PaymentMethod.CARD and tendered is not None:
        raise ValidationFailed("no change on a card", errors={"tendered": ["cash only"]})
    key = None
    if idempotency_key is not None:
        key = f"{cashier_id}:{checked_key(idempotency_key)}"
        # A repeat of a payment made (a click answered late, after the shift closed even) is
        # answered with it before anything else is asked of the desk.
        repeated = _repeated_payment(session, key, invoice_id, method, amount)
        if repeated is not None:
            return repeated
    shift_id = _open_shift_id(session, cashier_id)
    invoice = invoices.lock_invoice(session, invoice_id)
    if key is not None:
        # Under the invoice's lock: a request racing this one waited, and finds it now.
        repeated = _repeated_payment(session, key, invoice.id, method, amount)
        if repeated is not None:
            return repeated
    if amount is None:
        amount = invoices.amount_due(invoice) or None
        if amount is None:  # nothing due: say why in the invoice's own words
            invoices.refuse_taking(invoice, None)
            # Only an invoice that is not open has nothing due, and it was refused above.
            raise Conflict(  # pragma: no cover - refused above (see the comment)
                "nothing is due on this invoice", code="nothing_due"
            )
    try:
        return invoices.record_payment(
            session,
            invoice,
            method=method,
            amount=amount,
            provider=DESK_PROVIDER if key else None,
            provider_ref=key,
            actor=actor,
            shift_id=shift_id,
            tendered=tendered if method == PaymentMethod.CASH else None,
        )
    except Conflict as exc:
        # The same key sent to another invoice at the same instant (the invoices' locks do
        # not order the two): that one took it; this one is refused naming the key, as ever.
        if key is not None and exc.code == "ref_used":
            raise key_of_another_invoice("paid") from None
        raise


def refund_at_desk(
    session: Session,
    invoice_id: int,
    *,
    cashier_id: int,
    actor: str,
    amount: int,
    reason: str,
    may_refund_large: bool,
    large_from: int,
    payment_id: int | None = None,
    idempotency_key: str | None = None,
    shift_id: int | None = None,
    method: str | None = None,
    from_own_shift: bool = True,
):
    """A refund given at the desk. Cash given back comes out of the cashier's drawer, so a
    refund of a cash payment needs the cashier's open shift (409 ``no_open_shift``), or the
    open shift named by ``shift_id``: another cashier's only for someone who may give large
    refunds (a manager giving a large sum back from the drawer of the desk he stands at).
    ``from_own_shift`` false: cash comes only from the shift named, never from the caller's
    own (the refunds page, where an administrator with a drawer of his own chose none). The
    same ``idempotency_key`` again (a repeated click, a resent request) gives back once and
    answers with the first refund. ``method`` (cash or card): given back the way the patient
    asks, from the invoice's newest payment of that kind that covers it (part paid in cash
    and part by card, the cash is given back in cash)."""
    if method is not None and method not in PaymentMethod.DESK:
        raise ValidationFailed("cash or card", errors={"method": ["cash or card"]})
    key = None
    if idempotency_key is not None:
        key = f"{DESK_PROVIDER}:{cashier_id}:{checked_key(idempotency_key)}"
        # A repeat of a refund given is answered with it, whatever became of the shift since.
        repeated = _repeated_refund(session, key, invoice_id, amount, payment_id, method)
        if repeated is not None:
            return repeated
        _take_key(session, key)
    # The shift before the invoice, in the order a payment takes them (no deadlock).
    shift = _refunding_shift(
        session,
        cashier_id,
        shift_id,
        may_refund_large=may_refund_large,
        from_own_shift=from_own_shift,
    )
    invoice = invoices.lock_invoice(session, invoice_id)
    if key is not None:
        # Under the invoice's lock: a request racing this one waits, then finds this refund.
        repeated = _repeated_refund(session, key, invoice.id, amount, payment_id, method)
        if repeated is not None:
            return repeated
    if payment_id is not None:
        target = session.get(Payment, payment_id) if is_id(payment_id) else None
        if target is None or target.invoice_id != invoice.id:
            raise ValidationFailed(
                "not a payment of this invoice", errors={"payment_id": ["not of this invoice"]}
            )
        if method is not None and target.method != method:
            raise ValidationFailed(
                f"payment {target.id} was paid by {target.method}",
                errors={"method": [f"the payment was paid by {target.method}"]},
            )
        if refunded_by_its_provider(target):
            raise Conflict(
                f"a {target.provider} payment is refunded by {target.provider}: its refund"
                " reaches this invoice by itself",
                code="refund_at_provider",
                errors={"payment_id": [f"refund it at {target.provider}"]},
            )
        # Said before the drawer is looked at, as without a payment named.
        refuse_nothing_paid(invoice)
        amount = whole_tiyin(amount, "amount", positive=True)
        refuse_above_payment(target, amount)
    else:
        refuse_nothing_paid(invoice)  # nothing paid to give back: say so, not "amount"
        amount = whole_tiyin(amount, "amount", positive=True)
        target = _desk_payment_to_refund(session, invoice, amount, method)
    if shift_id is not None and target.method != PaymentMethod.CASH:
        # Only cash leaves a drawer: a card refund counted in a named shift would stand in
        # its cashier's figures as hers, though she gave nothing back.
        raise ValidationFailed(
            f"a {target.method} refund takes no drawer",
            errors={"shift_id": [f"a {target.method} refund takes no drawer"]},
        )
    if target.method == PaymentMethod.CASH:
        if shift is None:
            raise _no_drawer(names_a_shift=may_refund_large or not from_own_shift)
        in_drawer = cash_in_drawer(session, shift)
        if whole_tiyin(amount, "amount", positive=True) > in_drawer:
            # The drawer cannot give what it does not hold (a payment of an earlier shift).
            raise Conflict(
                f"the drawer holds {in_drawer} tiyin",
                code="not_enough_cash",
                errors={"amount": [f"at most {max(in_drawer, 0)} tiyin in the drawer"]},
            )
    return refund(
        session,
        target,
        amount=amount,
        reason=reason,
        actor=actor,
        may_refund_large=may_refund_large,
        large_from=large_from,
        shift_id=shift.id if shift else None,
        provider_ref=key,
    )


def _no_drawer(*, names_a_shift: bool) -> Conflict:
    """No drawer to give cash back from: a cashier opens her shift; a manager, who keeps no
    drawer (or whoever is not to give it from his own), names the open shift of the desk he
    stands at (``shift_id``)."""
    if not names_a_shift:
        return Conflict("open your shift to give cash back", code="no_open_shift")
    return Conflict(
        "cash is given back from a drawer: name the open shift of the desk (shift_id)",
        code="no_open_shift",
        errors={"shift_id": ["the open shift whose drawer gives the cash back"]},
    )


def _desk_payment_to_refund(
    session: Session, invoice: Invoice, amount: int, method: str | None = None
) -> Payment:
    if method is not None:
        paid = invoices.payments_of(session, invoice.id)
        if not any(p.method == method and p.amount > p.refunded_amount for p in paid):
            raise ValidationFailed(
                f"nothing paid by {method} is left to give back",
                errors={"method": [f"nothing paid by {method} left to give back"]},
            )
        # Of the kind asked for only: never the card's money handed back in cash.
        return payment_to_refund(session, invoice, amount, among=lambda p: p.method == method)
    try:
        return payment_to_refund(
            session, invoice, amount, among=lambda p: not refunded_by_its_provider(p)
        )
    except ValidationFailed:
        paid = invoices.payments_of(session, invoice.id)
        online = sorted({p.provider for p in paid if refunded_by_its_provider(p)})
        if not online:
            raise
        raise Conflict(
            f"paid through {', '.join(online)}: refunded there, the refund reaches this invoice"
            " by itself",
            code="refund_at_provider",
        ) from None


def _take_key(session: Session, key: str) -> None:
    """One refund with ``key`` at a time, whichever invoice it names (PostgreSQL; SQLite has
    one writer): the invoice's lock orders two refunds of one invoice, not the same key sent
    to two invoices at once, which would otherwise both give back. Taken before the shift and
    the invoice, and only by refunds of this key, so it waits for no lock a holder waits on."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


def _repeated_refund(session: Session, key: str, invoice_id, amount, payment_id, method):
    repeated = session.scalar(select(Refund).where(Refund.provider_ref == key).limit(1))
    if repeated is None:
        return None
    if repeated.invoice_id != invoice_id:
        raise key_of_another_invoice("refunded")
    # Given back another way (cash rather than card, from another payment) is another refund.
    paid_by = session.scalar(select(Payment.method).where(Payment.id == repeated.payment_id))
    if (
        amount != repeated.amount
        or payment_id not in (None, repeated.payment_id)
        or method not in (None, paid_by)
    ):
        raise key_reused(f"a refund of {repeated.amount} tiyin from payment {repeated.payment_id}")
    return repeated


def _refunding_shift(
    session: Session, cashier_id: int, shift_id, *, may_refund_large: bool, from_own_shift: bool
):
    # Taken alone: whether the drawer holds the cash is counted under this lock.
    if shift_id is None:
        # None named where the caller's own is not to be used: no drawer (a cash refund is
        # refused, naming shift_id).
        return current_shift(session, cashier_id, cash_out=True) if from_own_shift else None
    shift = open_shift_by_id(session, shift_id, cash_out=True)
    if shift is None:
        raise ValidationFailed("not an open shift", errors={"shift_id": ["not an open shift"]})
    if shift.cashier_id != cashier_id and not may_refund_large:
        raise Forbidden(
            "only a manager gives cash back from another cashier's drawer",
            code="not_your_shift",
            errors={"shift_id": ["another cashier's shift"]},
        )
    return shift


def request_reprint(session: Session, invoice_id: int, *, actor: str) -> Invoice:
    """Ask the printing module for another copy of a paid invoice's receipt."""
    invoice = invoices.get_invoice(session, invoice_id)
    if invoice.paid_at is None:
        raise Conflict("only a paid invoice has a receipt", code="not_paid")
    receipts.request_print(session, invoice, reprint=True, requested_by=actor)
    return invoice


def todays_invoices(
    session: Session,
    *,
    tz: ZoneInfo,
    now: datetime,
    status: str | None = None,
    limit: int = DESK_LIST_LIMIT,
) -> list[Invoice]:
    """The clinic day's invoices, those of the week before still open or paid today, and
    those of the last :data:`OWED_DAYS` days whose patient left unseen with their money kept
    (an appointment paid ahead, cancelled since: :func:`.unseen.maybe_owed`), newest first:
    one paid at the desk today stays on its list (to reprint, to give back). ``status``:
    only those in it, chosen before the list is cut at ``limit`` (an open one of yesterday
    behind a busy day's cancelled ones is still found)."""
    midnight = datetime.combine(now.astimezone(tz).date(), time(0), tzinfo=tz)
    since = midnight.astimezone(ZoneInfo("UTC"))
    query = select(Invoice).where(
        or_(
            Invoice.created_at >= since,
            (Invoice.created_at >= since - timedelta(7))
            & ((Invoice.status == S.OPEN) | (Invoice.paid_at >= since)),
            maybe_owed(since - timedelta(OWED_DAYS)),
        )
    )
    if status is not None:
        query = query.where(Invoice.status == status)
    return list(session.scalars(query.order_by(Invoice.id.desc()).limit(limit)))
