"""Payments tasks: the side effects of "paid", exactly once, and their sweeper."""

from __future__ import annotations

import smtplib

from celery import shared_task

from clinic.payments import effects
from clinic.payments.settling import APPLY_PAID_TASK, PAYMENTS_QUEUE
from tasks.base import TRANSIENT_ERRORS, ClinicTask

# The mail server refusing or unreachable is worth another try, like the database.
EFFECT_ERRORS = TRANSIENT_ERRORS + (smtplib.SMTPException, OSError)


@shared_task(name=APPLY_PAID_TASK, base=ClinicTask, bind=True, autoretry_for=EFFECT_ERRORS)
def apply_paid(self, invoice_id: int) -> list[str]:
    """Do the invoice's paid effects not done yet; running it again (or at once) adds none."""
    runtime = self.runtime
    return effects.apply_paid(runtime.db.sessionmaker, invoice_id, settings=runtime.settings)


@shared_task(name="payments.sweep_paid", base=ClinicTask, bind=True, max_retries=0)
def sweep_paid(self) -> int:
    """Send the effects task again for paid invoices whose effects are not all done (its
    message was lost with a worker or a Redis restart)."""
    with self.runtime.db.session() as session:
        missing = effects.invoices_missing_effects(session)
    for invoice_id in missing:
        self.app.send_task(APPLY_PAID_TASK, kwargs={"invoice_id": invoice_id}, queue=PAYMENTS_QUEUE)
    return len(missing)
