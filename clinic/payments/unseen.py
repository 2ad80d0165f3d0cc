"""Money paid for a patient who was never seen: the invoice's ticket ended cancelled (at the
desk, by the patient, with the day's closing) or a no-show, and what was paid is still kept.
Nothing gives it back by itself; the cashier's desk shows each such invoice, to give the money
back (docs/payments.md, "Not seen: give the money back"): what the desk gives back itself, and
what only the provider that took it can (Payme's, a card webhook sender's: refunded there, the
refund reaches the invoice by itself, :func:`.models.refunded_by_its_provider`).

An invoice follows the patient, not the ticket it was made for: sent on to another queue (and
back), he holds the ticket the transfers led to, and it is that one's end that counts. The
patient counts as seen once any ticket of that way was taken into service or served, or his
appointment was begun (the rule Payme's refunds follow, :func:`.refunds.service_rendered`);
an appointment still to come (moved to another day, checked in again) keeps its money. An
invoice for an appointment alone (paid ahead, from his phone or at the desk, before he
checked in: it bills no ticket) is owed once the appointment is cancelled or missed.

Screens hear of it on the desk channel: a queue step that ends a ticket, or takes a no-show
back, and an appointment cancelled or missed, are followed once they commit by
``invoice.changed`` (``"change": "ticket"``) for each invoice along the patient's way (or of
that appointment alone) that keeps money, recorded in a transaction of its own that
takes the invoice's row and then the desk's events, as a payment does. Recorded in the step's
own transaction, after its queue events, the desk's counter would be taken after a queue's,
the reverse of a payment's order (a deadlock with a payment at that moment).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Callable

from sqlalchemy import and_, case, literal, or_, select
from sqlalchemy.orm import Session, aliased

from clinic.base import CLINIC_TZ, utcnow
from clinic.db import TZ_KEY, on_commit
from clinic.events import BUS_KEY, record_events
from clinic.events.outbox import on_recorded
from clinic.payments import events as ev
from clinic.payments.models import Invoice, Payment, refunded_by_its_provider
from clinic.queue.models import Ticket, TicketStatus
from clinic.visits.events import VisitStatus
from clinic.visits.models import Visit

# The ends of a ticket that leave its patient unseen.
ENDED_UNSEEN = (TicketStatus.CANCELLED, TicketStatus.NO_SHOW)
# An appointment whose money waits for it (still to come) or was spent on it (begun, over).
# An arrived one waits for it on its own day only (moved to a colleague whose queue has
# closed, he waits for him without a ticket); an arrived visit of a day gone, never begun,
# is a patient who left.
_VISIT_KEEPS = (VisitStatus.SCHEDULED, VisitStatus.IN_PROGRESS, VisitStatus.COMPLETED)
# Longer than any patient's way through the queues of a day (each step is a transfer).
_LONGEST_WAY = 50
# The queue steps after which an invoice along the patient's way may read otherwise.
_STEPS = frozenset({"ticket.cancelled", "ticket.no_show", "ticket.day_closed", "ticket.came_back"})
# How an appointment paid for alone ends unseen, as the invoice's ``not_seen`` says it.
_APPOINTMENT_ENDS = {
    VisitStatus.CANCELLED: "appointment_cancelled",
    VisitStatus.NO_SHOW: "appointment_missed",
}
CHANGE = "ticket"
_PENDING_KEY = "clinic.payments.unseen_tickets"


@dataclass(frozen=True)
class TicketEnd:
    """How an invoice's patient left: the status of the ticket he holds now (None: the invoice
    bills no ticket) and, when he left unseen, how (``why``: ``cancelled`` or ``no_show``, his
    ticket's end; ``appointment_cancelled`` or ``appointment_missed``, an appointment paid
    for alone), and then what is kept of the payments only their provider gives back
    (``at_providers``: provider and tiyin, by provider's name)."""

    status: str | None = None
    why: str | None = None
    at_providers: tuple[tuple[str, int], ...] = ()

    @property
    def unseen(self) -> bool:
        return self.why is not None


NO_TICKET = TicketEnd()


def money_kept(invoice: Invoice) -> int:
    """What was paid of ``invoice`` and not given back, tiyin."""
    return invoice.paid_amount - invoice.refunded_amount


def to_give_back(invoice: Invoice, end: TicketEnd) -> int:
    """What the patient is owed: the money kept of an invoice whose patient left unseen."""
    return money_kept(invoice) if end.unseen else 0


def owed_through(invoice: Invoice, end: TicketEnd) -> dict[str, int]:
    """Of what the patient is owed, what only a provider gives back (in its cabinet), tiyin by
    provider; the desk's refund of such a payment is refused (409 ``refund_at_provider``)."""
    owed = to_give_back(invoice, end)
    through: dict[str, int] = {}
    for provider, kept in end.at_providers:
        share = min(kept, owed - sum(through.values()))
        if share > 0:
            through[provider] = share
    return through


def to_give_back_at_desk(invoice: Invoice, end: TicketEnd) -> int:
    """Of what the patient is owed, what the desk gives back itself (cash, its card terminal,
    Click's payments given back in Click's cabinet and recorded at the desk)."""
    return to_give_back(invoice, end) - sum(owed_through(invoice, end).values())


def _kept_payment():
    """The join of an invoice's payments keeping money (none: a row of nulls)."""
    return and_(Payment.invoice_id == Invoice.id, Payment.amount > Payment.refunded_amount)


def _note_online(online: dict[int, dict[int, tuple[str, int]]], invoice_id: int, payment):
    """Note ``payment`` of ``invoice_id`` (a joined row's, None without one) when only its
    provider gives it back."""
    if payment is not None and refunded_by_its_provider(payment):
        kept = payment.amount - payment.refunded_amount
        online.setdefault(invoice_id, {})[payment.id] = (payment.provider, kept)


def _at_providers(payments: dict[int, tuple[str, int]] | None) -> tuple[tuple[str, int], ...]:
    """The money kept of ``payments`` (id -> provider, tiyin) by provider, by name."""
    by_provider: dict[str, int] = {}
    for provider, kept in (payments or {}).values():
        by_provider[provider] = by_provider.get(provider, 0) + kept
    return tuple(sorted(by_provider.items()))


def _seen(ticket) -> object:
    return case(
        (or_(ticket.started_at.is_not(None), ticket.status == TicketStatus.SERVED), 1), else_=0
    )


def _today_starts(session: Session) -> datetime:
    tz = session.info.get(TZ_KEY) or CLINIC_TZ
    return datetime.combine(utcnow().astimezone(tz).date(), time(0), tzinfo=tz)


def ticket_ends(session: Session, invoices) -> dict[int, TicketEnd]:
    """How each of ``invoices``' patients left, by invoice id, read in one statement whatever
    their number (their tickets and the ones the transfers opened from them, their
    appointments and their payments keeping money), and one more for those billing an
    appointment alone, when there are any.
    Only invoices keeping money paid are read: of the others nobody is owed anything, and
    their ``status`` is not read either (payments and holds of open invoices send no
    statement for it)."""
    invoices = [i for i in invoices if money_kept(i) > 0]
    ends = _appointment_ends(session, [i for i in invoices if i.ticket_id is None])
    invoices = [i for i in invoices if i.ticket_id is not None]
    if not invoices:
        return ends
    first = (
        select(
            Ticket.id.label("origin"),
            Ticket.id.label("id"),
            literal(0).label("depth"),
            Ticket.status.label("status"),
            _seen(Ticket).label("seen"),
        )
        .where(Ticket.id.in_({i.ticket_id for i in invoices}))
        .cte("way", recursive=True)
    )
    onward = aliased(Ticket)
    way = first.union_all(
        select(first.c.origin, onward.id, first.c.depth + 1, onward.status, _seen(onward)).where(
            onward.transferred_from_id == first.c.id, first.c.depth < _LONGEST_WAY
        )
    )
    rows = session.execute(
        select(
            Invoice.id,
            way.c.depth,
            way.c.status,
            way.c.seen,
            Visit.status,
            Visit.starts_at,
            Payment,
        )
        .select_from(Invoice)
        .join(way, way.c.origin == Invoice.ticket_id)
        .outerjoin(Visit, Visit.id == Invoice.visit_id)
        .outerjoin(Payment, _kept_payment())
        .where(Invoice.id.in_([i.id for i in invoices]))
    )
    last: dict[int, tuple[int, str]] = {}
    seen: set[int] = set()
    visit_keeps: set[int] = set()
    online: dict[int, dict[int, tuple[str, int]]] = {}
    today = _today_starts(session)
    for invoice_id, depth, status, was_seen, visit_status, visit_starts, payment in rows:
        _note_online(online, invoice_id, payment)
        if invoice_id not in last or depth > last[invoice_id][0]:
            last[invoice_id] = (depth, status)
        if was_seen:
            seen.add(invoice_id)
        if visit_status in _VISIT_KEEPS or (
            visit_status == VisitStatus.ARRIVED and visit_starts >= today
        ):
            visit_keeps.add(invoice_id)
    for invoice_id, (_depth, status) in last.items():
        unseen = status in ENDED_UNSEEN and invoice_id not in seen | visit_keeps
        ends[invoice_id] = TicketEnd(
            status=status,
            why=status if unseen else None,
            at_providers=_at_providers(online.get(invoice_id)) if unseen else (),
        )
    return ends


def _appointment_ends(session: Session, invoices) -> dict[int, TicketEnd]:
    """The ends of the invoices for an appointment alone among ``invoices`` (none billing a
    ticket), in one statement when there are any: cancelled or missed, he was never seen."""
    alone = [i.id for i in invoices if i.visit_id is not None]
    if not alone:
        return {}
    rows = session.execute(
        select(Invoice.id, Visit.status, Payment)
        .join(Visit, Visit.id == Invoice.visit_id)
        .outerjoin(Payment, _kept_payment())
        .where(Invoice.id.in_(alone), Invoice.ticket_id.is_(None))
    )
    ended: dict[int, str] = {}
    online: dict[int, dict[int, tuple[str, int]]] = {}
    for invoice_id, status, payment in rows:
        if status in _APPOINTMENT_ENDS:
            ended[invoice_id] = _APPOINTMENT_ENDS[status]
            _note_online(online, invoice_id, payment)
    return {
        invoice_id: TicketEnd(why=why, at_providers=_at_providers(online.get(invoice_id)))
        for invoice_id, why in ended.items()
    }


def maybe_owed(since):
    """A condition on invoices: money kept of one made since ``since`` whose ticket (the one it
    was made for) ended cancelled or a no-show, or whose appointment, billed alone, was
    cancelled or missed. The desk's list keeps these after their day, for the patient who
    comes back for his money; whether each is owed is :func:`ticket_ends`' to say."""
    ended = (
        select(Ticket.id)
        .where(Ticket.id == Invoice.ticket_id, Ticket.status.in_(ENDED_UNSEEN))
        .exists()
    )
    missed = (
        select(Visit.id)
        .where(Visit.id == Invoice.visit_id, Visit.status.in_(tuple(_APPOINTMENT_ENDS)))
        .exists()
    )
    return and_(
        Invoice.created_at >= since,
        Invoice.paid_amount > Invoice.refunded_amount,
        or_(ended, and_(Invoice.ticket_id.is_(None), missed)),
    )


def ticket_end(session: Session | None, invoice: Invoice) -> TicketEnd:
    """:func:`ticket_ends` of one invoice (one statement; none when it bills neither a ticket
    nor an appointment, or keeps no money)."""
    if session is None or invoice.id is None or money_kept(invoice) <= 0:
        return NO_TICKET
    if invoice.ticket_id is None and invoice.visit_id is None:
        return NO_TICKET
    return ticket_ends(session, [invoice]).get(invoice.id, NO_TICKET)


# -- telling the desk -----------------------------------------------------------------------


# How the desk's events show an invoice: the staff view (:mod:`.views`), which reads the
# ends from this module and so hands itself over, ``view(session, invoices, ends)``.
_staff_view: Callable[[Session, list[Invoice], dict[int, TicketEnd]], list[dict]] | None = None


def shown_by(view):
    """Register ``view`` as what the desk is told of the invoices along a patient's way."""
    global _staff_view
    _staff_view = view
    return view


def _heard(session: Session, events) -> None:
    """Note the tickets a queue step of this transaction ended or took back, and the
    appointments it cancelled or marked missed, to tell the desk of their invoices once it
    commits."""
    tickets = {
        e.data["id"]
        for e in events
        if e.type in _STEPS and e.channel.startswith("queue:") and isinstance(e.data.get("id"), int)
    }
    # Each appointment's change is told on its doctor's calendar (and his department's).
    appointments = {
        e.data["id"]
        for e in events
        if e.channel.startswith("visits_doctor:")
        and e.data.get("status") in _APPOINTMENT_ENDS
        and isinstance(e.data.get("id"), int)
    }
    if not (tickets or appointments) or _staff_view is None:
        return
    transaction = session.get_transaction()
    noted = session.info.get(_PENDING_KEY)
    if noted is None or noted[0] is not transaction:
        # The first of this transaction (one rolled back before it left its note behind).
        noted = session.info[_PENDING_KEY] = (transaction, set(), set())
        bind, info = session.get_bind(), {k: session.info.get(k) for k in (BUS_KEY, TZ_KEY)}
        pending_tickets, pending_appointments = noted[1], noted[2]

        def tell() -> None:
            if session.info.get(_PENDING_KEY, (None,))[0] is transaction:
                session.info.pop(_PENDING_KEY, None)
            tell_the_desk(bind, info, sorted(pending_tickets), sorted(pending_appointments))

        on_commit(session, tell)
    noted[1].update(tickets)
    noted[2].update(appointments)


on_recorded(_heard)


def _way_back(ticket_ids: list[int]):
    """The tickets ``ticket_ids`` and every one they were transferred from (a CTE)."""
    first = select(Ticket.id, Ticket.transferred_from_id).where(Ticket.id.in_(ticket_ids))
    first = first.cte("way_back", recursive=True)
    earlier = aliased(Ticket)
    return first.union_all(
        select(earlier.id, earlier.transferred_from_id).where(
            earlier.id == first.c.transferred_from_id
        )
    )


def tell_the_desk(bind, info: dict, ticket_ids: list[int], visit_ids: list[int] = ()) -> None:
    """Record ``invoice.changed`` on the desk channel for each invoice keeping money along the
    way of ``ticket_ids`` (each ticket and those it was transferred from), and of each of
    ``visit_ids`` billing it alone, as it is now: in a transaction of its own, the invoices'
    rows taken first (PostgreSQL), then the desk's events, a payment's order. A refund
    committing meanwhile is waited for and said."""
    billed = []
    if ticket_ids:
        billed.append(Invoice.ticket_id.in_(select(_way_back(ticket_ids).c.id)))
    if visit_ids:
        billed.append(and_(Invoice.ticket_id.is_(None), Invoice.visit_id.in_(visit_ids)))
    if not billed:
        return
    with Session(bind=bind, info=info, expire_on_commit=False) as session, session.begin():
        query = (
            select(Invoice)
            .where(or_(*billed), Invoice.paid_amount > Invoice.refunded_amount)
            .order_by(Invoice.id)
            .execution_options(populate_existing=True)
        )
        if bind.dialect.name == "postgresql":
            query = query.with_for_update(of=Invoice)
        found = session.scalars(query).all()
        if not found:
            return
        shown = _staff_view(session, found, ticket_ends(session, found))
        record_events(
            session,
            [
                (ev.DESK_CHANNEL, ev.INVOICE_CHANGED, {"invoice": invoice, "change": CHANGE})
                for invoice in shown
            ],
        )
