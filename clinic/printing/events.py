"""The printing module's events.

- ``print_jobs:<scope>``: a job's state changed (``print_job.changed``). ``<scope>`` is
  ``queue.<queue id>`` for a queue's tickets (the reception desk and the kiosk follow it)
  and ``cashier`` for receipts, refunds and shift slips.
- ``printers:all``: a printer's state changed or it was added, edited or removed
  (``printer.changed``): the administrators' printer page.

It reads requests from ``printing:tickets`` (``ticket.print_requested``, the queue),
``printing:receipts`` (``receipt.print_requested``, payments) and ``payments:desk``
(``refund.recorded``, ``shift.closed``).
"""

from clinic.events.catalogue import EventType, declare

# Payloads: ``{"job": clinic.printing.jobs.job_as_dict(...)}`` and
# ``{"printer": clinic.printing.printers.printer_as_dict(...)}``.
PRINT_JOB_CHANGED = EventType("print_job.changed", {"print_jobs": {"job": dict}})
PRINTER_CHANGED = EventType("printer.changed", {"printers": {"printer": dict}})

declare(PRINT_JOB_CHANGED, PRINTER_CHANGED)
