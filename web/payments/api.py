"""Invoices, desk payments, refunds, reprints and cashier shifts.

Taking money needs ``payments.take`` (cashiers); a refund ``payments.refund``, and above
``CLINIC_REFUND_APPROVAL_FROM`` also ``payments.refund_large`` (managers, administrators);
a discount ``payments.discount``. Amounts are integer tiyin.
"""

from __future__ import annotations

from sqlalchemy import select

from clinic.base import iso, utcnow
from clinic.errors import NotFound
from clinic.events import channel_last_seq
from clinic.payments import desk, invoice_once, invoices, shifts, subjects
from clinic.payments.events import DESK_CHANNEL
from clinic.payments.models import Invoice, Refund
from clinic.payments.refunds import refund_as_dict
from clinic.payments.release import release_online_hold
from clinic.payments.unseen import ticket_ends
from clinic.payments.views import services_of
from web import db
from web.api.blueprint import Blueprint
from web.api.schemas import ProblemSchema
from web.auth.identity import current_identity
from web.i18n import current_language
from web.payments import schemas
from web.payments.providers import now_ms
from web.permissions import requires
from web.queue.cards import queue_name

blp = Blueprint(
    "payments", __name__, url_prefix="/api/v1/payments", description="Invoices and the desk"
)


def _identity():
    return current_identity()


def _actor() -> str:
    identity = _identity()
    return identity.username if identity else ""


def _desk_event_id(session) -> int:
    """The number of the desk channel's last event committed, read before the invoices an
    answer gives: they reflect that event and every one before it (events of one channel
    commit in number order), so a screen tells by it an answer older than the events it has
    drawn (``desk_event_id``, as a snapshot's ``last_id``)."""
    return channel_last_seq(session, DESK_CHANNEL)


def _answered(session, invoice_id: int) -> tuple[Invoice, int]:
    """The invoice as it is now, read anew after its ``desk_event_id``: the session may hold
    it as the request's own change left it, which a change committed since may have passed."""
    seen = _desk_event_id(session)
    invoice = session.scalar(
        select(Invoice).where(Invoice.id == invoice_id).execution_options(populate_existing=True)
    )
    if invoice is None:  # pragma: no cover - the request has just read or changed it
        raise NotFound(f"invoice {invoice_id} does not exist")
    return invoice, seen


def _invoice_out(session, invoice_id: int) -> dict:
    invoice, seen = _answered(session, invoice_id)
    return {**invoices.invoice_as_dict(invoice), "desk_event_id": seen}


def _detail(session, invoice) -> dict:
    invoice, seen = _answered(session, invoice.id)
    refunds = session.scalars(
        select(Refund).where(Refund.invoice_id == invoice.id).order_by(Refund.id)
    )
    return {
        # Its lines named in every language.
        **invoices.invoice_as_dict(invoice, services_of(session, [invoice])),
        "desk_event_id": seen,
        "payments": [
            invoices.payment_as_dict(p) for p in invoices.payments_of(session, invoice.id)
        ],
        "refunds": [refund_as_dict(r) for r in refunds],
    }


def _shift_out(session, shift) -> dict:
    return {**shifts.shift_as_dict(shift), "cash_in_drawer": shifts.cash_in_drawer(session, shift)}


# -- invoices -------------------------------------------------------------------------------


@blp.route("/invoices")
@requires("payments.read")
@blp.arguments(schemas.InvoicesQuery, location="query")
@blp.response(200, schemas.InvoiceOut(many=True))
def list_invoices(query):
    """The clinic day's invoices and those of the week before still open or paid today,
    newest first; with ``number``, the invoice of that number whatever its day (or none)."""
    session = db.session()
    status = query.get("status")
    seen = _desk_event_id(session)  # before the invoices: they reflect it at least
    if query.get("number"):
        found = invoices.invoices_numbered(session, query["number"])
        found = [i for i in found if status is None or i.status == status]
    else:
        found = desk.todays_invoices(
            session, tz=db.runtime().settings.tz, now=utcnow(), status=status
        )
    services = services_of(session, found)  # their lines named in every language
    ends = ticket_ends(session, found)  # whose patients left unseen: one statement for all
    return [{**invoices.invoice_as_dict(i, services, ends), "desk_event_id": seen} for i in found]


@blp.route("/invoices", methods=["POST"])
@requires("payments.take")
@blp.arguments(schemas.InvoiceIn)
@blp.response(201, schemas.InvoiceDetail)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(422, schema=ProblemSchema)
def create_invoice(data):
    """An invoice from the price list for a patient (and optionally a queue ticket and an
    appointment). With ``idempotency_key``, the same request again is answered with the
    invoice it made, as the first was, and makes no second one."""
    session = db.session()
    invoice, _made = invoice_once.create_invoice_once(
        session,
        idempotency_key=data["idempotency_key"],
        patient_id=data["patient_id"],
        ticket_id=data["ticket_id"],
        visit_id=data["visit_id"],
        lines=data["lines"],
        actor=_actor(),
        tz=db.runtime().settings.tz,
    )
    session.commit()
    return _detail(session, invoice)


@blp.route("/patients/<int:patient_id>/tickets")
@requires("payments.take")
@blp.response(200, schemas.TicketOfDay(many=True))
@blp.alt_response(404, schema=ProblemSchema)
def patients_tickets(patient_id: int):
    """The patient's tickets of the clinic day that a new invoice may be for (its
    ``ticket_id``): still in their queue or served, the newest first."""
    session = db.session()
    found = subjects.todays_tickets(session, patient_id, tz=db.runtime().settings.tz, now=utcnow())
    language = current_language()
    return [
        {
            "id": t.id,
            "code": t.code,
            "queue_id": t.queue_id,
            "queue_name": queue_name(t.queue, language),
            "status": t.status,
            "paid_at": iso(t.paid_at),
        }
        for t in found
    ]


@blp.route("/invoices/<int:invoice_id>")
@requires("payments.read")
@blp.response(200, schemas.InvoiceDetail)
@blp.alt_response(404, schema=ProblemSchema)
def get_invoice(invoice_id: int):
    """An invoice with its lines, payments and refunds."""
    session = db.session()
    return _detail(session, invoices.get_invoice(session, invoice_id))


@blp.route("/invoices/<int:invoice_id>/discount", methods=["POST"])
@requires("payments.discount")
@blp.arguments(schemas.DiscountIn)
@blp.response(200, schemas.InvoiceDetail)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema)
@blp.alt_response(422, schema=ProblemSchema)
def set_discount(data, invoice_id: int):
    """A discount with its reason, before anything is paid (409 ``lines_frozen`` after)."""
    session = db.session()
    if desk.credit_reported_first(session, invoice_id):
        session.commit()  # paid meanwhile by card: kept, and the discount refused
    invoice = invoices.set_discount(
        session,
        invoices.get_invoice(session, invoice_id),
        amount=data["amount"],
        reason=data["reason"],
        actor=_actor(),
    )
    session.commit()
    return _detail(session, invoice)


@blp.route("/invoices/<int:invoice_id>/cancel", methods=["POST"])
@requires("payments.take")
@blp.response(200, schemas.InvoiceDetail)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema)
def cancel_invoice(invoice_id: int):
    """Cancel an invoice nothing was paid of."""
    session = db.session()
    if desk.credit_reported_first(session, invoice_id):
        session.commit()  # paid meanwhile by card: kept, and the cancel refused
    invoice = invoices.cancel_invoice(
        session, invoices.get_invoice(session, invoice_id), actor=_actor()
    )
    session.commit()
    return _detail(session, invoice)


# -- the desk -------------------------------------------------------------------------------


@blp.route("/invoices/<int:invoice_id>/pay", methods=["POST"])
@requires("payments.take")
@blp.arguments(schemas.PayIn)
@blp.response(201, schemas.PaymentResult)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema)
@blp.alt_response(422, schema=ProblemSchema)
def pay(data, invoice_id: int):
    """Cash (with the cash tendered: the change due comes back) or card at the desk, in the
    cashier's open shift (409 ``no_open_shift`` otherwise). 409 ``already_paid`` or ``held``
    when the invoice was paid or is being paid elsewhere."""
    session = db.session()
    if desk.credit_reported_first(session, invoice_id):
        session.commit()  # kept, whatever the desk's payment meets
    payment = desk.take_payment(
        session,
        invoice_id,
        cashier_id=_identity().user_id,
        actor=_actor(),
        method=data["method"],
        amount=data["amount"],
        tendered=data["tendered"],
        idempotency_key=data["idempotency_key"],
    )
    session.commit()
    return {
        "payment": invoices.payment_as_dict(payment),
        "invoice": _invoice_out(session, invoice_id),
    }


@blp.route("/invoices/<int:invoice_id>/refunds", methods=["POST"])
@requires("payments.refund")
@blp.arguments(schemas.RefundIn)
@blp.response(201, schemas.RefundResult)
@blp.alt_response(403, schema=ProblemSchema)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema)
@blp.alt_response(422, schema=ProblemSchema)
def refund(data, invoice_id: int):
    """Give money back with a reason. Above the clinic's limit only with
    ``payments.refund_large`` (403 ``approval_required``); the same ``idempotency_key``
    again gives back once."""
    session = db.session()
    if desk.credit_reported_first(session, invoice_id):
        session.commit()  # the rest paid meanwhile by card: what is given back is of a paid invoice
    identity = _identity()
    made = desk.refund_at_desk(
        session,
        invoice_id,
        cashier_id=identity.user_id,
        actor=_actor(),
        amount=data["amount"],
        reason=data["reason"],
        payment_id=data["payment_id"],
        method=data["method"],
        idempotency_key=data["idempotency_key"],
        shift_id=data["shift_id"],
        from_own_shift=data["from_own_shift"],
        may_refund_large=identity.can("payments.refund_large"),
        large_from=db.runtime().settings.refund_approval_from,
    )
    session.commit()
    return {"refund": refund_as_dict(made), "invoice": _invoice_out(session, invoice_id)}


@blp.route("/invoices/<int:invoice_id>/release", methods=["POST"])
@requires("payments.take")
@blp.arguments(schemas.ReleaseIn)
@blp.response(200, schemas.ReleaseResult)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema)
@blp.alt_response(422, schema=ProblemSchema)
def release(data, invoice_id: int):
    """Let go of an invoice held by an online payment the patient did not confirm (Payme
    created, Click prepared): that payment is cancelled on our side and the desk may take
    the invoice. ``held_by`` is the hold the cashier saw; 409 ``hold_changed`` when another
    holds it now, ``not_held``, ``already_paid``, ``not_open``, or ``not_releasable`` (not an
    online payment waiting). Moves no money, so no open shift is needed."""
    session = db.session()
    released = release_online_hold(
        session, invoice_id, holder=data["held_by"], actor=_actor(), payme_now=now_ms()
    )
    session.commit()
    invoice = released.pop("invoice")
    return {"invoice": _invoice_out(session, invoice.id), "released": released}


@blp.route("/invoices/<int:invoice_id>/reprint", methods=["POST"])
@requires("payments.take")
@blp.response(202, schemas.InvoiceOut)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema)
def reprint(invoice_id: int):
    """Ask the printing module for another copy of a paid invoice's receipt."""
    session = db.session()
    invoice = desk.request_reprint(session, invoice_id, actor=_actor())
    session.commit()
    return _invoice_out(session, invoice.id)


# -- shifts ---------------------------------------------------------------------------------


@blp.route("/shifts/current")
@requires("payments.take")
@blp.response(200, schemas.CurrentShift)
def current_shift():
    """The signed-in cashier's open shift (``shift`` is null when none is open)."""
    session = db.session()
    shift = shifts.current_shift(session, _identity().user_id)
    return {"shift": _shift_out(session, shift) if shift else None}


@blp.route("/shifts/open")
@requires("payments.refund")
@blp.response(200, schemas.OpenShiftOut(many=True))
def open_shifts():
    """The shifts open now, with the cash each drawer holds: the drawers a cash refund may
    come out of (its ``shift_id``). Every open shift for a holder of
    ``payments.refund_large`` (a manager at a cashier's desk); a cashier's own otherwise."""
    identity = _identity()
    mine = None if identity.can("payments.refund_large") else identity.user_id
    return shifts.open_shifts(db.session(), cashier_id=mine)


@blp.route("/shifts", methods=["POST"])
@requires("payments.take")
@blp.arguments(schemas.ShiftOpenIn)
@blp.response(201, schemas.ShiftOut)
@blp.alt_response(409, schema=ProblemSchema)
def open_shift(data):
    """Open the signed-in cashier's shift with the cash in the drawer."""
    session = db.session()
    shift = shifts.open_shift(
        session, cashier_id=_identity().user_id, opening_cash=data["opening_cash"]
    )
    session.commit()
    return _shift_out(session, shift)


@blp.route("/shifts/current/close", methods=["POST"])
@requires("payments.take")
@blp.arguments(schemas.ShiftCloseIn)
@blp.response(200, schemas.ShiftOut)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema)
def close_shift(data):
    """Close the signed-in cashier's shift with the cash counted; the discrepancy (counted
    less expected) is recorded."""
    session = db.session()
    shift = shifts.current_shift(session, _identity().user_id)
    if shift is None:  # closed meanwhile (at another screen): said as a payment says it
        raise NotFound("no shift of yours is open", code="no_open_shift")
    shift = shifts.close_shift(session, shift, counted_cash=data["counted_cash"], note=data["note"])
    session.commit()
    return _shift_out(session, shift)
