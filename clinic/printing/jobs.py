"""Print jobs: made from a document for a printer, followed live by the desk they print for,
retried or reprinted from there, and printable as a PDF whatever happened to them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.base import is_id, iso, utcnow
from clinic.db import dispatch_after_commit
from clinic.errors import Conflict, NotFound
from clinic.events import record_event
from clinic.printing import pdfs, thermal
from clinic.printing.events import PRINT_JOB_CHANGED
from clinic.printing.models import JobKind, JobState, Printer, PrinterKind, PrintJob

DRAIN_TASK = "printing.drain"
PRINTING_QUEUE = "printing"
CASHIER_SCOPE = "cashier"
TEST_SCOPE = "printers"
SCOPES_LIMIT = 50


def queue_scope(queue_id: int) -> str:
    return f"queue.{queue_id}"


def channel_of(scope: str) -> str:
    return f"print_jobs:{scope}"


def get_job(session: Session, job_id: int) -> PrintJob:
    job = session.get(PrintJob, job_id) if is_id(job_id) else None
    if job is None:
        raise NotFound(f"print job {job_id} does not exist")
    return job


def job_as_dict(session: Session, job: PrintJob) -> dict:
    printer = session.get(Printer, job.printer_id) if job.printer_id else None
    return {
        "id": job.id,
        "kind": job.kind,
        "subject_id": job.subject_id,
        "title": job.title,
        "scope": job.scope,
        "printer_id": job.printer_id,
        "printer": printer.name if printer else None,
        "state": job.state,
        "copy": job.copy,
        "attempts": job.attempts,
        "last_error": job.last_error,
        "failure": thermal.failure(job.last_error),
        "created_at": iso(job.created_at),
        "printed_at": iso(job.printed_at),
        "retry_of_id": job.retry_of_id,
    }


def announce(session: Session, job: PrintJob) -> None:
    session.flush()
    record_event(
        session, channel_of(job.scope), PRINT_JOB_CHANGED.name, {"job": job_as_dict(session, job)}
    )


def prints_on_paper(printer: Printer | None) -> bool:
    return printer is not None and paper_printer(printer.active, printer.kind)


def paper_printer(active: bool, kind: str) -> bool:
    """Whether a printer that is ``active`` and of ``kind`` prints on paper."""
    return active and kind == PrinterKind.NETWORK


def payload_for(document: dict, printer: Printer | None) -> bytes:
    if printer is None:
        return thermal.render(document)
    return thermal.render(
        document, profile=printer.profile, code_page=printer.code_page, paper_mm=printer.paper_mm
    )


def hold_printer(session: Session, printer: Printer | None) -> Printer | None:
    """``printer`` as it stands now, held until the caller's transaction ends (None once it
    has been removed, or for none). An administrator's change of a printer holds its row
    from the start (:mod:`clinic.printing.printers`), and turns its waiting jobs into PDFs
    when it switches it off, makes it "PDF only" or removes it: a job made meanwhile is
    either among them, or waits for the change and sees the printer as it has become; never
    left queued for a printer that takes no more jobs.

    Every printer is held, in the order of their ids, not only this one: a collecting round
    makes jobs for several printers and announces each as it goes, while an administrator's
    change announces the jobs it turns into PDFs once it holds its printer. Held all from
    the round's first job, before any announcement, the two never wait on each other in a
    circle. A key share: the printing worker's updates of a printer's row (its lease, its
    state) neither wait for it nor make it wait. The printer is read once held, by a
    statement of its own: a key share that waited for a change answers the row as it was
    before the change."""
    session.execute(
        select(Printer.id).order_by(Printer.id).with_for_update(read=True, key_share=True)
    ).all()
    if printer is None:
        return None
    return session.get(Printer, printer.id, populate_existing=True)


def create_job(
    session: Session,
    *,
    kind: str,
    scope: str,
    document: dict,
    printer: Printer | None,
    subject_id: int | None = None,
    payload: bytes | None = None,
    copy: bool = False,
    source: tuple[str, int] | None = None,
    requested_by: str = "",
    retry_of: PrintJob | None = None,
) -> PrintJob:
    """A job for ``printer`` (None: no printer, the PDF is the print), queued behind the
    printer's earlier jobs; the printing worker is sent for after commit. Queued only if the
    printer, as it stands when the job is made, prints on paper: see :func:`hold_printer`."""
    printer = hold_printer(session, printer)
    if payload is None:
        payload = payload_for(document, printer)
        if copy:
            payload = with_copy(payload, printer)
    on_paper = prints_on_paper(printer)
    job = PrintJob(
        kind=kind,
        subject_id=subject_id,
        title=document["title"][:120],
        scope=scope,
        printer_id=printer.id if printer else None,
        state=JobState.QUEUED if on_paper else JobState.PDF_ONLY,
        copy=copy,
        document=document,
        payload=payload,
        source_channel=source[0] if source else None,
        source_seq=source[1] if source else None,
        retry_of_id=retry_of.id if retry_of else None,
        requested_by=requested_by[:64],
    )
    session.add(job)
    announce(session, job)
    if on_paper:
        dispatch_after_commit(
            session, DRAIN_TASK, queue=PRINTING_QUEUE, coalesce=True, printer_id=printer.id
        )
    return job


def made_for(job: PrintJob, printer: Printer | None) -> bool:
    """Whether the job's stored bytes are what ``printer``, as it is set now (its profile,
    code page and paper), prints of its document: not when the printer has been set to
    another code page or paper since they were made."""
    fresh = payload_for(job.document, printer)
    return job.payload in (fresh, with_copy(fresh, printer))


def remake(session: Session, printer: Printer) -> None:
    """The printer's jobs waiting to go out, made again for it as it is set now (another
    code page, paper or profile): bytes made for a code page it no longer has would print
    Cyrillic as other letters."""
    waiting = session.scalars(
        select(PrintJob).where(PrintJob.printer_id == printer.id, PrintJob.state == JobState.QUEUED)
    )
    for job in waiting:
        if not made_for(job, printer):
            payload = payload_for(job.document, printer)
            job.payload = with_copy(payload, printer) if job.copy else payload


def try_now(session: Session, printer: Printer) -> None:
    """The printer's jobs waiting out a pause between attempts are tried again at once: its
    address has been corrected, and the desk should not wait up to half a minute more for
    what may print now."""
    waiting = session.scalars(
        select(PrintJob).where(
            PrintJob.printer_id == printer.id,
            PrintJob.state == JobState.QUEUED,
            PrintJob.next_attempt_at.is_not(None),
        )
    ).all()
    for job in waiting:
        job.next_attempt_at = None
    if waiting:
        dispatch_after_commit(
            session, DRAIN_TASK, queue=PRINTING_QUEUE, coalesce=True, printer_id=printer.id
        )


def with_copy(payload: bytes, printer: Printer | None) -> bytes:
    if printer is None:
        return thermal.with_copy_mark(payload)
    return thermal.with_copy_mark(payload, profile=printer.profile, code_page=printer.code_page)


_ITS_OWN = object()


def retry_job(session: Session, job_id: int, *, actor: str, printer=_ITS_OWN) -> PrintJob:
    """Send a failed job's bytes again, as a new job behind the printer's queued ones (on
    ``printer`` when given: made for it, unless it prints them the same); once: a second desk
    pressing Retry at the same moment waits for the first one's retry (the failed job's row
    is locked) and is refused, so the paper does not come out twice."""
    job = get_job(session, job_id)
    session.refresh(job, with_for_update=True)
    if job.state != JobState.FAILED:
        raise Conflict("only a failed print job is retried", code="not_failed")
    if session.scalar(select(PrintJob.id).where(PrintJob.retry_of_id == job.id).limit(1)):
        raise Conflict("this job has been retried already: retry that one", code="retried")
    if printer is _ITS_OWN:
        printer = session.get(Printer, job.printer_id) if job.printer_id else None
    # The same bytes, unless the printer has been set to another code page or paper since:
    # then the same document made for it (marked as a copy if they were). Its PDF opened
    # meanwhile may have been printed from the browser: then this paper is a copy too.
    payload = job.payload if made_for(job, printer) else None
    copy = job.copy or job.pdf_opened_at is not None
    if payload is not None and copy and not job.copy:
        payload = with_copy(payload, printer)
    return create_job(
        session,
        kind=job.kind,
        scope=job.scope,
        document=job.document,
        printer=printer,
        subject_id=job.subject_id,
        payload=payload,
        copy=copy,
        requested_by=actor,
        retry_of=job,
    )


def reprint_job(
    session: Session, job_id: int, *, actor: str, printer=_ITS_OWN, document: dict | None = None
) -> PrintJob:
    """Print a job again with "КОПИЯ / COPY" on top: the same bytes on its own printer, or
    the document made anew for ``printer`` (its paper and code page; None: the PDF). With
    ``document`` (the job's, with what has become known since), that one, made anew."""
    job = get_job(session, job_id)
    own = session.get(Printer, job.printer_id) if job.printer_id else None
    if printer is _ITS_OWN:
        printer = own
    if document is not None:
        payload = None  # made anew by create_job, marked as a copy
    elif printer is own and made_for(job, own):
        payload = job.payload if job.copy else with_copy(job.payload, own)
    else:
        # Made by create_job, marked as a copy, for the new printer, or for its own one set
        # to another code page or paper since.
        payload = None
    return create_job(
        session,
        kind=job.kind,
        scope=job.scope,
        document=document if document is not None else job.document,
        printer=printer,
        subject_id=job.subject_id,
        payload=payload,
        copy=True,
        requested_by=actor,
    )


def recent_jobs(session: Session, scope: str, limit: int = SCOPES_LIMIT) -> list[PrintJob]:
    """The scope's newest jobs, newest first."""
    return list(
        session.scalars(
            select(PrintJob)
            .where(PrintJob.scope == scope)
            .order_by(PrintJob.id.desc())
            .limit(limit)
        )
    )


# A job whose paper may still come out of its printer: waiting, going out, or failed (its
# Retry sends the same bytes).
NOT_ON_PAPER_YET = (JobState.QUEUED, JobState.SENDING, JobState.FAILED)


def job_pdf(session: Session, job: PrintJob, page: str = "roll") -> bytes:
    """The job's document as a PDF: "roll" at its printer's paper width, or "A4"/"A5". A job
    not printed yet notes the first opening (``pdf_opened_at``; the caller commits)."""
    if job.state in NOT_ON_PAPER_YET and not job.pdf_opened_at:
        job.pdf_opened_at = utcnow()
    printer = session.get(Printer, job.printer_id) if job.printer_id else None
    return pdfs.render(
        job.document, page, paper_mm=printer.paper_mm if printer else 80, copy=job.copy
    )


def note_ticket_printed_from_browser(session: Session, ticket_id: int) -> None:
    """The ticket's printable page was opened (the desk's "Print again", the kiosk's page):
    its jobs not on paper yet note it as an opening of their PDF (``pdf_opened_at``; the
    caller commits), so that their paper, once the printer is back or on a Retry, is marked
    as a copy: the browser may have printed the ticket already."""
    waiting = session.scalars(
        select(PrintJob).where(
            PrintJob.kind == JobKind.TICKET,
            PrintJob.subject_id == ticket_id,
            PrintJob.state.in_(NOT_ON_PAPER_YET),
            PrintJob.pdf_opened_at.is_(None),
        )
    ).all()
    now = utcnow()
    for job in waiting:
        job.pdf_opened_at = now
