"""The audit log: filtered pages and a CSV export (audit.read)."""

from __future__ import annotations

from datetime import date, datetime, time

from flask import Response
from marshmallow import Schema, fields

from clinic.accounts import audit
from clinic.errors import ValidationFailed, refusal
from web import db
from web.accounts.schemas import AuditEntrySchema, AuditQuery
from web.api.blueprint import Blueprint
from web.api.schemas import page_of
from web.auth.identity import current_identity
from web.permissions import requires

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="Audit log")


class AuditPage(Schema):
    items = fields.List(fields.Nested(AuditEntrySchema), required=True)
    page = fields.Integer(required=True)
    page_size = fields.Integer(required=True)
    total = fields.Integer(required=True)


def _bound(value, *, end: bool = False) -> datetime | None:
    """A typed day as its start (or end) in the clinic's time; a moment as it is."""
    if isinstance(value, date) and not isinstance(value, datetime):
        tz = db.runtime().settings.tz
        return datetime.combine(value, time.max if end else time.min, tzinfo=tz)
    return value


def _filter(query) -> audit.AuditFilter:
    since, until = _bound(query.get("since")), _bound(query.get("until"), end=True)
    if since is not None and until is not None and until < since:
        # As a report refuses its period: an empty answer would read as "nothing happened".
        raise refusal(
            ValidationFailed,
            "the period ends before it starts",
            {"until": [("period_reversed", "The period ends before it starts.")]},
        )
    return audit.AuditFilter(
        username=query.get("username"),
        action=query.get("action"),
        object_type=query.get("object_type"),
        object_id=query.get("object_id"),
        since=since,
        until=until,
    )


@blp.route("")
@requires("audit.read")
@blp.arguments(AuditQuery, location="query")
@blp.response(200, AuditPage)
def list_entries(query):
    """Newest first. Filters: username, action (prefix), object type and id, since/until."""
    rows, total = audit.search(
        db.session(), _filter(query), page=query["page"], page_size=query["page_size"]
    )
    personal = audit.reads_personal_data(current_identity())
    items = [audit.entry_as_dict(r, personal=personal) for r in rows]
    return page_of(items, total=total, page=query["page"], page_size=query["page_size"])


@blp.route("/export.csv")
@requires("audit.read")
@blp.arguments(AuditQuery, location="query")
@blp.doc(
    responses={
        "200": {
            "description": "The entries as CSV",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
)
def export_entries(query):
    """The same filters, as CSV (oldest first)."""
    personal = audit.reads_personal_data(current_identity())
    body = audit.export_csv(db.session(), _filter(query), personal=personal)
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=audit-log.csv"},
    )
