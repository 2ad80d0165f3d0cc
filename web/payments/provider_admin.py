"""Staff API around the providers: the provider log, reconciliation and checkout links."""

from __future__ import annotations

from flask import Response
from marshmallow import Schema, fields, validate

from clinic import jobs
from clinic.errors import NotFound
from clinic.payments import invoices, links, reconcile
from clinic.payments.providers import log_entry_as_dict, search_log
from web import db
from web.api.blueprint import Blueprint
from web.api.schemas import Integer, JobSchema, PageQuery, ProblemSchema, page_of
from web.auth.identity import current_identity
from web.permissions import requires

blp = Blueprint(
    "payment_provider_admin",
    __name__,
    url_prefix="/api/v1/payments",
    description="Payment providers: their log, reconciliation and checkout links",
)


class LogQuery(PageQuery):
    invoice_id = Integer(validate=validate.Range(min=1, max=2**31 - 1))
    provider_ref = fields.String(validate=validate.Length(min=1, max=255))
    provider = fields.String(validate=validate.Length(min=1, max=32))


class LogEntrySchema(Schema):
    id = fields.Integer()
    at = fields.String()
    provider = fields.String()
    method = fields.String()
    invoice_id = fields.Integer(allow_none=True)
    provider_ref = fields.String(allow_none=True)
    request = fields.String(metadata={"description": "the provider's request, raw"})
    response = fields.String(metadata={"description": "our answer, raw"})
    http_status = fields.Integer()
    error_code = fields.Integer(allow_none=True)
    ip = fields.String()
    request_id = fields.String()


class LogPage(Schema):
    items = fields.List(fields.Nested(LogEntrySchema))
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()


class CheckoutLink(Schema):
    url = fields.String()
    qr_svg = fields.String(metadata={"description": "the URL as an SVG QR code"})
    qr_data_uri = fields.String(
        metadata={"description": "the same QR code as a data: address, for an <img>"}
    )


class CheckoutSchema(Schema):
    invoice_id = fields.Integer()
    amount = fields.Integer(metadata={"description": "tiyin due"})
    links = fields.Dict(keys=fields.String(), values=fields.Nested(CheckoutLink))


@blp.route("/provider-log")
@requires("audit.read")
@blp.arguments(LogQuery, location="query")
@blp.response(200, LogPage)
def provider_log(query: dict):
    """Every provider request and our answer, newest first; by invoice, by provider
    transaction id (Payme id, click_trans_id, webhook-id) or by provider."""
    rows, total = search_log(
        db.session(),
        invoice_id=query.get("invoice_id"),
        provider_ref=query.get("provider_ref"),
        provider=query.get("provider"),
        page=query["page"],
        page_size=query["page_size"],
    )
    return page_of(
        [log_entry_as_dict(r) for r in rows],
        total=total,
        page=query["page"],
        page_size=query["page_size"],
    )


@blp.route("/reconciliations", methods=["POST"])
@requires("reports.read")
@blp.response(
    202,
    JobSchema,
    headers={"Location": {"description": "/api/v1/jobs/<id>", "schema": {"type": "string"}}},
)
def start_reconciliation():
    """Start a reconciliation now (the daily one runs by itself); follow the job, then
    download its report."""
    session = db.session()
    identity = current_identity()
    job = reconcile.start(session, created_by=identity.username if identity else None)
    db.enqueue_after_commit(session, reconcile.TASK_NAME, queue=reconcile.QUEUE, job_id=job.id)
    session.commit()
    return jobs.job_as_dict(job), 202, {"Location": f"/api/v1/jobs/{job.id}"}


@blp.route("/reconciliations/<string:job_id>/report.csv")
@requires("reports.read")
@blp.response(200, description="The disagreements found, as CSV.")
@blp.alt_response(404, schema=ProblemSchema, description="No such job, or not finished yet.")
def reconciliation_report(job_id: str):
    """The CSV report of a finished reconciliation."""
    report = reconcile.report_of(db.session(), job_id)
    if report is None:
        raise NotFound(f"reconciliation {job_id} has no report (yet)")
    return Response(
        report,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="reconciliation-{job_id}.csv"'},
    )


@blp.route("/invoices/<int:invoice_id>/checkout")
@requires("payments.read")
@blp.response(200, CheckoutSchema)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema, description="Nothing is due, or no provider.")
def checkout(invoice_id: int):
    """Payme and Click checkout links, with QR codes, for what is due on the invoice."""
    invoice = invoices.get_invoice(db.session(), invoice_id)
    return links.checkout_links(invoice, db.runtime().settings)
