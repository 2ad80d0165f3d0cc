"""Imports: a price list is uploaded here and imported by a job (202 + its location); the
price list is downloaded here as a workbook that the import reads back as it is."""

from __future__ import annotations

from flask import Response
from flask_smorest.fields import Upload
from marshmallow import Schema
from werkzeug.exceptions import RequestEntityTooLarge

from clinic import jobs
from clinic.reference import price_import
from clinic.reference.price_list_export import price_list_workbook
from web import db
from web.api.blueprint import Blueprint
from web.api.bodies import takes_upload
from web.api.schemas import JobSchema, ProblemSchema
from web.auth.identity import current_identity
from web.permissions import requires

blp = Blueprint(
    "imports", __name__, url_prefix="/api/v1/services", description="Price-list import and export"
)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class PriceListUploadSchema(Schema):
    file = Upload(
        required=True,
        metadata={"description": "The price list: a .csv (UTF-8) or .xlsx file."},
    )


@blp.route("/import", methods=["POST"])
@requires("reference.import")
@takes_upload
@blp.arguments(PriceListUploadSchema, location="files")
@blp.response(
    202,
    JobSchema,
    headers={"Location": {"description": "/api/v1/jobs/<id>", "schema": {"type": "string"}}},
)
@blp.alt_response(413, schema=ProblemSchema, description="The file is larger than allowed.")
@blp.alt_response(422, schema=ProblemSchema, description="No file, an empty or unknown file.")
def import_price_list(upload: dict):
    """Start importing a price list; follow the job at Location or on its channel."""
    limit = db.runtime().settings.max_upload_bytes
    # Werkzeug enforces MAX_CONTENT_LENGTH on the request; this holds even where a server
    # hands over a body of unknown length (chunked) without enforcing it.
    data = upload["file"].stream.read(limit + 1)
    if len(data) > limit:
        raise RequestEntityTooLarge(f"The file is larger than {limit} bytes.")
    session = db.session()
    identity = current_identity()
    job = price_import.start_import(
        session,
        filename=upload["file"].filename or "",
        data=data,
        content_type=upload["file"].mimetype or "",
        created_by=identity.username if identity else None,
    )
    db.enqueue_after_commit(session, price_import.TASK_NAME, queue="default", job_id=job.id)
    session.commit()
    return jobs.job_as_dict(job), 202, {"Location": f"/api/v1/jobs/{job.id}"}


@blp.route("/export.xlsx", methods=["GET"])
@requires("reference.read")
@blp.response(200, description="The price list as an XLSX workbook the import reads back.")
def export_price_list():
    """Download the whole price list (one sheet, ``services``, the import's columns)."""
    return Response(
        price_list_workbook(db.session()),
        mimetype=XLSX,
        headers={"Content-Disposition": 'attachment; filename="price-list.xlsx"'},
    )
