"""Schemas of invoices, payments, refunds and cashier shifts. Amounts are integer tiyin."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from clinic.errors import ValidationFailed
from clinic.payments import shifts
from clinic.payments.refunds import REASON_MAX, reason_refused

MAX_TIYIN = 10**15


def _id(**kwargs):
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1), **kwargs)


def _tiyin(minimum: int = 0, description: str = "", **kwargs):
    return fields.Integer(
        strict=True,
        validate=validate.Range(min=minimum, max=MAX_TIYIN),
        metadata={"description": f"{description} Integer tiyin (1 UZS = 100 tiyin).".strip()},
        **kwargs,
    )


def _idempotency_key(description: str):
    """8 to 100 characters the caller makes up: the same key again is the same request."""
    return fields.String(
        load_default=None,
        validate=validate.Length(min=8, max=100),
        metadata={"description": description},
    )


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class LineIn(StrictSchema):
    service_id = _id(required=True)
    quantity = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1, max=1000))


class InvoiceIn(StrictSchema):
    patient_id = _id(required=True)
    ticket_id = _id(load_default=None, allow_none=True)
    visit_id = _id(
        load_default=None,
        allow_none=True,
        metadata={"description": "The appointment; by default the ticket's, if it has one."},
    )
    lines = fields.List(
        fields.Nested(LineIn), required=True, validate=validate.Length(min=1, max=100)
    )
    idempotency_key = _idempotency_key(
        "The same key again (a repeated click, a request sent again) is answered with the"
        " invoice it made, not a second one."
    )


class DiscountIn(StrictSchema):
    amount = _tiyin(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class PayIn(StrictSchema):
    method = fields.String(required=True, validate=validate.OneOf(["cash", "card"]))
    amount = _tiyin(1, "Default: all that is due.", load_default=None)
    tendered = _tiyin(0, "Cash handed over (the change due comes back).", load_default=None)
    idempotency_key = _idempotency_key("The same key again pays once (a repeated click).")


class RefundIn(StrictSchema):
    amount = _tiyin(1, required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=REASON_MAX))
    payment_id = _id(load_default=None)
    method = fields.String(
        load_default=None,
        validate=validate.OneOf(["cash", "card"]),
        metadata={
            "description": "Give back as cash or to the card: from the newest payment of that "
            "kind that covers it. Default: the newest desk payment that covers it."
        },
    )
    shift_id = _id(
        load_default=None,
        metadata={
            "description": "Cash: the open shift whose drawer gives it back; by default your "
            "own. Another cashier's needs payments.refund_large (a manager at that desk). "
            "A refund not in cash takes none: naming one is a 422."
        },
    )
    from_own_shift = fields.Boolean(
        load_default=True,
        metadata={
            "description": "false: cash is given back only from the shift named by shift_id, "
            "never from your own (the refunds page sends it: a drawer is chosen there); a cash "
            "refund without shift_id is then 409 no_open_shift naming shift_id."
        },
    )
    idempotency_key = _idempotency_key("The same key again gives back once (a repeated click).")

    def handle_error(self, error, data, **kwargs):
        # A reason refused says why by its code too (the problem's ``reasons``, beside its
        # message), as the refund's own refusals do: the desk's page words a reason too long
        # apart from one missing.
        refused = error.messages
        if not (isinstance(refused, dict) and "reason" in refused and isinstance(data, dict)):
            return
        why = reason_refused(data.get("reason"))
        if why is None:
            return
        raise ValidationFailed(
            "; ".join(f"{name}: {said[0]}" for name, said in refused.items()),
            errors=dict(refused),
            reasons={"reason": [why]},
        )


class ReleaseIn(StrictSchema):
    held_by = fields.String(
        required=True,
        validate=validate.Length(min=1, max=120),
        metadata={
            "description": "The hold the cashier saw (the invoice's held_by: payme:<id>, "
            "click:<click_trans_id>): another one is not released (409 hold_changed)."
        },
    )


class ShiftOpenIn(StrictSchema):
    opening_cash = _tiyin(required=True)


class ShiftCloseIn(StrictSchema):
    counted_cash = _tiyin(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=shifts.NOTE_MAX))


class InvoicesQuery(StrictSchema):
    status = fields.String(
        validate=validate.OneOf(["open", "paid", "partly_refunded", "refunded", "cancelled"])
    )
    # An invoice of any day by its number (a refund of yesterday's payment, a receipt brought
    # back): the list is otherwise the clinic day's.
    number = fields.String(validate=validate.Length(min=1, max=20))


class LineOut(Schema):
    position = fields.Integer()
    service_id = fields.Integer()
    title = fields.String()
    titles = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={
            "description": "The service in each language (ru, uz, en), as screens name it; "
            "`title` is the Russian one copied onto the line, which receipts keep."
        },
    )
    quantity = fields.Integer()
    unit_price = fields.Integer()
    amount = fields.Integer()
    ikpu_code = fields.String()
    package_code = fields.String()
    units = fields.Integer(
        allow_none=True,
        metadata={"description": "The unit of measure code of the fiscal receipt, or null."},
    )
    vat_percent = fields.Integer()


class TicketOfDay(Schema):
    id = fields.Integer(metadata={"description": "The invoice's ticket_id."})
    code = fields.String(metadata={"description": "As printed on the ticket: A-001."})
    queue_id = fields.Integer()
    queue_name = fields.String(
        metadata={"description": "The queue as people know it, in the request's language."}
    )
    status = fields.String()
    paid_at = fields.String(allow_none=True)


class PaymentOut(Schema):
    id = fields.Integer()
    invoice_id = fields.Integer()
    method = fields.String()
    amount = fields.Integer()
    refunded_amount = fields.Integer()
    provider = fields.String(allow_none=True)
    provider_ref = fields.String(
        allow_none=True,
        metadata={
            "description": "The provider's own reference (Payme's or Click's transaction, a "
            "webhook's payment); of a desk payment sent with an ``idempotency_key``, "
            "``<cashier's user id>:<idempotency_key>``, by which a screen whose answer was "
            "lost knows its payment landed."
        },
    )
    shift_id = fields.Integer(allow_none=True)
    tendered = fields.Integer(allow_none=True)
    change = fields.Integer(allow_none=True)
    actor = fields.String()
    created_at = fields.String()


class RefundOut(Schema):
    id = fields.Integer()
    payment_id = fields.Integer()
    invoice_id = fields.Integer()
    amount = fields.Integer()
    reason = fields.String()
    provider_ref = fields.String(
        allow_none=True,
        metadata={
            "description": "Of a refund at the desk sent with an ``idempotency_key``, "
            "``desk:<cashier's user id>:<idempotency_key>``, by which a screen whose answer "
            "was lost knows its refund landed; of a provider's refund, its reference."
        },
    )
    shift_id = fields.Integer(
        allow_none=True,
        metadata={"description": "The cashier's shift it was given in: cash left its drawer."},
    )
    actor = fields.String()
    approved_by = fields.String(allow_none=True)
    created_at = fields.String()


class InvoiceOut(Schema):
    id = fields.Integer()
    number = fields.String()
    patient_id = fields.Integer()
    ticket_id = fields.Integer(allow_none=True)
    visit_id = fields.Integer(allow_none=True)
    status = fields.String()
    subtotal = fields.Integer()
    discount = fields.Integer()
    discount_reason = fields.String()
    total = fields.Integer()
    paid_amount = fields.Integer()
    refunded_amount = fields.Integer()
    amount_due = fields.Integer()
    held = fields.Boolean()
    held_by = fields.String(
        allow_none=True,
        metadata={"description": "The online payment taking it now: payme:<id>, click:<id>."},
    )
    held_at = fields.String(allow_none=True)
    created_at = fields.String()
    created_by = fields.String()
    paid_at = fields.String(allow_none=True)
    paid_by = fields.String(allow_none=True)
    cancelled_at = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(LineOut))
    ticket_status = fields.String(
        allow_none=True,
        metadata={
            "description": "The status of the ticket the patient holds now: the invoice's "
            "own, or the one his transfers led to; null when it bills no ticket or keeps no "
            "money paid (nothing to give back)."
        },
    )
    not_seen = fields.String(
        allow_none=True,
        metadata={
            "description": "How the patient left unseen while money paid is kept: "
            "`cancelled` or `no_show` (his ticket), `appointment_cancelled` or "
            "`appointment_missed` (an appointment paid for alone, before he checked in); "
            "null when he did not."
        },
    )
    to_give_back = fields.Integer(
        metadata={
            "description": "Tiyin paid and not given back while the patient left unseen (that "
            "ticket cancelled or a no-show, nobody took him into service, no appointment of "
            "his still to come or begun; or the appointment it bills alone cancelled or "
            "missed), all of it: the part the desk gives back is `to_give_back_at_desk`, the "
            "rest `owed_through`. 0 otherwise."
        }
    )
    to_give_back_at_desk = fields.Integer(
        metadata={
            "description": "Of `to_give_back`, the tiyin the desk gives back itself (paid in "
            "cash, at its card terminal, or by Click, given back in Click's cabinet and "
            "recorded at the desk)."
        }
    )
    owed_through = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={
            "description": "Of `to_give_back`, the tiyin only the provider that took it gives "
            "back, by provider (`payme`, a card webhook sender's name): refunded in its "
            "cabinet, the refund reaches the invoice by itself; the desk's refund of such a "
            "payment is refused (409 `refund_at_provider`). Empty when there is none."
        },
    )
    desk_event_id = fields.Integer(
        metadata={
            "description": "The number of the payments:desk channel's last event when the "
            "invoice was read: it reflects that event and every one before it, as a snapshot "
            "reflects its last_id. A screen that has drawn the invoice from a later event of "
            "the channel keeps that (the answer came late)."
        }
    )


class InvoiceDetail(InvoiceOut):
    payments = fields.List(fields.Nested(PaymentOut))
    refunds = fields.List(fields.Nested(RefundOut))


class PaymentResult(Schema):
    payment = fields.Nested(PaymentOut)
    invoice = fields.Nested(InvoiceOut)


class RefundResult(Schema):
    refund = fields.Nested(RefundOut)
    invoice = fields.Nested(InvoiceOut)


class ReleasedHold(Schema):
    provider = fields.String(metadata={"description": "payme or click"})
    transaction = fields.String(metadata={"description": "The provider's transaction id."})
    held_at = fields.String(allow_none=True)


class ReleaseResult(Schema):
    invoice = fields.Nested(InvoiceOut)
    released = fields.Nested(ReleasedHold)


class ShiftOut(Schema):
    id = fields.Integer()
    cashier_id = fields.Integer()
    opened_at = fields.String()
    closed_at = fields.String(allow_none=True)
    opening_cash = fields.Integer()
    expected_cash = fields.Integer(allow_none=True)
    counted_cash = fields.Integer(allow_none=True)
    discrepancy = fields.Integer(allow_none=True)
    note = fields.String()
    cash_in_drawer = fields.Integer()


class CurrentShift(Schema):
    shift = fields.Nested(ShiftOut, allow_none=True)


class OpenShiftOut(Schema):
    id = fields.Integer(metadata={"description": "The shift: a cash refund's shift_id."})
    cashier_id = fields.Integer()
    cashier_name = fields.String(metadata={"description": "Her full name, else her username."})
    opened_at = fields.String()
    opening_cash = fields.Integer()
    cash_in_drawer = fields.Integer(
        metadata={"description": "What the drawer holds now: at most this is given back in cash."}
    )


class TicketCheckoutLink(Schema):
    url = fields.String(metadata={"description": "The provider's payment page for what is due."})
    qr_svg = fields.String(metadata={"description": "The URL as an SVG QR code."})
    qr_data_uri = fields.String(
        metadata={"description": "The same QR code as a data: address, for an <img>."}
    )


class TicketCheckoutLinks(Schema):
    payme = fields.Nested(TicketCheckoutLink, metadata={"description": "When Payme is set up."})
    click = fields.Nested(TicketCheckoutLink, metadata={"description": "When Click is set up."})


class TicketCheckout(Schema):
    """What the patient's ticket page is told it may pay online (its "Pay online" card)."""

    invoice_id = fields.Integer()
    number = fields.String(
        metadata={"description": "The invoice as printed: the page tells its card by it."}
    )
    amount = fields.Integer(
        metadata={"description": "What is due now. Integer tiyin (1 UZS = 100 tiyin)."}
    )
    links = fields.Nested(
        TicketCheckoutLinks,
        metadata={"description": "A link per provider set up: at least one."},
    )


# The providers' own answers (web/payments/providers.py), for the OpenAPI document.


def _answers(description: str, example: dict) -> dict:
    """The provider's own answer (HTTP 200, JSON), for the OpenAPI document."""
    content = {"application/json": {"schema": {"type": "object"}, "example": example}}
    return {"responses": {"200": {"description": description, "content": content}}}


PAYME_ANSWER = _answers(
    "JSON-RPC 2.0: ``result``, or ``error`` (code, ru/uz/en message, data), HTTP 200 for"
    " every call, refusals included (when Payme is not enabled here, the endpoint answers 404)",
    {"jsonrpc": "2.0", "id": 1, "result": {"allow": True}},
)
CLICK_ANSWER = _answers(
    "Click's answer: ``error`` (0 or a negative code) and ``error_note``, HTTP 200 for every"
    " call the protocol hears; before it, an address off the allow-list answers 403 and a"
    " provider not enabled here 404",
    {"click_trans_id": 1234567, "merchant_trans_id": "42", "merchant_prepare_id": 7,
     "error": 0, "error_note": "Success"},  # fmt: skip
)
WEBHOOK_ANSWER = _answers(
    "Received (stored once per webhook-id; ``repeated`` when seen before; ``ignored`` for a "
    "type the clinic does not apply)",
    {"received": True, "repeated": False},
)
