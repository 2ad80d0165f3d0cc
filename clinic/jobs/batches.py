"""Working through a job in committed batches: each batch re-checks that this attempt still
holds the job, and each row may be undone alone without undoing its batch."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy.orm import Session

from clinic.events import PENDING_KEY
from clinic.jobs.models import Job, JobStatus


class ClaimLost(Exception):
    """Another worker claimed the job (this one was presumed dead): stop without writing."""


def lock_claimed(session: Session, job_id: str, attempt: int) -> Job:
    """The job, locked for this batch's transaction, if attempt ``attempt`` still holds it;
    else :class:`ClaimLost` (a later attempt took it over, or it finished)."""
    job = session.get(Job, job_id, with_for_update=True, populate_existing=True)
    if job is None or job.status != JobStatus.RUNNING or job.attempts != attempt:
        raise ClaimLost(job_id)
    return job


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """A savepoint for one item of a batch. When it rolls back, the events the item recorded
    are taken off the list published after commit too: their numbers were rolled back with
    them."""
    pending = session.info.get(PENDING_KEY)
    mark = len(pending) if pending else 0
    nested = session.begin_nested()
    try:
        yield
    except BaseException:
        nested.rollback()
        del session.info.get(PENDING_KEY, [])[mark:]
        raise
    nested.commit()
