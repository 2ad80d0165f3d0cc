"""Visits: rescheduling jobs, reminders, no-shows and the notices' sender (queue ``visits``)."""

from __future__ import annotations

import logging

from celery import shared_task

from clinic import jobs
from clinic.errors import DomainError
from clinic.visits import notify, reminders, rescheduling
from clinic.visits import visits as v
from tasks.base import ClinicTask, JobTask

log = logging.getLogger(__name__)


def _lease(settings) -> int:
    # Longer than one SMTP conversation may take, so a live sender keeps its claim.
    return settings.smtp_timeout * 2 + 2


@shared_task(name="visits.reschedule", base=JobTask, bind=True)
def reschedule(self, *, job_id: str) -> dict:
    """Move the job's visit once, then tell the patient; a refusal fails the job with the
    typed problem (status, code, field)."""
    runtime = self.runtime
    settings = runtime.settings
    with runtime.db.transaction() as session:
        job = jobs.claim_job(session, job_id, stale_seconds=settings.job_stale_seconds)
    if job is None:
        return {"job": job_id, "skipped": True}
    try:
        with runtime.db.transaction() as session:
            outcome = rescheduling.carry_out(
                session, job_id, tz=settings.tz, max_moves=settings.visits_max_moves
            )
    except DomainError as exc:
        with runtime.db.transaction() as session:
            problem = rescheduling.refuse(session, job_id, exc)
        return {"job": job_id, "status": "failed", "code": problem["code"]}
    notify.send_notices(
        runtime.db.sessionmaker,
        notify.EmailNotifier(settings),
        keys=[rescheduling.notice_key(job_id)],
        lease_seconds=_lease(settings),
    )
    with runtime.db.transaction() as session:
        jobs.finish_job(session, jobs.get_job(session, job_id), outcome)
    return {"job": job_id, "status": "succeeded"}


@shared_task(name="visits.send_reminders", base=ClinicTask, bind=True)
def send_reminders(self) -> int:
    """Write due reminders and send every unsent notice; returns how many were sent."""
    runtime = self.runtime
    settings = runtime.settings
    with runtime.db.transaction() as session:
        reminders.write_reminders(session, hours=settings.visits_reminder_hours, tz=settings.tz)
    return notify.send_notices(
        runtime.db.sessionmaker, notify.EmailNotifier(settings), lease_seconds=_lease(settings)
    )


@shared_task(name="visits.mark_no_shows", base=ClinicTask, bind=True)
def mark_no_shows(self) -> int:
    runtime = self.runtime
    with runtime.db.transaction() as session:
        grace = runtime.settings.visits_no_show_grace_minutes
        return len(v.mark_no_shows(session, grace_minutes=grace))
