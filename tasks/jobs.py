"""Job housekeeping: send again the jobs whose worker died or whose message was lost."""

from __future__ import annotations

from celery import shared_task

from clinic import jobs
from tasks.base import ClinicTask


@shared_task(name="jobs.redispatch_stale", base=ClinicTask, bind=True, max_retries=0)
def redispatch_stale(self) -> int:
    runtime = self.runtime
    with runtime.db.transaction() as session:
        stale = jobs.jobs_to_redispatch(session, stale_seconds=runtime.settings.job_stale_seconds)
        targets = [(job.id, job.task_name, job.queue) for job in stale]
    for job_id, task_name, queue in targets:
        self.app.send_task(task_name, kwargs={"job_id": job_id}, queue=queue)
    return len(targets)
