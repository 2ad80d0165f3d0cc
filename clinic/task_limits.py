"""How long a task may run, and what the broker must allow for it.

Tasks are acknowledged when they end (``task_acks_late``): Redis hands a task that is not
acknowledged within ``CLINIC_BROKER_VISIBILITY_TIMEOUT`` to another worker, while the first
may still be running it. Every task is stopped by Celery at the job time limit plus a grace
(workers/config.py), so the timeout must be longer than that.
"""

from __future__ import annotations

# Celery raises SoftTimeLimitExceeded at the job time limit, and kills the task this long later.
HARD_LIMIT_GRACE_SECONDS = 30


def longest_task_seconds(job_time_limit: int) -> int:
    return job_time_limit + HARD_LIMIT_GRACE_SECONDS


def visibility_problem(job_time_limit: int, visibility_timeout: int) -> str | None:
    longest = longest_task_seconds(job_time_limit)
    if visibility_timeout > longest:
        return None
    return (
        f"CLINIC_BROKER_VISIBILITY_TIMEOUT ({visibility_timeout} s) must be longer than a task"
        f" may run, CLINIC_JOB_TIME_LIMIT + {HARD_LIMIT_GRACE_SECONDS} s ({longest} s): Redis"
        " would hand a task still running to a second worker"
    )
