"""Imports: the price list (services, and in a workbook departments and doctors)."""

from __future__ import annotations

from celery import shared_task

from clinic.reference import price_import
from tasks.base import JobTask, PermanentError


class RejectedFile(PermanentError):
    """The uploaded file is not a price list this system can read: the job fails at once."""


@shared_task(name="imports.price_list", base=JobTask, bind=True)
def import_price_list(self, *, job_id: str) -> dict:
    """Import the job's price list; a retried or re-dispatched job resumes, never repeats."""
    batch_size = self.runtime.settings.import_batch_size

    def work(sessionmaker, claimed_job_id: str) -> dict:
        try:
            return price_import.import_price_list(
                sessionmaker, claimed_job_id, batch_size=batch_size
            )
        except price_import.PriceListRejected as exc:
            raise RejectedFile(exc.detail) from exc

    return self.run_job(job_id, work)
