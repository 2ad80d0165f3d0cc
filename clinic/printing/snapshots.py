"""What the printing channels show a client that (re)subscribes: a scope's recent jobs
(``print_jobs:<scope>``) and every printer (``printers:all``)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from clinic.channels import channel_key, snapshot_provider
from clinic.printing import jobs, printers


@snapshot_provider("print_jobs")
def _jobs_snapshot(session: Session, channel: str, tz: ZoneInfo) -> dict:
    found = jobs.recent_jobs(session, channel_key(channel), limit=20)
    return {"jobs": [jobs.job_as_dict(session, job) for job in found]}


@snapshot_provider("printers")
def _printers_snapshot(session: Session, channel: str, tz: ZoneInfo) -> dict:
    return {
        "printers": [printers.printer_as_dict(session, p) for p in printers.list_printers(session)]
    }
