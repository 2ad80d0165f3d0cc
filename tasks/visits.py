"""Visits: rescheduling jobs, reminders, no-shows and the notices' sender (queue ``visits``)."""

from __future__ import annotations

import logging
import time

from celery import shared_task
from sqlalchemy import func, select

from clinic import jobs
from clinic.errors import DomainError

# Its hook sends a doctor's visits to come to the room he is given, by an import too.
from clinic.visits import week_change  # noqa: F401
from clinic.visits import bulk, cancelling, notify, reminders, rescheduling
from clinic.visits.models import VisitNotice
from tasks.base import ClinicTask, JobTask

log = logging.getLogger(__name__)


def _lease(settings) -> int:
    # Longer than one SMTP conversation may take, so a live sender keeps its claim.
    return settings.smtp_timeout + 2


def _tries_of_unsent(runtime, key: str) -> int | None:
    """How often the notice ``key``, and those of its visit written before it and not sent
    yet (they go first), were tried, while it is unsent (None: sent, or none)."""
    with runtime.db.session() as session:
        notice = session.scalar(
            select(VisitNotice).where(VisitNotice.key == key, VisitNotice.sent_at.is_(None))
        )
        if notice is None:
            return None
        return session.scalar(
            select(func.sum(VisitNotice.attempts)).where(
                VisitNotice.visit_id == notice.visit_id,
                VisitNotice.id <= notice.id,
                VisitNotice.sent_at.is_(None),
            )
        )


def _send_notice(runtime, key: str) -> None:
    """Send the notice ``key`` now. A claim left by a sender that died mid-send is waited
    out (one lease, bounded); if the mail server does not take it, the beat sweep sends it
    later, and the job it tells of is not kept waiting meanwhile."""
    settings = runtime.settings
    if not settings.smtp_host:
        # No mail server: nothing can be sent now, the notice waits until one is configured.
        return
    lease = _lease(settings)
    notifier = notify.EmailNotifier(settings)
    deadline = time.monotonic() + 2 * lease
    while True:
        tried = _tries_of_unsent(runtime, key)
        notify.send_notices(
            runtime.db.sessionmaker, notifier, keys=[key], lease_seconds=lease, tz=settings.tz
        )
        now_tried = _tries_of_unsent(runtime, key)
        if now_tried is None or now_tried != tried or time.monotonic() > deadline:
            # Sent; or tried just now and refused (the server is down), or an earlier notice
            # of its visit was, and this one waits for it: waiting would only hold the claim
            # this try left.
            return
        time.sleep(0.5)


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
    _send_notice(runtime, rescheduling.notice_key(job_id))
    with runtime.db.transaction() as session:
        jobs.finish_job(session, jobs.get_job(session, job_id), outcome)
    return {"job": job_id, "status": "succeeded"}


@shared_task(name="visits.bulk_move", base=JobTask, bind=True)
def bulk_move(self, *, job_id: str) -> dict:
    """Move every visit of a doctor's away days to the nearest free slot, in batches; a
    retried job goes on from its last committed batch."""
    settings = self.runtime.settings

    def work(sessionmaker, claimed_job_id: str) -> dict:
        return bulk.run_bulk_move(
            sessionmaker,
            claimed_job_id,
            tz=settings.tz,
            notifier=notify.EmailNotifier(settings),
            lease_seconds=_lease(settings),
        )

    return self.run_job(job_id, work)


@shared_task(name="visits.send_notice", base=ClinicTask, bind=True)
def send_notice(self, *, key: str) -> None:
    """Send the notice ``key`` (written with the change it tells of) if it exists and is
    unsent; beat's sweep sends what this one could not."""
    _send_notice(self.runtime, key)


@shared_task(name="visits.send_reminders", base=ClinicTask, bind=True)
def send_reminders(self) -> int:
    """Write due reminders and send every unsent notice; returns how many were sent."""
    runtime = self.runtime
    settings = runtime.settings
    with runtime.db.transaction() as session:
        reminders.write_reminders(session, hours=settings.visits_reminder_hours, tz=settings.tz)
    return notify.send_notices(
        runtime.db.sessionmaker,
        notify.EmailNotifier(settings),
        lease_seconds=_lease(settings),
        tz=settings.tz,
    )


@shared_task(name="visits.mark_no_shows", base=ClinicTask, bind=True)
def mark_no_shows(self) -> int:
    runtime = self.runtime
    with runtime.db.transaction() as session:
        grace = runtime.settings.visits_no_show_grace_minutes
        marked = cancelling.mark_no_shows(session, grace_minutes=grace, tz=runtime.settings.tz)
        return len(marked)
