"""The figures an operator watches, read where they are true for every process at once.

Tasks run in worker processes (often on other machines), so their counts are kept in Redis,
not in any one process's memory: a worker adds one to ``<prefix>:metrics:tasks`` for each
task state it sees, and whichever web process is scraped reads the totals. Queue depths are
the lengths of the Celery queues' Redis lists; jobs and the outbox are counted in the
database. Nothing here knows Celery or Flask.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clinic.jobs.models import Job, JobStatus

TASK_COUNTS_KEY = "metrics:tasks"
# Task names are dotted words; the separator cannot occur in one.
_SEPARATOR = "|"


def task_counts_key(prefix: str) -> str:
    return f"{prefix}:{TASK_COUNTS_KEY}"


def record_task_state(redis, prefix: str, task: str, state: str) -> None:
    """Count one task reaching ``state`` (started, succeeded, failed, retried)."""
    redis.hincrby(task_counts_key(prefix), f"{task}{_SEPARATOR}{state}", 1)


def task_counts(redis, prefix: str) -> dict[tuple[str, str], int]:
    """Every (task name, state) counted so far, with its count."""
    counts = {}
    for field, value in redis.hgetall(task_counts_key(prefix)).items():
        field = field.decode() if isinstance(field, bytes) else field
        task, _, state = field.rpartition(_SEPARATOR)
        counts[(task, state)] = int(value)
    return counts


def celery_queue_key(prefix: str, queue: str) -> str:
    """The Redis list of a Celery queue (Celery's key prefix is ``<prefix>:celery:``)."""
    return f"{prefix}:celery:{queue}"


def queue_depths(redis, prefix: str, queues) -> dict[str, int]:
    """Messages waiting in each Celery queue (not counting those a worker holds)."""
    pipe = redis.pipeline(transaction=False)
    for queue in queues:
        pipe.llen(celery_queue_key(prefix, queue))
    return dict(zip(queues, pipe.execute()))


def jobs_by_status(session: Session) -> dict[str, int]:
    """How many jobs wait and how many run now (finished ones are history, not load)."""
    counts = dict.fromkeys((JobStatus.QUEUED, JobStatus.RUNNING), 0)
    rows = session.execute(
        select(Job.status, func.count()).where(Job.status.in_(counts)).group_by(Job.status)
    )
    for status, count in rows:
        counts[status] = count
    return counts
