"""Imports: the price list (services, and in a workbook departments and doctors)."""

from __future__ import annotations

import time

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from clinic.reference import price_import
from tasks.base import JobTask, PermanentError


class RejectedFile(PermanentError):
    """The uploaded file is not a price list this system can read: the job fails at once,
    with the refusal's ``code`` and ``values`` (the page says them in its own language)."""

    def __init__(self, detail: str, code: str | None = None, values: dict | None = None):
        super().__init__(detail)
        self.code, self.values = code, values or {}


@shared_task(name="imports.price_list", base=JobTask, bind=True)
def import_price_list(self, *, job_id: str) -> dict:
    """Import the job's price list; a retried or re-dispatched job resumes, never repeats."""
    batch_size = self.runtime.settings.import_batch_size
    # The job's own deadline: checked while reading and between batches, on any pool (Celery's
    # time limits, set in workers/config.py, are the backstop where the pool supports them).
    deadline = time.monotonic() + self.runtime.settings.job_time_limit

    def work(sessionmaker, claimed_job_id: str) -> dict:
        try:
            return price_import.import_price_list(
                sessionmaker, claimed_job_id, batch_size=batch_size, deadline=deadline
            )
        except price_import.PriceListRejected as exc:
            raise RejectedFile(exc.detail, exc.code, exc.values) from exc
        except SoftTimeLimitExceeded as exc:  # Celery's backstop (prefork): the same message
            raise RejectedFile(
                "The import took longer than its time limit and was stopped: split the file.",
                "too_long",
            ) from exc

    return self.run_job(job_id, work)
