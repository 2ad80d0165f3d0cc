"""Queue housekeeping: close each day's queues once their closing time has passed."""

from __future__ import annotations

from celery import shared_task

from clinic.queue import days as queue_days
from tasks.base import ClinicTask


@shared_task(name="queue.close_days", base=ClinicTask, bind=True)
def close_days(self) -> int:
    """Close due queue days (no-show or cancel whoever waits) and keep their statistics."""
    runtime = self.runtime
    with runtime.db.transaction() as session:
        # Day by day: the days' closing would otherwise hold every closed day's locks (the
        # calendars' event counters among them) while it locks the next day's rows.
        closed = queue_days.close_due_days(session, tz=runtime.settings.tz, commit_each=True)
        return len(closed)
