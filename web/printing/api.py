"""Printers (``printing.manage``: administrators) and print jobs (``printing.use``: the
reception and the cashiers, each for the jobs of their own scope).

A failed job is printed from the browser through its PDF, or retried: its bytes go to the
printer again as a new job behind the queued ones.
"""

from __future__ import annotations

from flask import Response

from clinic.base import utcnow
from clinic.printing import documents, intake, jobs, printers, sheets
from clinic.printing.access import check_may_follow, check_may_open, may_open
from clinic.printing.models import JobKind
from clinic.printing.templates import languages_of
from web import db
from web.api.blueprint import Blueprint
from web.api.schemas import ProblemSchema
from web.auth.identity import current_identity
from web.permissions import requires
from web.printing import schemas
from web.visits.api import visit_for_reader

blp = Blueprint(
    "printing", __name__, url_prefix="/api/v1/printing", description="Printers and print jobs"
)
PDF_DOC = {
    "responses": {
        "200": {
            "description": "A PDF",
            "content": {"application/pdf": {"schema": {"type": "string"}}},
        }
    }
}


def _actor() -> str:
    return current_identity().username


def _pdf(body: bytes, name: str) -> Response:
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": f"inline; filename={name}"},
    )


# -- printers -------------------------------------------------------------------------------


@blp.route("/printers")
@requires("printing.manage")
@blp.response(200, schemas.PrinterOut(many=True))
def list_printers():
    """Every printer with its state and what it prints for."""
    session = db.session()
    return [printers.printer_as_dict(session, p) for p in printers.list_printers(session)]


@blp.route("/printers", methods=["POST"])
@requires("printing.manage")
@blp.arguments(schemas.PrinterIn)
@blp.response(201, schemas.PrinterOut)
@blp.alt_response(409, schema=ProblemSchema)
@blp.alt_response(422, schema=ProblemSchema)
def create_printer(data):
    """Add a network ESC/POS printer (host, port 9100) or a "PDF only" one."""
    session = db.session()
    printer = printers.create_printer(session, data)
    session.commit()
    return printers.printer_as_dict(session, printer)


@blp.route("/printers/<int:printer_id>", methods=["PATCH"])
@requires("printing.manage")
@blp.arguments(schemas.PrinterPatch)
@blp.response(200, schemas.PrinterOut)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema)
@blp.alt_response(422, schema=ProblemSchema)
def update_printer(data, printer_id: int):
    """Change a printer's settings or targets (a target moves from the printer it had)."""
    session = db.session()
    printer = printers.update_printer(session, printer_id, data)
    session.commit()
    return printers.printer_as_dict(session, printer)


@blp.route("/printers/<int:printer_id>", methods=["DELETE"])
@requires("printing.manage")
@blp.response(204)
@blp.alt_response(404, schema=ProblemSchema)
def remove_printer(printer_id: int):
    """Remove a printer; its jobs stay, printable as PDFs."""
    session = db.session()
    printers.remove_printer(session, printer_id)
    session.commit()
    return "", 204


@blp.route("/printers/<int:printer_id>/test", methods=["POST"])
@requires("printing.manage")
@blp.response(202, schemas.JobOut)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema)
def test_print(printer_id: int):
    """Print a test page (Cyrillic and Uzbek text) on the printer; 409 ``printer_pdf_only``
    for a "PDF only" printer and ``printer_switched_off`` for one switched off, which print
    nothing on paper."""
    session = db.session()
    printer = printers.printer_to_test(session, printer_id)
    now = utcnow().astimezone(db.runtime().settings.tz).strftime("%d.%m.%Y %H:%M")
    document = documents.test_page(printer.name, now, languages_of(printer.languages))
    job = jobs.create_job(
        session,
        kind=JobKind.TEST,
        scope=jobs.TEST_SCOPE,
        document=document,
        printer=printer,
        requested_by=_actor(),
    )
    session.commit()
    return jobs.job_as_dict(session, job)


# -- jobs -----------------------------------------------------------------------------------


def _job(job_id: int):
    session = db.session()
    job = jobs.get_job(session, job_id)
    identity = current_identity()
    check_may_open(identity.staff, identity.username, job)
    return session, job


@blp.route("/jobs")
@requires("printing.use")
@blp.arguments(schemas.JobsQuery, location="query")
@blp.response(200, schemas.JobOut(many=True))
@blp.alt_response(403, schema=ProblemSchema)
def list_jobs(query):
    """A scope's newest print jobs (queue.<id>: a queue's tickets; cashier)."""
    session = db.session()
    identity = current_identity()
    check_may_follow(identity.staff, query["scope"])
    return [
        jobs.job_as_dict(session, j)
        for j in jobs.recent_jobs(session, query["scope"])
        if may_open(identity.staff, identity.username, j)
    ]


@blp.route("/jobs/<int:job_id>")
@requires("printing.use")
@blp.response(200, schemas.JobOut)
@blp.alt_response(403, schema=ProblemSchema)
@blp.alt_response(404, schema=ProblemSchema)
def get_job(job_id: int):
    """A print job and its state."""
    session, job = _job(job_id)
    return jobs.job_as_dict(session, job)


@blp.route("/jobs/<int:job_id>/retry", methods=["POST"])
@requires("printing.use")
@blp.response(202, schemas.JobOut)
@blp.alt_response(403, schema=ProblemSchema)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema)
def retry_job(job_id: int):
    """Send a failed job to its printer again, a ticket to the printer its queue has now
    (409 ``not_failed`` for any other)."""
    session, job = _job(job_id)
    again = jobs.retry_job(
        session, job.id, actor=_actor(), printer=intake.reprint_printer(session, job)
    )
    session.commit()
    return jobs.job_as_dict(session, again)


@blp.route("/jobs/<int:job_id>/reprint", methods=["POST"])
@requires("printing.use")
@blp.response(202, schemas.JobOut)
@blp.alt_response(403, schema=ProblemSchema)
@blp.alt_response(404, schema=ProblemSchema)
def reprint_job(job_id: int):
    """Print the job again, marked "КОПИЯ / COPY"; a receipt printed before its fiscal
    data came carries it now."""
    session, job = _job(job_id)
    again = intake.reprint(session, job, actor=_actor())
    session.commit()
    return jobs.job_as_dict(session, again)


@blp.route("/jobs/<int:job_id>/pdf")
@requires("printing.use")
@blp.arguments(schemas.PageQuery, location="query")
@blp.doc(**PDF_DOC)
@blp.alt_response(403, schema=ProblemSchema)
@blp.alt_response(404, schema=ProblemSchema)
def job_pdf(query, job_id: int):
    """The job as a PDF to print from the browser: page=roll (the printer's paper width),
    A4 or A5."""
    session, job = _job(job_id)
    body = jobs.job_pdf(session, job, query["page"])
    session.commit()  # its first opening noted: a later paper of it is marked as a copy
    return _pdf(body, f"print-job-{job.id}.pdf")


@blp.route("/invoices/<int:invoice_id>/pdf")
@requires("payments.read")
@blp.arguments(schemas.SheetQuery, location="query")
@blp.doc(**PDF_DOC)
@blp.alt_response(404, schema=ProblemSchema)
def invoice_pdf(query, invoice_id: int):
    """The invoice on A4 or A5 paper."""
    body = sheets.invoice_pdf(db.session(), db.runtime().settings, invoice_id, query["page"])
    return _pdf(body, f"invoice-{invoice_id}.pdf")


@blp.route("/visits/<int:visit_id>/slip")
@requires("visits.read")
@blp.arguments(schemas.SheetQuery, location="query")
@blp.doc(**PDF_DOC)
@blp.alt_response(404, schema=ProblemSchema)
def visit_slip_pdf(query, visit_id: int):
    """The visit slip on A4 or A5 paper. A doctor's account prints his own visits' slips
    only (403), as it reads only them."""
    session = db.session()
    visit_for_reader(session, visit_id)
    body = sheets.visit_slip_pdf(session, db.runtime().settings, visit_id, query["page"])
    return _pdf(body, f"visit-{visit_id}.pdf")
