"""Which targets a document prints for, in the order they are looked up: a ticket its
queue's printer, else the one for every ticket; a cashier's document her desk's printer,
else the one for every other receipt. Jobs are made where these lead, and jobs still waiting
follow them when an administrator gives a target to another printer."""

from __future__ import annotations

from sqlalchemy import Select, String, bindparam, cast, literal, select
from sqlalchemy.orm import Session, aliased

from clinic.accounts.models import User
from clinic.db import dispatch_after_commit
from clinic.payments.models import CashierShift, Refund
from clinic.printing import jobs
from clinic.printing.models import (
    JobKind,
    JobState,
    Printer,
    PrinterAssignment,
    PrinterState,
    PrintJob,
)
from clinic.queue.models import Queue, Ticket

# A queue's own target, before its id; and the target of every ticket without one.
QUEUE_TARGET = "queue:"
EVERY_TICKET = "tickets"


def ticket_targets(queue_id: int) -> list[str]:
    return [f"{QUEUE_TARGET}{queue_id}", EVERY_TICKET]


def cashier_targets(username: str) -> list[str]:
    return [f"cashier:{username}", "receipts"] if username else ["receipts"]


def refund_desk(session: Session, refund_id: int, actor: str) -> str:
    """Whose desk a refund was given at: the cashier of the shift the cash left (a manager
    giving it back from that drawer stands at that desk), else whoever gave it."""
    row = session.get(Refund, refund_id)
    shift = session.get(CashierShift, row.shift_id) if row is not None and row.shift_id else None
    cashier = session.get(User, shift.cashier_id) if shift is not None else None
    return cashier.username if cashier is not None else actor


def shift_cashier(session: Session, shift_id: int | None) -> str | None:
    """The username of the cashier whose shift it is."""
    shift = session.get(CashierShift, shift_id) if shift_id else None
    cashier = session.get(User, shift.cashier_id) if shift is not None else None
    return cashier.username if cashier is not None else None


CASHIER_KINDS = (JobKind.RECEIPT, JobKind.PAYMENT, JobKind.REFUND, JobKind.SHIFT)


def job_targets(session: Session, job: PrintJob) -> list[str]:
    """The targets ``job`` prints for, as when it was made (none for a test page, which is
    for its printer). A retry prints for what the job it retries printed for, and a copy
    made from the print list for what its document first printed for: another cashier or an
    administrator pressing Retry or asking for a copy does not make the cashier's document
    theirs."""
    seen = {job.id}
    while job.retry_of_id is not None and job.retry_of_id not in seen:
        original = session.get(PrintJob, job.retry_of_id)
        if original is None:
            break
        job = original
        seen.add(job.id)
    if job.kind == JobKind.TICKET:
        ticket = session.get(Ticket, job.subject_id) if job.subject_id else None
        return ticket_targets(ticket.queue_id) if ticket is not None else []
    if job.kind not in CASHIER_KINDS:
        return []
    if job.source_channel is None:  # a copy made from the print list, not from a request
        job = first_of_document(session, job)
    return cashier_targets(_cashier_of(session, job))


def copy_targets(session: Session, job: PrintJob) -> list[str]:
    """The targets a copy of ``job`` made from the print list prints for: a cashier's
    document her desk's, whichever desk the job itself was asked for at (a receipt reprinted
    at another cashier's desk)."""
    if job.kind in CASHIER_KINDS:
        job = first_of_document(session, job)
    return job_targets(session, job)


def first_of_document(session: Session, job: PrintJob) -> PrintJob:
    """The first job of ``job``'s document (its receipt, part payment, refund or shift),
    made from its print request for its cashier's desk; ``job`` when there is none."""
    if job.subject_id is None:
        return job
    first = session.scalar(
        select(PrintJob)
        .where(
            PrintJob.kind == job.kind,
            PrintJob.subject_id == job.subject_id,
            PrintJob.source_channel.is_not(None),
        )
        .order_by(PrintJob.id)
        .limit(1)
    )
    return first if first is not None else job


def _cashier_of(session: Session, job: PrintJob) -> str:
    """Whose desk a cashier's job made from a print request printed for: a shift slip its
    shift's cashier's, a refund the desk it was given at, another the one who asked for it
    (the receipt's cashier, or the cashier who asked for its copy at her own desk)."""
    if job.kind == JobKind.SHIFT:
        return shift_cashier(session, job.subject_id) or job.requested_by
    if job.kind == JobKind.REFUND and job.subject_id:
        return refund_desk(session, job.subject_id, job.requested_by)
    return job.requested_by


def printer_for(session: Session, targets: list[str]) -> Printer | None:
    """The printer of the first of ``targets`` that has one."""
    rows = dict(
        session.execute(
            select(PrinterAssignment.target, PrinterAssignment.printer_id).where(
                PrinterAssignment.target.in_(targets)
            )
        ).all()
    )
    for target in targets:
        if target in rows:
            return session.get(Printer, rows[target])
    return None


def _with_queue_printer(reading: Select) -> Select:
    """``reading``, a statement whose rows are queues, with the printer of each queue's
    tickets (the queue's own, else the one for every ticket, as :func:`printer_for` finds
    it) as three more columns, null for a queue whose tickets have no printer."""
    own = literal(QUEUE_TARGET, String) + cast(Queue.id, String)
    chosen = (
        select(PrinterAssignment.printer_id)
        .where(PrinterAssignment.target.in_([own, literal(EVERY_TICKET, String)]))
        .order_by(PrinterAssignment.target == EVERY_TICKET)  # the queue's own first
        .limit(1)
        .scalar_subquery()
    )
    printer = aliased(Printer, name="queue_printer")
    return reading.outerjoin(printer, printer.id == chosen).add_columns(
        printer.active.label("paper_active"),
        printer.kind.label("paper_kind"),
        printer.state.label("paper_state"),
    )


class QueuePaper:
    """Whether a queue's tickets go to a thermal printer (an active network one), and whether
    that printer is failing now (unreachable, out of paper: its tickets wait for it and may
    never come out, so the kiosk tells the patient to keep his number in mind).

    Read with the statement that reads the queue for issuing a ticket (it is a
    :class:`clinic.queue.numbering.ReadAlong`): the desk and the kiosk ask it of every
    ticket, and a statement of its own would cost a round trip a ticket."""

    # The statements reading queues, with the printer's columns: made once for each.
    _made: dict[Select, Select] = {}

    def __init__(self) -> None:
        self.on_paper = False
        self.failing = False

    def statement(self, reading: Select) -> Select:
        made = self._made.get(reading)
        if made is None:
            made = self._made[reading] = _with_queue_printer(reading)
        return made

    def take(self, row) -> None:
        self.on_paper = row.paper_active is not None and jobs.paper_printer(
            row.paper_active, row.paper_kind
        )
        self.failing = self.on_paper and row.paper_state == PrinterState.FAILING


_QUEUE = select(Queue.id).where(Queue.id == bindparam("queue_id"))


def tickets_on_paper(session: Session, queue_ids) -> list[int]:
    """Of ``queue_ids``, the queues whose tickets go to a thermal printer: each of their
    tickets is printed there, so the desk and the kiosk open no browser print of it as well
    (one paper a ticket). The others' tickets are PDFs, printed from the browser."""
    return [queue_id for queue_id in queue_ids if queue_paper(session, queue_id)[0]]


def queue_paper(session: Session, queue_id: int) -> tuple[bool, bool]:
    """:class:`QueuePaper`'s two answers for the queue ``queue_id``, in a statement of its own."""
    paper = QueuePaper()
    row = session.connection().execute(paper.statement(_QUEUE), {"queue_id": queue_id}).first()
    if row is not None:
        paper.take(row)
    return paper.on_paper, paper.failing


def take_waiting_jobs(session: Session, printer: Printer, given: set[str]) -> None:
    """The jobs still waiting on other printers for the ``given`` targets come to
    ``printer``, made for its paper and code page (or as PDFs, when it prints none), each
    where it stood in the line: a target given to another printer (its own one is away, or
    the desk has moved) takes its unprinted tickets and receipts with it. A job being sent
    at this moment stays: it may be on paper already."""
    if not given:
        return
    elsewhere = (
        PrintJob.printer_id.is_not(None),
        PrintJob.printer_id != printer.id,
        PrintJob.state == JobState.QUEUED,
    )
    # The printers they wait on are held first, as a printing worker holds its printer's row
    # while it takes its next job: a job it is taking now is found sending, and stays.
    sources = select(PrintJob.printer_id).where(*elsewhere).distinct()
    session.execute(
        select(Printer.id).where(Printer.id.in_(sources)).order_by(Printer.id).with_for_update()
    ).all()
    waiting = session.scalars(
        select(PrintJob)
        .where(*elsewhere)
        .order_by(PrintJob.id)
        .execution_options(populate_existing=True)
    ).all()
    moved = False
    for job in waiting:
        targets = job_targets(session, job)
        goes_to = printer_for(session, targets)
        if goes_to is None or goes_to.id != printer.id or not given & set(targets):
            continue
        payload = jobs.payload_for(job.document, printer)
        job.printer_id, job.payload = printer.id, (
            jobs.with_copy(payload, printer) if job.copy else payload
        )
        job.next_attempt_at = job.first_failed_at = None
        if not jobs.prints_on_paper(printer):
            job.state = JobState.PDF_ONLY
        jobs.announce(session, job)
        moved = True
    if moved and jobs.prints_on_paper(printer):
        dispatch_after_commit(
            session,
            jobs.DRAIN_TASK,
            queue=jobs.PRINTING_QUEUE,
            coalesce=True,
            printer_id=printer.id,
        )
