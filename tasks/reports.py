"""Reports: building a report job, and the scheduled report e-mails (beat, every 5 min)."""

from __future__ import annotations

from celery import shared_task

from clinic.reports import building, mailing, subscriptions
from tasks.base import ClinicTask, JobTask


@shared_task(name=building.TASK_NAME, base=JobTask, bind=True)
def build_report(self, *, job_id: str) -> dict:
    """Build the job's report in every requested format; its files stay with the job."""
    tz = self.runtime.settings.tz

    def work(sessionmaker, claimed_job_id: str) -> dict:
        return building.build_report(sessionmaker, claimed_job_id, tz)

    return self.run_job(job_id, work)


@shared_task(name="reports.send_subscriptions", base=ClinicTask, bind=True)
def send_subscriptions(self) -> int:
    """Write each subscription's delivery of its last complete period, and of any period
    missed while nothing asked (once: unique per period), then send what is due; returns
    how many e-mails this run sent."""
    runtime = self.runtime
    settings = runtime.settings
    with runtime.db.transaction() as session:
        subscriptions.schedule_deliveries(session, tz=settings.tz)
    return mailing.send_due(
        runtime.db.sessionmaker,
        settings,
        mailing.SmtpMailer(settings),
        lease_seconds=settings.reports_send_lease_seconds,
        retry_base_seconds=settings.reports_retry_base_seconds,
    )
