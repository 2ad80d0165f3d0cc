"""Printing a printer's jobs: one at a time, oldest first, with retries while it is away.

A worker holds a printer by a lease on its row (``lease_owner``, ``lease_until``), taken and
renewed by guarded updates, so two workers never send to one printer at once and its jobs
come out in the order of their ids (the order requests were issued). The lease is renewed
before each job and lapses ``print_lease_seconds`` after a worker dies; another worker then
takes the printer over.

A job is marked ``sending`` (committed) before its bytes go out and ``printed`` after. A
worker killed between the two leaves the job ``sending``: whether the printer got the bytes
is unknown, so the worker that takes over sends it again with "КОПИЯ / COPY" on top: a job is
never lost, and a second paper of it is always marked as a copy. The same holds for a printer
that took the connection and then hung or closed it mid-job; a printer that refused the
connection printed nothing, and its job is sent again as it was.

A printer that does not answer keeps its head job queued and is tried again with growing
pauses (1, 2, 4 ... 30 s) until it has failed for ``print_retry_seconds``; then that job
fails (visible at its desk with its PDF) and every later job gets one attempt and fails
likewise, until the printer answers again and prints the next jobs in order.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Callable

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from clinic.base import utcnow
from clinic.printing import jobs as print_jobs
from clinic.printing import printers, routes, thermal
from clinic.printing.models import JobState, Printer, PrinterKind, PrintJob
from clinic.settings import Settings

MAX_PAUSE = 30


def new_owner() -> str:
    return uuid.uuid4().hex


def _lease(session: Session, printer_id: int, owner: str, seconds: int) -> bool:
    """Take or renew the printer's lease for ``owner``; False if another worker holds it."""
    now = utcnow()
    taken = session.execute(
        update(Printer)
        .where(
            Printer.id == printer_id,
            Printer.active.is_(True),
            Printer.kind == PrinterKind.NETWORK,
            or_(
                Printer.lease_owner.is_(None),
                Printer.lease_owner == owner,
                Printer.lease_until < now,
            ),
        )
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=seconds))
        .execution_options(synchronize_session=False)
    )
    return taken.rowcount == 1


def _release(session: Session, printer_id: int, owner: str) -> None:
    session.execute(
        update(Printer)
        .where(Printer.id == printer_id, Printer.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )


def head_job(session: Session, printer_id: int) -> PrintJob | None:
    """The printer's oldest job still to print."""
    return session.scalar(
        select(PrintJob)
        .where(PrintJob.printer_id == printer_id, PrintJob.state.in_(JobState.PENDING))
        .order_by(PrintJob.id)
        .limit(1)
    )


def pause_after(attempts: int) -> int:
    return min(2 ** max(attempts - 1, 0), MAX_PAUSE)


def drain(
    sessionmaker,
    printer_id: int,
    settings: Settings,
    *,
    owner: str | None = None,
    send: Callable = thermal.send,
) -> dict:
    """Print the printer's due jobs in order while it answers. Answers ``{"printed": n,
    "retry_in": seconds or None}``: ``retry_in`` when the head job waits for another
    attempt (the caller comes back then)."""
    owner = owner or new_owner()
    printed = 0
    while True:
        with sessionmaker() as session, session.begin():
            if not _lease(session, printer_id, owner, settings.print_lease_seconds):
                return {"printed": printed, "retry_in": None}  # another worker prints
            job = head_job(session, printer_id)
            now = utcnow()
            idle = job is None or (job.next_attempt_at is not None and job.next_attempt_at > now)
            if idle:
                _release(session, printer_id, owner)
            else:
                printer = session.get(Printer, printer_id)
                if not job.copy and (job.state == JobState.SENDING or job.pdf_opened_at):
                    # Its worker died mid-send (the printer may have printed it already), or
                    # its PDF was opened while it waited (printed from the browser, maybe).
                    job.payload = print_jobs.with_copy(job.payload, printer)
                    job.copy = True
                job.state = JobState.SENDING
                job.attempts += 1
                payload, host, port, job_id = job.payload, printer.host, printer.port, job.id
                # A printer that said its paper had run out is asked again before a job.
                paper_first = printer.last_error == thermal.OUT_OF_PAPER
        if idle:
            if job is not None:
                # Its pause is not over: the worker that tried it comes back then.
                return {"printed": printed, "retry_in": None}
            with sessionmaker() as session:
                if head_job(session, printer_id) is None:
                    return {"printed": printed, "retry_in": None}
            # A job queued while the lease was held: its own worker found the lease taken
            # and left it to this one.
            continue  # pragma: no cover - a race between two commits, not reproducible here
        try:
            send(host, port, payload, timeout=settings.print_timeout, paper_first=paper_first)
            error = None
            interrupted = False
        except OSError as exc:
            error = thermal.describe(exc)
            interrupted = isinstance(exc, thermal.JobInterrupted)
        with sessionmaker() as session, session.begin():
            job = session.get(PrintJob, job_id)
            printer = session.get(Printer, printer_id)
            now = utcnow()
            if printer is None or job.state == JobState.PDF_ONLY:
                # Removed, switched off or made "PDF only" while the job went out: its jobs
                # are the desk's PDFs now, but one that reached the paper is printed (its PDF
                # printed again would be a second paper, unmarked).
                if error is None and job.state == JobState.PDF_ONLY:
                    job.state, job.printed_at = JobState.PRINTED, now
                    print_jobs.announce(session, job)
                    printed += 1
                return {"printed": printed, "retry_in": None}
            if error is None:
                job.state, job.printed_at, job.next_attempt_at = JobState.PRINTED, now, None
                printers.mark_ready(session, printer, now)
                print_jobs.announce(session, job)
                printed += 1
                continue
            printers.mark_failing(session, printer, error, now)
            job.last_error = error[:500]
            if interrupted and not job.copy:
                # The printer may have printed some or all of it: the next paper is a copy.
                job.payload = print_jobs.with_copy(job.payload, printer)
                job.copy = True
            job.first_failed_at = job.first_failed_at or now
            give_up_at = printer.failing_since + timedelta(seconds=settings.print_retry_seconds)
            if now >= give_up_at:
                job.state, job.next_attempt_at = JobState.FAILED, None
                print_jobs.announce(session, job)
                continue
            job.state = JobState.QUEUED
            pause = min(pause_after(job.attempts), (give_up_at - now).total_seconds())
            job.next_attempt_at = now + timedelta(seconds=pause)
            if not _follow_target(session, job, printer):
                print_jobs.announce(session, job)
            _release(session, printer_id, owner)
            return {"printed": printed, "retry_in": pause}


def _follow_target(session: Session, job: PrintJob, printer: Printer) -> bool:
    """A job that did not print while what it prints for was given to another printer (the
    move left it to the attempt under way) goes to that printer now, as the jobs waiting
    behind it went, rather than waiting on one that no longer prints for its desk."""
    targets = routes.job_targets(session, job)
    goes_to = routes.printer_for(session, targets) if targets else None
    if goes_to is None or goes_to.id == printer.id:
        return False
    routes.take_waiting_jobs(session, goes_to, set(targets))
    return True


def printers_to_drain(session: Session) -> list[int]:
    """Network printers with a job due and nobody holding them: for the sweeper (a worker
    was killed, a message was lost, a pause is over)."""
    now = utcnow()
    due = (
        select(PrintJob.printer_id)
        .where(
            PrintJob.state.in_(JobState.PENDING),
            or_(PrintJob.next_attempt_at.is_(None), PrintJob.next_attempt_at <= now),
        )
        .distinct()
    )
    return list(
        session.scalars(
            select(Printer.id)
            .where(
                Printer.id.in_(due),
                Printer.active.is_(True),
                Printer.kind == PrinterKind.NETWORK,
                or_(Printer.lease_until.is_(None), Printer.lease_until < now),
            )
            .order_by(Printer.id)
        )
    )


def leave_stranded_jobs_to_desks(session: Session) -> int:
    """Jobs still waiting for a printer that takes no more (removed, switched off, made "PDF
    only") become their desks' PDFs, as the registry leaves them when it changes the
    printer: for the sweeper, should one ever be left waiting, since no worker prints it and
    a job that has not failed offers no Retry. Answers how many. A job another transaction
    holds is left to the next sweep."""
    on_paper = select(Printer.id).where(
        Printer.active.is_(True), Printer.kind == PrinterKind.NETWORK
    )
    stranded = session.scalars(
        select(PrintJob)
        .where(
            PrintJob.state.in_(JobState.PENDING),
            or_(PrintJob.printer_id.is_(None), PrintJob.printer_id.not_in(on_paper)),
        )
        .order_by(PrintJob.id)
        .with_for_update(skip_locked=True)
    ).all()
    for job in stranded:
        job.state = JobState.PDF_ONLY
        print_jobs.announce(session, job)
    return len(stranded)
