"""A job's heartbeat while its work runs: a worker building a report for minutes, or waiting
on a query, is alive, and must not be taken for dead and the job handed to another worker
(which would do the same work at the same time)."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import update
from sqlalchemy.exc import DBAPIError

from clinic.base import utcnow
from clinic.jobs.models import Job, JobStatus

log = logging.getLogger(__name__)


def beat(session, job_id: str, attempt: int) -> bool:
    """Mark attempt ``attempt`` of the job alive now; False when it no longer holds the job
    (finished, failed, or taken over by a later attempt). The caller commits."""
    touched = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.RUNNING, Job.attempts == attempt)
        .values(heartbeat_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return touched.rowcount == 1


class Heartbeat:
    """While the ``with`` block runs, a thread marks the job's attempt alive every ``every``
    seconds, each time in a short transaction of its own (the work's own transactions may be
    long). It stops at the block's end, or once the attempt has lost the job."""

    def __init__(self, sessionmaker, job_id: str, attempt: int, every: float) -> None:
        self.sessionmaker = sessionmaker
        self.job_id, self.attempt, self.every = job_id, attempt, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"job-{job_id}-beat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=self.every + 5)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                with self.sessionmaker() as session, session.begin():
                    held = beat(session, self.job_id, self.attempt)
            except DBAPIError:
                # The database briefly away, or busy (SQLite's one writer): the next beat may
                # pass; the job goes stale only if none does for the stale period.
                log.warning("job %s: its heartbeat could not be written", self.job_id)
                continue
            if not held:
                return
