"""Standard Webhooks from card acquirers and aggregators: verified, stored raw once per
(sender, ``webhook-id``), applied later by a task, exactly once.

The body a sender posts (JSON, UTF-8), documented in docs/payments.md::

    {"type": "payment.succeeded",
     "data": {"invoice_id": "42", "amount": 5000000, "reference": "acq-8842"}}

    {"type": "payment.refunded",
     "data": {"invoice_id": "42", "amount": 5000000, "reference": "acq-8842",
              "refund_reference": "acq-r-17"}}

``amount`` is integer tiyin; ``reference`` is the sender's id of the payment (the same in
both events); ``refund_reference`` is the sender's id of the refund (several partial refunds
of one payment each have their own).
"""

from __future__ import annotations

import base64
import json
import logging
import re

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook, WebhookVerificationError

from clinic.base import is_id, utcnow
from clinic.errors import Conflict, DomainError
from clinic.jsonkeys import repeated_key, unique_keys
from clinic.payments import invoices, refunds
from clinic.payments.amounts import amount_due
from clinic.payments.models import InvoiceStatus
from clinic.payments.providers import WebhookEvent, WebhookStatus

log = logging.getLogger(__name__)

SUCCEEDED = "payment.succeeded"
REFUNDED = "payment.refunded"
TYPES = (SUCCEEDED, REFUNDED)
DONE = (WebhookStatus.APPLIED, WebhookStatus.REJECTED)
HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
# The last second the verifier can read as a date (9999-12-31 23:59:59 UTC).
LATEST_TIMESTAMP = 253_402_300_799
MAX_REFERENCE = 120
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # text no column can store


class PaymentNotYetHere(DomainError):
    """A refund of a payment of this sender not credited here (yet): it waits for it."""


class Rejected(Exception):
    """The request cannot be accepted: ``status`` is the HTTP answer, ``field`` what was
    wrong."""

    def __init__(self, status: int, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field


class NotApplied(Rejected):
    """A signed event of a kind the clinic does not apply (``payment.pending``, a payout...):
    acknowledged with a 200 and kept, since a 4xx would be retried and could get the
    endpoint disabled, the payments with it."""

    def __init__(self, kind: str) -> None:
        self.kind = UNSTORABLE.sub("\ufffd", kind)[:64]
        super().__init__(200, f"events of type {self.kind} are not applied here", "type")


def verify(secret: str, body: bytes, headers) -> str:
    """Check the signature and timestamp with the ``standardwebhooks`` package; returns the
    ``webhook-id``. Missing or malformed headers are a 400, a wrong signature or a
    timestamp more than five minutes off a 401."""
    found = {name: headers.get(name) for name in HEADERS}
    for name, value in found.items():
        if not value:
            raise Rejected(400, f"the {name} header is missing", name)
        if len(value) > 4096 or not value.isascii():
            raise Rejected(400, f"the {name} header is malformed", name)
    if len(found["webhook-id"]) > 255:
        raise Rejected(400, "the webhook-id header is too long", "webhook-id")
    stamp = found["webhook-timestamp"]
    if not stamp.isdigit() or stamp != str(int(stamp)):
        # Whole seconds, signed as sent: the verifier would sign "1614265330.9" as its floor,
        # and "01614265330" without its zero.
        raise Rejected(400, "the webhook-timestamp header is malformed", "webhook-timestamp")
    if int(stamp) > LATEST_TIMESTAMP:
        # Past any date the verifier can read: it would call the headers invalid, naming none.
        raise Rejected(
            401, "the webhook was refused: Message timestamp too new", "webhook-timestamp"
        )
    entries = found["webhook-signature"].split()
    # Any v1 entry that matches is enough: one that is not base64, or not "version,signature"
    # at all, cannot match, and must not hide the others from the verifier (which stops at
    # it), nor must extra whitespace. A header with no usable entry is malformed.
    checkable = [entry for entry in entries if entry.count(",") == 1 and _checkable(entry)]
    if not checkable:
        raise Rejected(400, "the webhook-signature header is malformed", "webhook-signature")
    found["webhook-signature"] = " ".join(checkable)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected(400, "the body is not UTF-8", "body") from None
    if "\x00" in text:
        raise Rejected(400, "the body must not contain NUL characters", "body")
    try:
        verifier = Webhook(secret)
    except (ValueError, EmptyWebhookSecretError):
        # Our secret for this sender is not a key ("whsec_" and base64): nothing can be
        # checked with it, so nothing is accepted (the sender's request is not at fault).
        log.error(
            "a secret of CLINIC_WEBHOOK_SECRETS is not whsec_ and base64: its sender is refused"
        )
        raise Rejected(
            401, "the webhook was refused: no usable secret for this sender", "webhook-signature"
        ) from None
    try:
        verifier.verify(text, found, json_parse=False)
    except WebhookVerificationError as exc:
        # Sent too long ago or ahead of our clock: the sender's clock or its retry is at
        # fault, not its key, and the answer says which header to look at.
        field = "webhook-timestamp" if "timestamp" in str(exc) else "webhook-signature"
        raise Rejected(401, f"the webhook was refused: {exc}", field) from None
    except (ValueError, TypeError):  # pragma: no cover - headers checked above; a 400 still
        raise Rejected(
            400, "the webhook-signature header is malformed", "webhook-signature"
        ) from None
    return found["webhook-id"]


def _checkable(entry: str) -> bool:
    version, signature = entry.split(",")
    if version != "v1":
        return True  # skipped by the verifier
    try:
        base64.b64decode(signature)
    except ValueError:  # binascii.Error: not base64
        return False
    return True


def parse_body(body: bytes) -> dict:
    """The event's fields, checked; raises :class:`Rejected` (422) naming the field."""
    try:
        doc = json.loads(body, object_pairs_hook=unique_keys)
    except (ValueError, RecursionError):
        raise Rejected(400, "the body is not JSON", "body") from None
    repeated = repeated_key(doc)
    if repeated is not None:
        # Named as text any column stores (the key is the sender's: a NUL, a lone surrogate).
        name = UNSTORABLE.sub("\ufffd", repeated)[:100]
        raise Rejected(400, f"{name} is given more than once in its object", name)
    if not isinstance(doc, dict):
        raise Rejected(422, "the body must be an object", "body")
    kind = doc.get("type")
    # A payment event misspelt ("Payment.Succeeded ") is refused, not ignored: its money matters.
    if isinstance(kind, str) and kind.strip() and kind.strip().lower() not in TYPES:
        raise NotApplied(kind)
    if kind not in TYPES:
        raise Rejected(422, f"type must be one of {', '.join(TYPES)}", "type")
    data = doc.get("data")
    if not isinstance(data, dict):
        raise Rejected(422, "data must be an object", "data")
    raw_invoice = data.get("invoice_id")
    if isinstance(raw_invoice, int) and not isinstance(raw_invoice, bool):
        raw_invoice = str(raw_invoice)
    if (
        not isinstance(raw_invoice, str)
        or not (raw_invoice.isascii() and raw_invoice.isdigit())  # "²" is a digit to isdigit
        or len(raw_invoice) > 9
    ):
        raise Rejected(422, "invoice_id must be an invoice id", "data.invoice_id")
    amount = data.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount < 2**62:
        raise Rejected(422, "amount must be a positive whole number of tiyin", "data.amount")
    fields = {"type": kind, "invoice_id": int(raw_invoice), "amount": amount}
    for name in ("reference",) + (("refund_reference",) if kind == REFUNDED else ()):
        value = data.get(name)
        if (
            not isinstance(value, str)
            or not value
            or len(value) > MAX_REFERENCE
            or UNSTORABLE.search(value)
        ):
            raise Rejected(
                422, f"{name} must be the sender's id (1-120 characters)", f"data.{name}"
            )
        fields[name] = value
    return fields


def store(session: Session, provider: str, webhook_id: str, body: bytes) -> WebhookEvent | None:
    """Keep the raw event once; returns it when new, None when this id was seen before.

    Every event is kept, also one whose body we cannot apply (marked rejected, with why).
    """
    if session.scalar(
        select(WebhookEvent.id).where(
            WebhookEvent.provider == provider, WebhookEvent.webhook_id == webhook_id
        )
    ):
        return None
    event = WebhookEvent(
        provider=provider,
        webhook_id=webhook_id,
        body=body.decode("utf-8"),
        status=WebhookStatus.RECEIVED,
        received_at=utcnow(),
    )
    try:
        fields = parse_body(body)
    except NotApplied as exc:
        event.status, event.type, event.outcome = WebhookStatus.IGNORED, exc.kind, exc.detail
    except Rejected as exc:
        event.status = WebhookStatus.REJECTED
        event.outcome = f"{exc.field}: {exc.detail}"
    else:
        event.type = fields["type"]
        event.invoice_id = fields["invoice_id"]
        event.amount = fields["amount"]
        event.reference = fields["reference"]
    try:
        with session.begin_nested():
            session.add(event)
            session.flush()
    except IntegrityError:  # pragma: no cover - two deliveries of one id at the same instant
        return None  # the same id, stored by the other delivery
    return event


def kept_body(session: Session, provider: str, webhook_id: str) -> bytes | None:
    """The body kept with the first delivery of ``webhook_id``; None if there is none."""
    body = session.scalar(
        select(WebhookEvent.body).where(
            WebhookEvent.provider == provider, WebhookEvent.webhook_id == webhook_id
        )
    )
    return None if body is None else body.encode("utf-8")


def pending_events(session: Session, *, older_than, limit: int = 200) -> list[int]:
    """Events received but not applied: their task message was lost, or their invoice was
    held by another provider's payment in progress when they were tried."""
    return list(
        session.scalars(
            select(WebhookEvent.id)
            .where(
                WebhookEvent.status == WebhookStatus.RECEIVED,
                WebhookEvent.received_at < older_than,
            )
            .order_by(WebhookEvent.id)
            .limit(limit)
        ).all()
    )


def apply_event(session: Session, event_id: int) -> str:
    """Apply a stored event once: credit or refund the invoice. Returns the event's status.

    The event row is locked and its status guarded, so two workers applying it serialise
    and the second finds it done. Anything the money rules refuse (an amount that is not
    what is owed, an invoice already paid another way) marks the event rejected with the
    reason: reconciliation lists it for a person to settle with the sender. A refund whose
    payment has not arrived yet waits (``waiting``) and is applied with that payment.
    """
    event = session.scalar(
        select(WebhookEvent)
        .where(WebhookEvent.id == event_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if event is None or event.status != WebhookStatus.RECEIVED:
        return event.status if event else "missing"
    fields = parse_body(event.body.encode("utf-8"))
    status, outcome = _settle(session, event.provider, fields, event.received_at)
    _mark(session, event_id, WebhookStatus.RECEIVED, status, outcome)
    if status == WebhookStatus.APPLIED and fields["type"] == SUCCEEDED:
        _apply_waiting_refunds(session, event.provider, fields["reference"])
    return status


def apply_waiting_payments(session: Session, invoice_id: int) -> list[str]:
    """Apply now the senders' payments of the invoice still to be applied (those that waited
    for another provider's hold, which the caller has just ended). An event a worker is
    applying at this moment is left to it (its row lock is skipped, not waited for)."""
    if not is_id(invoice_id):
        return []  # no invoice has it: the caller's own lookup says so, naming it
    waiting = session.scalars(
        select(WebhookEvent.id)
        .where(
            WebhookEvent.invoice_id == invoice_id,
            WebhookEvent.type == SUCCEEDED,
            WebhookEvent.status == WebhookStatus.RECEIVED,
        )
        .order_by(WebhookEvent.id)
        .with_for_update(skip_locked=True)
    ).all()
    return [apply_event(session, event_id) for event_id in waiting]


def _settle(session: Session, provider: str, fields: dict, reported_at) -> tuple[str, str]:
    try:
        with session.begin_nested():
            return WebhookStatus.APPLIED, _apply(session, provider, fields, reported_at)
    except PaymentNotYetHere as exc:
        return WebhookStatus.WAITING, exc.detail
    except Conflict as exc:
        if exc.code != "held":
            return WebhookStatus.REJECTED, exc.detail
        # Another provider is taking the invoice (a Payme checkout left open): the sender has
        # the money already, so the event is tried again by the sweeper until that hold ends.
        return WebhookStatus.RECEIVED, f"waiting: {exc.detail}"
    except DomainError as exc:
        return WebhookStatus.REJECTED, exc.detail


def _mark(session: Session, event_id: int, expected: str, status: str, outcome: str) -> None:
    session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.id == event_id, WebhookEvent.status == expected)
        .values(
            status=status,
            outcome=outcome[:2000],
            applied_at=utcnow() if status in DONE else None,
        )
        .execution_options(synchronize_session=False)
    )


def _apply_waiting_refunds(session: Session, provider: str, reference: str) -> None:
    """The refunds of this payment that arrived before it, applied now in their order."""
    waiting = session.scalars(
        select(WebhookEvent)
        .where(
            WebhookEvent.provider == provider,
            WebhookEvent.reference == reference,
            WebhookEvent.type == REFUNDED,
            WebhookEvent.status == WebhookStatus.WAITING,
        )
        .order_by(WebhookEvent.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    for event in waiting:
        fields = parse_body(event.body.encode("utf-8"))
        status, outcome = _settle(session, provider, fields, event.received_at)
        _mark(session, event.id, WebhookStatus.WAITING, status, outcome)


def _apply(session: Session, provider: str, fields: dict, reported_at) -> str:
    """The event's money on its invoice, at the time the sender reported it (``reported_at``,
    when its webhook arrived): a payment applied later, behind another provider's hold or a
    worker down, still counts on the day and in the month the patient paid."""
    invoice = invoices.lock_invoice(session, fields["invoice_id"])
    if fields["type"] == SUCCEEDED:
        earlier = invoices.find_payment(session, provider, fields["reference"])
        if earlier is None or earlier.invoice_id != invoice.id:
            if invoice.status != InvoiceStatus.OPEN:
                # Paid at the desk meanwhile (the patient paid twice: given back at the
                # sender), or cancelled: said so to the person settling it, not "0 due".
                invoices.refuse_taking(invoice, None)
            # The sender takes the whole amount due, never a part: a payment of another
            # amount is not credited as a part payment, it waits for a person.
            due = amount_due(invoice)
            if fields["amount"] != due:
                raise DomainError(f"the amount {fields['amount']} is not the {due} tiyin due")
        elif earlier.amount != fields["amount"]:
            raise DomainError(
                f"payment {earlier.id} of this reference was for {earlier.amount} tiyin"
            )
        payment = invoices.record_payment(
            session,
            invoice,
            method=provider,
            amount=fields["amount"],
            provider=provider,
            provider_ref=fields["reference"],
            actor=provider,
            now=reported_at,
        )
        return f"payment {payment.id}"
    payment = invoices.find_payment(session, provider, fields["reference"])
    if payment is None:
        # The sender's refund overtook its payment: it is applied when the payment is.
        raise PaymentNotYetHere(
            f"waiting for payment {fields['reference']} of this sender to arrive"
        )
    if payment.invoice_id != invoice.id:
        raise DomainError(f"no payment {fields['reference']} of this sender on the invoice")
    # The sender gave the money back already: the approval limit does not apply to recording it.
    refunds.refund(
        session,
        payment,
        amount=fields["amount"],
        reason=f"refunded by {provider}",
        provider_ref=fields["refund_reference"],
        actor=provider,
        may_refund_large=True,
        # A refund reported before its payment arrived is not dated before the payment.
        now=max(reported_at, payment.created_at),
    )
    return f"refund of payment {payment.id}"
