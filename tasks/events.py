"""Event housekeeping: re-publish what never reached Redis; prune the old outbox."""

from __future__ import annotations

from celery import shared_task

from clinic import events
from tasks.base import ClinicTask


@shared_task(name="events.republish", base=ClinicTask, bind=True, max_retries=0)
def republish(self) -> int:
    """Publish committed events still marked unpublished (Redis was down at commit)."""
    runtime = self.runtime
    total = 0
    with runtime.db.session() as session:
        while True:
            sent = events.republish_pending(session, runtime.bus)
            total += sent
            if sent < 500:
                return total


@shared_task(name="events.prune", base=ClinicTask, bind=True)
def prune(self) -> int:
    runtime = self.runtime
    with runtime.db.transaction() as session:
        return events.prune_outbox(session, keep_days=runtime.settings.outbox_retention_days)
