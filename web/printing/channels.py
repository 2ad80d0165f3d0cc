"""Who may read the printing channels: a scope's print jobs under the printing access rule
(clinic/printing/access.py), the printers' states the administrators."""

from __future__ import annotations

from sqlalchemy.orm import Session

from clinic.channels import channel_key, int_key
from clinic.printing import snapshots  # noqa: F401 - registers the printing snapshots
from clinic.printing import jobs
from clinic.printing.access import may_follow, may_open
from clinic.printing.models import JobKind, PrintJob
from clinic.printing.printers import PRINTERS_CHANNEL
from web.auth.identity import Identity
from web.ws.access import SNAPSHOT, can, channel_rule, channel_view


def _named_scope(scope: str) -> bool:
    """A scope print jobs are filed under (``queue.12``, ``cashier``, ``printers``): a screen
    following any other name would show an empty list and never hear of a job."""
    if scope.startswith("queue."):
        queue_id = int_key(f"queue:{scope[len('queue.'):]}")
        return queue_id is not None and scope == jobs.queue_scope(queue_id)
    return scope in (jobs.CASHIER_SCOPE, jobs.TEST_SCOPE)


@channel_rule("print_jobs")
def _print_jobs(identity, channel: str, session: Session) -> bool:
    scope = channel_key(channel)
    return (
        isinstance(identity, Identity) and _named_scope(scope) and may_follow(identity.staff, scope)
    )


def _opens(identity, job: dict, session: Session) -> bool:
    """Whether the reader may open the job, as the jobs API lists it: only a cashier's shift
    (Z) slip is narrower than its scope."""
    if job.get("kind") != JobKind.SHIFT:
        return True
    row = session.get(PrintJob, job.get("id"))
    return (
        row is not None
        and isinstance(identity, Identity)
        and may_open(identity.staff, identity.username, row)
    )


@channel_view("print_jobs")
def _print_jobs_shown(identity, type_: str, data, session: Session):
    if type_ == SNAPSHOT:
        return {**data, "jobs": [job for job in data["jobs"] if _opens(identity, job, session)]}
    return data if _opens(identity, data["job"], session) else None


@channel_rule("printers")
def _printers(identity, channel: str, session: Session) -> bool:
    return channel == PRINTERS_CHANNEL and can(identity, "printing.manage")
