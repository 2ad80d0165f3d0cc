"""Which targets a document prints for, in the order they are looked up: a ticket its
queue's printer, else the one for every ticket; a cashier's document her desk's printer,
else the one for every other receipt. Jobs are made where these lead, and jobs still waiting
follow them when an administrator gives a target to another printer."""

from __future__ import annotations

from sqlalchemy.orm import Session

from clinic.accounts.models import User
from clinic.payments.models import CashierShift, Refund
from clinic.printing.models import JobKind, PrintJob
from clinic.queue.models import Ticket


def ticket_targets(queue_id: int) -> list[str]:
    return [f"queue:{queue_id}", "tickets"]


def cashier_targets(username: str) -> list[str]:
    return [f"cashier:{username}", "receipts"] if username else ["receipts"]


def refund_desk(session: Session, refund_id: int, actor: str) -> str:
    """Whose desk a refund was given at: the cashier of the shift the cash left (a manager
    giving it back from that drawer stands at that desk), else whoever gave it."""
    row = session.get(Refund, refund_id)
    shift = session.get(CashierShift, row.shift_id) if row is not None and row.shift_id else None
    cashier = session.get(User, shift.cashier_id) if shift is not None else None
    return cashier.username if cashier is not None else actor


def job_targets(session: Session, job: PrintJob) -> list[str]:
    """The targets ``job`` prints for, as when it was made (none for a test page, which is
    for its printer)."""
    if job.kind == JobKind.TICKET:
        ticket = session.get(Ticket, job.subject_id) if job.subject_id else None
        return ticket_targets(ticket.queue_id) if ticket is not None else []
    if job.kind == JobKind.REFUND and job.subject_id:
        return cashier_targets(refund_desk(session, job.subject_id, job.requested_by))
    if job.kind in (JobKind.RECEIPT, JobKind.REFUND, JobKind.SHIFT):
        return cashier_targets(job.requested_by)
    return []
