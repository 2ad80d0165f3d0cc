"""Schemas of printers and print jobs."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from clinic.printing.models import JobState, PrinterKind
from clinic.printing.pdfs import FORMATS
from clinic.printing.printers import CODE_PAGES
from clinic.printing.thermal import FAILURES
from web.api.schemas import OneLine, StrictBoolean


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


TARGETS_HELP = (
    "What it prints for: queue:<id> (that queue's tickets), tickets (every other ticket), "
    "cashier:<username> (that cashier's receipts, refunds and shift slips), receipts (every "
    "other cashier document)."
)


class PrinterIn(StrictSchema):
    name = OneLine(required=True, validate=validate.Length(min=1, max=80))
    kind = fields.String(load_default=PrinterKind.NETWORK, validate=validate.OneOf(PrinterKind.ALL))
    host = fields.String(load_default="", validate=validate.Length(max=255))
    port = fields.Integer(strict=True, load_default=9100, validate=validate.Range(min=1, max=65535))
    profile = fields.String(load_default="default", validate=validate.Length(min=1, max=64))
    code_page = fields.String(load_default="CP866", validate=validate.OneOf(CODE_PAGES))
    paper_mm = fields.Integer(strict=True, load_default=80, validate=validate.OneOf([58, 80]))
    languages = fields.String(load_default="ru+uz", validate=validate.Length(min=2, max=16))
    active = StrictBoolean(load_default=True)
    targets = fields.List(
        fields.String(validate=validate.Length(min=1, max=80)),
        load_default=[],
        validate=validate.Length(max=100),
        metadata={"description": TARGETS_HELP},
    )


class PrinterPatch(StrictSchema):
    """The fields to change; the others keep their values."""

    name = OneLine(validate=validate.Length(min=1, max=80))
    kind = fields.String(validate=validate.OneOf(PrinterKind.ALL))
    host = fields.String(validate=validate.Length(max=255))
    port = fields.Integer(strict=True, validate=validate.Range(min=1, max=65535))
    profile = fields.String(validate=validate.Length(min=1, max=64))
    code_page = fields.String(validate=validate.OneOf(CODE_PAGES))
    paper_mm = fields.Integer(strict=True, validate=validate.OneOf([58, 80]))
    languages = fields.String(validate=validate.Length(min=2, max=16))
    active = StrictBoolean()
    targets = fields.List(
        fields.String(validate=validate.Length(min=1, max=80)),
        validate=validate.Length(max=100),
        metadata={"description": TARGETS_HELP},
    )


class PrinterOut(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    host = fields.String()
    port = fields.Integer()
    profile = fields.String()
    code_page = fields.String()
    paper_mm = fields.Integer()
    languages = fields.String()
    active = fields.Boolean()
    state = fields.String(metadata={"description": "ready or failing"})
    failing_since = fields.String(allow_none=True)
    last_error = fields.String()
    failure = fields.String(
        allow_none=True,
        metadata={"description": "what the last error was: " + ", ".join(FAILURES)},
    )
    last_printed_at = fields.String(allow_none=True)
    targets = fields.List(fields.String())
    removed = fields.Boolean()


class JobOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    subject_id = fields.Integer(allow_none=True)
    title = fields.String()
    scope = fields.String()
    printer_id = fields.Integer(allow_none=True)
    printer = fields.String(allow_none=True)
    state = fields.String(metadata={"description": ", ".join(JobState.ALL)})
    copy = fields.Boolean()
    attempts = fields.Integer()
    last_error = fields.String()
    failure = fields.String(
        allow_none=True,
        metadata={"description": "what its last error was: " + ", ".join(FAILURES)},
    )
    created_at = fields.String()
    printed_at = fields.String(allow_none=True)
    retry_of_id = fields.Integer(allow_none=True)


class JobsQuery(StrictSchema):
    scope = fields.String(
        required=True,
        validate=validate.Regexp(r"^(queue\.[1-9][0-9]{0,8}|cashier|printers)$"),
        metadata={"description": "queue.<queue id>, cashier, or printers (test pages)"},
    )


class PageQuery(StrictSchema):
    page = fields.String(load_default="roll", validate=validate.OneOf(FORMATS))


class SheetQuery(StrictSchema):
    page = fields.String(load_default="A4", validate=validate.OneOf(["A4", "A5"]))
