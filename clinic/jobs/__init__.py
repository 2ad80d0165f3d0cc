"""Jobs: anything slow is a row with status, progress and result (`clinic.jobs.service`)."""

from clinic.jobs.batches import ClaimLost, lock_claimed, savepoint
from clinic.jobs.service import (
    EVENT_FAILED,
    EVENT_PROGRESS,
    EVENT_QUEUED,
    EVENT_STARTED,
    EVENT_SUCCEEDED,
    claim_job,
    create_job,
    fail_job,
    finish_job,
    get_job,
    job_as_dict,
    job_channel,
    jobs_to_redispatch,
    record_dead_letter,
    release_job,
    save_progress,
)

__all__ = [
    "ClaimLost",
    "lock_claimed",
    "savepoint",
    "EVENT_FAILED",
    "EVENT_PROGRESS",
    "EVENT_QUEUED",
    "EVENT_STARTED",
    "EVENT_SUCCEEDED",
    "claim_job",
    "create_job",
    "fail_job",
    "finish_job",
    "get_job",
    "job_as_dict",
    "job_channel",
    "jobs_to_redispatch",
    "record_dead_letter",
    "release_job",
    "save_progress",
]
