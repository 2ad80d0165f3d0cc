"""Payment provider tasks: apply webhook events, time out Payme transactions, reconcile."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from celery import shared_task

from clinic.base import utcnow
from clinic.payments import click, payme, reconcile
from clinic.payments import webhooks as hooks
from tasks.base import ClinicTask, JobTask

log = logging.getLogger(__name__)

APPLY_WEBHOOK_TASK = "payments.apply_webhook_event"
# A received event older than this with no result lost its task message (Redis restarted,
# a worker died before acknowledging): the sweeper sends it again.
WEBHOOK_SWEEP_AFTER = timedelta(seconds=10)
# A Click payment page left open this long without a Complete lets its invoice go.
CLICK_TIMEOUT_MINUTES = 30


@shared_task(name=APPLY_WEBHOOK_TASK, base=ClinicTask, bind=True)
def apply_webhook_event(self, *, event_id: int) -> str:
    """Apply a stored webhook event; running it again changes nothing."""
    with self.runtime.db.transaction() as session:
        return hooks.apply_event(session, event_id)


@shared_task(name="payments.sweep_webhook_events", base=ClinicTask, bind=True, max_retries=0)
def sweep_webhook_events(self, *, after_seconds: float | None = None) -> int:
    """Send again the events whose task never ran (beat, every 30 seconds)."""
    after = WEBHOOK_SWEEP_AFTER if after_seconds is None else timedelta(seconds=after_seconds)
    with self.runtime.db.session() as session:
        due = hooks.pending_events(session, older_than=utcnow() - after)
    for event_id in due:
        self.app.send_task(APPLY_WEBHOOK_TASK, kwargs={"event_id": event_id}, queue="payments")
    return len(due)


@shared_task(name="payments.cancel_expired_payme", base=ClinicTask, bind=True)
def cancel_expired_payme(self, *, now_ms: int | None = None) -> int:
    """Cancel (state -1, reason 4) Payme transactions created more than 12 hours ago by
    Payme's ``time`` and never performed; their invoices are let go."""
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    total = 0
    while True:
        with self.runtime.db.transaction() as session:
            cancelled = payme.cancel_expired(session, now)
        total += len(cancelled)
        if len(cancelled) < 200:
            return total


@shared_task(name="payments.cancel_stale_click", base=ClinicTask, bind=True)
def cancel_stale_click(self, *, older_than_minutes: float | None = None) -> int:
    """Cancel Click payments prepared but never completed within the timeout; their
    invoices are let go (beat, every 5 minutes)."""
    minutes = CLICK_TIMEOUT_MINUTES if older_than_minutes is None else older_than_minutes
    with self.runtime.db.transaction() as session:
        return len(click.cancel_stale(session, older_than=utcnow() - timedelta(minutes=minutes)))


@shared_task(name=reconcile.TASK_NAME, base=JobTask, bind=True)
def run_reconciliation(self, *, job_id: str) -> dict:
    """Compare the providers' transactions with our payments (a job with a CSV report)."""
    return self.run_job(job_id, reconcile.reconcile)


@shared_task(name="payments.reconcile_daily", base=ClinicTask, bind=True)
def reconcile_daily(self) -> str:
    """The daily reconciliation beat starts: a job like the one the button starts."""
    with self.runtime.db.transaction() as session:
        job_id = reconcile.start(session, created_by="beat").id
    # A lost message is sent again by jobs.redispatch_stale, as for every job.
    self.app.send_task(reconcile.TASK_NAME, kwargs={"job_id": job_id}, queue=reconcile.QUEUE)
    return job_id
