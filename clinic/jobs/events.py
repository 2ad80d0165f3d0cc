"""A job's events on its ``job:<id>`` channel: the whole job, or (progress) its counts."""

from __future__ import annotations

from clinic.events.catalogue import EventType, NoneType, declare

OPT_INT, OPT_STR, OPT_DICT = (int, NoneType), (str, NoneType), (dict, NoneType)

JOB = {
    "id": str,
    "kind": str,
    "status": str,
    "progress": int,
    "done": int,
    "total": OPT_INT,
    "result": OPT_DICT,
    "error": OPT_DICT,
    "attempts": int,
    "created_by": OPT_STR,
    "created_at": str,
    "started_at": OPT_STR,
    "finished_at": OPT_STR,
    "channel": str,
}
QUEUED = EventType("job.queued", {"job": JOB})
STARTED = EventType("job.started", {"job": JOB})
PROGRESS = EventType(
    "job.progress", {"job": {"id": str, "done": int, "total": OPT_INT, "progress": int}}
)
SUCCEEDED = EventType("job.succeeded", {"job": JOB})
FAILED = EventType("job.failed", {"job": JOB})

declare(QUEUED, STARTED, PROGRESS, SUCCEEDED, FAILED)
