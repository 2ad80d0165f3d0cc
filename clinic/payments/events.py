"""Every event the payments module records, with its channel and payload.

Channels:

- ``payments:desk`` (:data:`DESK_CHANNEL`): cashiers, managers and administrators; every
  invoice, payment, refund and shift change.
- ``queue:<queue id>`` (the queue's staff channel): a ticket's invoice was paid
  (``ticket.paid`` from the queue module's announcement, and :data:`INVOICE_PAID`).
- ``ticket:<ticket id>`` (the patient's own page, public): ``invoice.created``,
  ``invoice.changed``, ``payment.recorded`` and ``refund.recorded`` with
  ``{"ticket_id": int}`` (and the change's kind): his "Pay online" card reads what is due
  again.
- ``printing:receipts`` (:data:`RECEIPTS_CHANNEL`): receipt print requests for the printing
  module.

Invoice payloads are :func:`clinic.payments.invoices.invoice_as_dict`; amounts are integer tiyin.
"""

from clinic.events.catalogue import EventType, NoneType, declare

DESK_CHANNEL = "payments:desk"
RECEIPTS_CHANNEL = "printing:receipts"

INVOICE_CREATED = "invoice.created"
"""``{"invoice": <invoice>}``: a new open invoice."""

INVOICE_CHANGED = "invoice.changed"
"""``{"invoice": <invoice>, "change": "discount"|"lines"|"held"|"released"|"cancelled"|
"ticket"}``; ``"ticket"``: its patient's ticket ended unseen, or the no-show came back
(:mod:`clinic.payments.unseen`)."""

PAYMENT_RECORDED = "payment.recorded"
"""``{"invoice": <invoice>, "payment": <payment>}``: money received (the invoice may still
be open if it was paid in part). The printing module prints the receipt of a part paid at
the desk from it (the payment that settles the invoice has :data:`RECEIPT_PRINT_REQUESTED`)."""

INVOICE_PAID = "invoice.paid"
"""``{"invoice": <invoice>, "ticket_id": int|null, "queue_id": int|null}``: recorded once per
invoice by the paid effects, on the desk channel and on the ticket's queue staff channel;
there ``invoice`` is only its paid state (``{id, number, status, paid_at}``): the queue's
readers read no invoices."""

REFUND_RECORDED = "refund.recorded"
"""``{"invoice": <invoice>, "refund": <refund>}``."""

SHIFT_OPENED = "shift.opened"
"""``{"shift": <shift>}``."""

SHIFT_CLOSED = "shift.closed"
"""``{"shift": <shift>}`` with expected and counted cash and the discrepancy."""

RECEIPT_PRINT_REQUESTED = "receipt.print_requested"
"""``{"invoice_id": int, "number": str, "ticket_id": int|null, "total": int, "discount": int,
"paid_amount": int, "paid_at": str|null, "lines": [...],
"payments": [...], "reprint": bool, "requested_by": str}`` on :data:`RECEIPTS_CHANNEL`: the
printing module prints it. Recorded once when an invoice is paid, and again on each reprint
request (``reprint`` true)."""


# The catalogue's shapes (clinic/events/catalogue.py): the desk channel is the cashiers', the
# queue's staff channel the registrars' and doctors'; the receipt request is the printer's.
OPT_INT = (int, NoneType)
_INVOICE = {"invoice": dict}
# On the patient's own page (``ticket:<id>``, public): which ticket's invoice changed, and
# nothing of it; the page reads what is due again (clinic/payments/announcing.py).
_TICKET = {"ticket_id": int}
declare(
    EventType(INVOICE_CREATED, {"payments": _INVOICE, "ticket": _TICKET}),
    EventType(
        INVOICE_CHANGED,
        {"payments": {**_INVOICE, "change": str}, "ticket": {**_TICKET, "change": str}},
    ),
    EventType(PAYMENT_RECORDED, {"payments": {**_INVOICE, "payment": dict}, "ticket": _TICKET}),
    EventType(
        INVOICE_PAID,
        {
            kind: {**_INVOICE, "ticket_id": OPT_INT, "queue_id": OPT_INT}
            for kind in ("payments", "queue")
        },
    ),
    EventType(REFUND_RECORDED, {"payments": {**_INVOICE, "refund": dict}, "ticket": _TICKET}),
    EventType(SHIFT_OPENED, {"payments": {"shift": dict}}),
    EventType(SHIFT_CLOSED, {"payments": {"shift": dict}}),
    EventType(
        RECEIPT_PRINT_REQUESTED,
        {
            "printing": {
                "invoice_id": int,
                "number": str,
                "ticket_id": OPT_INT,
                "total": int,
                "discount": int,
                "paid_amount": int,
                "paid_at": (str, NoneType),
                "lines": list,
                "payments": list,
                "reprint": bool,
                "requested_by": str,
            }
        },
    ),
)
