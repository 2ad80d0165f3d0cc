"""Every event the payments module records, with its channel and payload.

Channels:

- ``payments:desk`` (:data:`DESK_CHANNEL`): cashiers, managers and administrators; every
  invoice, payment, refund and shift change.
- ``queue:<queue id>`` (the queue's staff channel): a ticket's invoice was paid
  (``ticket.paid`` from the queue module's announcement, and :data:`INVOICE_PAID`).
- ``printing:receipts`` (:data:`RECEIPTS_CHANNEL`): receipt print requests for the printing
  module.

Invoice payloads are :func:`clinic.payments.invoices.invoice_as_dict`; amounts are integer tiyin.
"""

DESK_CHANNEL = "payments:desk"
RECEIPTS_CHANNEL = "printing:receipts"

INVOICE_CREATED = "invoice.created"
"""``{"invoice": <invoice>}``: a new open invoice."""

INVOICE_CHANGED = "invoice.changed"
"""``{"invoice": <invoice>, "change": "discount"|"lines"|"held"|"released"|"cancelled"}``."""

PAYMENT_RECORDED = "payment.recorded"
"""``{"invoice": <invoice>, "payment": <payment>}``: money received (the invoice may still
be open if it was paid in part)."""

INVOICE_PAID = "invoice.paid"
"""``{"invoice": <invoice>, "ticket_id": int|null, "queue_id": int|null}``: recorded once per
invoice by the paid effects, on the desk channel and on the ticket's queue staff channel."""

REFUND_RECORDED = "refund.recorded"
"""``{"invoice": <invoice>, "refund": <refund>}``."""

SHIFT_OPENED = "shift.opened"
"""``{"shift": <shift>}``."""

SHIFT_CLOSED = "shift.closed"
"""``{"shift": <shift>}`` with expected and counted cash and the discrepancy."""

RECEIPT_PRINT_REQUESTED = "receipt.print_requested"
"""``{"invoice_id": int, "number": str, "total": int, "paid_amount": int, "lines": [...],
"payments": [...], "reprint": bool, "requested_by": str}`` on :data:`RECEIPTS_CHANNEL`: the
printing module prints it. Recorded once when an invoice is paid, and again on each reprint
request (``reprint`` true)."""
