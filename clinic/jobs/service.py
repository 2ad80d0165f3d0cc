"""Jobs: slow work as rows with status, progress, result and error.

A job is created in the same transaction as whatever asked for it and dispatched after
commit. Workers *claim* a job with a guarded update, so two deliveries of one message (a
redelivery after a crash, a re-dispatch by the sweeper) never run it twice at once, and a
finished job is never run again. Progress is saved with each committed batch of work, so a
job picked up again after a crash resumes where the last batch ended.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from clinic.base import iso, utcnow
from clinic.errors import NotFound
from clinic.events import record_event
from clinic.jobs import events
from clinic.jobs.models import DeadLetter, Job, JobStatus

EVENT_QUEUED = events.QUEUED.name
EVENT_STARTED = events.STARTED.name
EVENT_PROGRESS = events.PROGRESS.name
EVENT_SUCCEEDED = events.SUCCEEDED.name
EVENT_FAILED = events.FAILED.name


def job_channel(job_id: str) -> str:
    return f"job:{job_id}"


def job_as_dict(job: Job) -> dict:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "progress": job.progress,
        "done": job.done,
        "total": job.total,
        "result": job.result,
        "error": job.error,
        "attempts": job.attempts,
        "created_by": job.created_by,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "channel": job.channel,
    }


def create_job(
    session: Session,
    *,
    kind: str,
    task_name: str,
    queue: str = "default",
    created_by: str | None = None,
) -> Job:
    """A new queued job, part of the caller's transaction. Dispatch it after commit."""
    job = Job(
        id=uuid.uuid4().hex,
        kind=kind,
        task_name=task_name,
        queue=queue,
        status=JobStatus.QUEUED,
        created_by=created_by,
        created_at=utcnow(),
        dispatched_at=utcnow(),
    )
    session.add(job)
    session.flush()
    record_event(session, job.channel, EVENT_QUEUED, job_as_dict(job))
    return job


# Who besides its starter may follow a job of each kind: the permission its kind's work needs
# (a manager's whole-clinic report is not a doctor's to read). Modules name their kinds with
# :func:`followed_with`; a kind they do not name is followed with ``jobs.read`` alone.
_FOLLOWERS: dict[str, str] = {}


def followed_with(kind: str, permission: str) -> None:
    """Besides its starter, only holders of ``permission`` may follow jobs of ``kind``."""
    _FOLLOWERS[kind] = permission


def may_follow(job: Job, username: str | None, can: Callable[[str], bool]) -> bool:
    """Whether ``username``, who holds the permissions ``can`` answers for, may read ``job``:
    its status, result and events. The caller has checked ``jobs.read`` already."""
    if username and job.created_by == username:
        return True
    return can(_FOLLOWERS.get(job.kind, "jobs.read"))


def get_job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id) if isinstance(job_id, str) and len(job_id) <= 32 else None
    if job is None:
        raise NotFound(f"job {job_id} does not exist")
    return job


def claim_job(session: Session, job_id: str, *, stale_seconds: int) -> Job | None:
    """Mark the job running for this worker, or return None when it must not run now.

    A job may be claimed when it is queued, or when it is running but its heartbeat is older
    than ``stale_seconds`` (the worker that had it died). Finished jobs are never claimed.
    The caller commits.
    """
    now = utcnow()
    stale_before = now - timedelta(seconds=stale_seconds)
    result = session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            or_(
                Job.status == JobStatus.QUEUED,
                (Job.status == JobStatus.RUNNING) & (Job.heartbeat_at < stale_before),
            ),
        )
        .values(
            status=JobStatus.RUNNING,
            attempts=Job.attempts + 1,
            heartbeat_at=now,
            started_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    job = session.get(Job, job_id, populate_existing=True)
    record_event(session, job.channel, EVENT_STARTED, job_as_dict(job))
    return job


def save_progress(
    session: Session, job: Job, *, done: int, total: int | None, state: dict | None = None
) -> None:
    """Record progress (and the resumable state) as part of the batch's transaction."""
    job.done = done
    job.total = total
    job.progress = min(100, int(done * 100 / total)) if total else 0
    job.state = state
    job.heartbeat_at = utcnow()
    session.flush()
    record_event(
        session,
        job.channel,
        EVENT_PROGRESS,
        {"id": job.id, "done": done, "total": total, "progress": job.progress},
    )


def finish_job(session: Session, job: Job, result: dict) -> None:
    job.status = JobStatus.SUCCEEDED
    job.result = result
    job.progress = 100
    job.finished_at = utcnow()
    job.heartbeat_at = job.finished_at
    session.flush()
    record_event(session, job.channel, EVENT_SUCCEEDED, job_as_dict(job))


def fail_job(session: Session, job_id: str, error: dict) -> bool:
    """Mark an unfinished job failed; returns False when it had already finished."""
    job = session.get(Job, job_id, populate_existing=True)
    if job is None or job.status in JobStatus.FINISHED:
        return False
    job.status = JobStatus.FAILED
    job.error = error
    job.finished_at = utcnow()
    session.flush()
    record_event(session, job.channel, EVENT_FAILED, job_as_dict(job))
    return True


def release_job(session: Session, job_id: str) -> None:
    """Give a claimed job back to the queue (a transient error: it will be retried); its
    followers hear ``job.queued``, as a screen reading the job afresh would show it."""
    released = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.RUNNING)
        .values(status=JobStatus.QUEUED, dispatched_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if released.rowcount == 1:
        job = session.get(Job, job_id, populate_existing=True)
        record_event(session, job.channel, EVENT_QUEUED, job_as_dict(job))


def jobs_to_redispatch(session: Session, *, stale_seconds: int) -> list[Job]:
    """Jobs whose message was probably lost: running with a dead heartbeat, or queued and
    not picked up for five times the stale period. Marks them dispatched now."""
    now = utcnow()
    stale_running = now - timedelta(seconds=stale_seconds)
    stale_queued = now - timedelta(seconds=stale_seconds * 5)
    jobs = session.scalars(
        select(Job)
        .where(
            or_(
                (Job.status == JobStatus.RUNNING) & (Job.heartbeat_at < stale_running),
                (Job.status == JobStatus.QUEUED) & (Job.dispatched_at < stale_queued),
            )
        )
        .order_by(Job.created_at)
        .limit(100)
    ).all()
    for job in jobs:
        job.dispatched_at = now
    session.flush()
    return jobs


def record_dead_letter(
    session: Session,
    *,
    task_name: str,
    task_id: str,
    args,
    kwargs,
    error: str,
    traceback: str = "",
    retries: int = 0,
    job_id: str | None = None,
) -> DeadLetter:
    letter = DeadLetter(
        task_name=task_name,
        task_id=task_id,
        job_id=job_id,
        args=list(args or []),
        kwargs=dict(kwargs or {}),
        error=error[:4000],
        traceback=traceback[-20000:],
        retries=retries,
        created_at=utcnow(),
    )
    session.add(letter)
    session.flush()
    return letter


def oldest_running_seconds(session: Session, *, now: datetime | None = None) -> float | None:
    """How long the longest-running attempt of any job has run, or None when none runs."""
    started = session.scalar(
        select(func.min(Job.started_at)).where(Job.status == JobStatus.RUNNING)
    )
    if started is None:
        return None
    return ((now or utcnow()) - started).total_seconds()
