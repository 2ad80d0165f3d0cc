"""Printing tasks, on the ``printing`` queue: a clinic whose server is off-site runs one
``clinic worker -Q printing`` inside its own network, next to the printers
(docs/printing.md)."""

from __future__ import annotations

from celery import shared_task

from clinic.printing import intake, spooler
from clinic.printing.jobs import DRAIN_TASK, PRINTING_QUEUE
from clinic.printing.trigger import COLLECT_TASK
from tasks.base import ClinicTask


@shared_task(name=COLLECT_TASK, base=ClinicTask, bind=True)
def collect(self) -> int:
    """Turn the print requests not collected yet into jobs (each printer's worker is sent
    for after commit)."""
    runtime = self.runtime
    with runtime.db.transaction() as session:
        return intake.collect(session, runtime.settings)


@shared_task(name=DRAIN_TASK, base=ClinicTask, bind=True)
def drain(self, printer_id: int) -> dict:
    """Print the printer's jobs in order; when it does not answer, come back after a pause."""
    runtime = self.runtime
    result = spooler.drain(runtime.db.sessionmaker, printer_id, runtime.settings)
    if result["retry_in"] is not None:
        self.app.send_task(
            DRAIN_TASK,
            kwargs={"printer_id": printer_id},
            queue=PRINTING_QUEUE,
            countdown=result["retry_in"],
        )
    return result


@shared_task(name="printing.sweep", base=ClinicTask, bind=True, max_retries=0)
def sweep(self) -> list[int]:
    """Beat's safety net: collect what was not collected, leave to their desks as PDFs the
    jobs left waiting for a printer that takes no more, and send for the printers whose
    jobs wait with nobody printing them (a lost message, a killed worker)."""
    runtime = self.runtime
    with runtime.db.transaction() as session:
        intake.collect(session, runtime.settings)
    with runtime.db.transaction() as session:
        spooler.leave_stranded_jobs_to_desks(session)
    with runtime.db.session() as session:
        waiting = spooler.printers_to_drain(session)
    for printer_id in waiting:
        self.app.send_task(DRAIN_TASK, kwargs={"printer_id": printer_id}, queue=PRINTING_QUEUE)
    return waiting
