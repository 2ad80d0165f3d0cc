"""Who may follow a scope's print jobs (and retry, reprint or open them): the reception and
kiosk print queue tickets (``queue.issue``), the cashiers the rest (``payments.read``),
the administrators the test pages (``printing.manage``)."""

from __future__ import annotations

from sqlalchemy.orm import object_session

from clinic.accounts.permissions import Staff
from clinic.errors import Forbidden
from clinic.printing.models import JobKind
from clinic.printing.routes import shift_cashier

SCOPE_PERMISSIONS = {
    "queue": "queue.issue",
    "cashier": "payments.read",
    "printers": "printing.manage",  # test pages
}


def may_follow(staff: Staff, scope: str) -> bool:
    if not staff.can("printing.use") and not staff.can("printing.manage"):
        return False
    permission = SCOPE_PERMISSIONS.get(scope.split(".", 1)[0])
    return permission is not None and staff.can(permission)


def check_may_follow(staff: Staff, scope: str) -> None:
    if not may_follow(staff, scope):
        raise Forbidden("your role does not follow these print jobs")


def _shift_cashier(job) -> str | None:
    """The username of the cashier whose shift the slip is: a copy or a retry someone else
    asked for is still her slip."""
    session = object_session(job)
    if session is None:
        return None
    return shift_cashier(session, job.subject_id)


def may_open(staff: Staff, username: str, job) -> bool:
    """A job of a scope one follows, but a cashier's shift (Z) slip, with her drawer's
    figures, only by that cashier and by those who read the shift reports."""
    if not may_follow(staff, job.scope):
        return False
    if job.kind == JobKind.SHIFT:
        return staff.can("reports.read") or username in (job.requested_by, _shift_cashier(job))
    return True


def check_may_open(staff: Staff, username: str, job) -> None:
    if not may_open(staff, username, job):
        raise Forbidden("these print jobs are not yours to open")
