"""Schemas of queues, tickets and boards."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from clinic.queue import limits
from clinic.queue.models import Priority, TicketSource, TicketStatus
from web.api.schemas import ClockTime, ClosingTime, Integer, OneLine, StrictBoolean


def _id(**kwargs):
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1), **kwargs)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class QueueIn(StrictSchema):
    code = OneLine(required=True, validate=validate.Length(min=1, max=limits.QUEUE_CODE_MAX))
    department_id = _id(required=True)
    doctor_id = _id(allow_none=True)
    room_id = _id(allow_none=True)
    prefix = OneLine(validate=validate.Length(min=1, max=limits.PREFIX_MAX))
    start_number = fields.Integer(
        strict=True, validate=validate.Range(min=1, max=limits.START_NUMBER_MAX)
    )
    online_from = ClockTime(allow_none=True)
    # The window may last as long as the day, to 24:00 (a queue closing at midnight).
    online_until = ClosingTime(allow_none=True)
    online_daily_limit = fields.Integer(
        strict=True, validate=validate.Range(min=0, max=limits.ONLINE_DAILY_LIMIT_MAX)
    )
    pay_before_doctor = StrictBoolean()
    closes_at = ClosingTime()
    close_action = fields.String(validate=validate.OneOf(limits.CLOSE_ACTIONS))
    default_service_minutes = fields.Integer(
        strict=True, validate=validate.Range(min=1, max=limits.SERVICE_MINUTES_MAX)
    )
    active = StrictBoolean()


class QueuePatch(QueueIn):
    code = OneLine(validate=validate.Length(min=1, max=limits.QUEUE_CODE_MAX))
    department_id = _id()


class DepartmentNames(Schema):
    code = fields.String()
    name_ru = fields.String()
    name_uz = fields.String()
    name_en = fields.String()


class QueueOut(Schema):
    id = fields.Integer()
    code = fields.String()
    department_id = fields.Integer()
    department = fields.Nested(DepartmentNames)
    doctor_id = fields.Integer(allow_none=True)
    doctor = fields.String(allow_none=True)
    room_id = fields.Integer(allow_none=True)
    room = fields.String(allow_none=True)
    prefix = fields.String()
    start_number = fields.Integer()
    online_from = fields.String(allow_none=True)
    online_until = fields.String(
        allow_none=True,
        metadata={"description": "clinic time, HH:MM; 24:00 is midnight, the day's end"},
    )
    online_daily_limit = fields.Integer()
    pay_before_doctor = fields.Boolean()
    closes_at = fields.String(
        metadata={"description": "clinic time, HH:MM; 24:00 is midnight, the day's end"}
    )
    close_action = fields.String()
    default_service_minutes = fields.Integer()
    active = fields.Boolean()
    waiting = fields.Integer()


def _idempotency_key(description: str):
    """8 to 100 characters the page makes up: the same key again is the same request (as an
    invoice's, docs/payments.md)."""
    return fields.String(
        load_default=None,
        validate=validate.Length(min=8, max=100),
        metadata={"description": description},
    )


class IssueIn(StrictSchema):
    source = fields.String(
        load_default=TicketSource.DESK,
        validate=validate.OneOf([TicketSource.DESK, TicketSource.KIOSK, TicketSource.APPOINTMENT]),
    )
    priority = fields.String(load_default="normal", validate=validate.OneOf(sorted(Priority.NAMES)))
    patient_id = _id(allow_none=True, load_default=None)
    comment = fields.String(load_default="", validate=validate.Length(max=limits.COMMENT_MAX))
    idempotency_key = _idempotency_key(
        "The same key again from the same user for the same queue and body (a press repeated"
        " after the network lost the answer) is answered with the ticket it issued, not a"
        " second one; for another queue or body, 422 naming it."
    )


class CallNextIn(StrictSchema):
    room_id = _id(allow_none=True, load_default=None)


class TransferIn(StrictSchema):
    to_queue_id = _id(required=True)
    comment = fields.String(load_default="", validate=validate.Length(max=limits.COMMENT_MAX))
    return_after = StrictBoolean(load_default=False)


class CancelIn(StrictSchema):
    reason = fields.String(load_default="", validate=validate.Length(max=limits.CANCEL_REASON_MAX))


class AttachPatientIn(StrictSchema):
    patient_id = _id(required=True)


class KioskTicketIn(StrictSchema):
    idempotency_key = _idempotency_key(
        "The same key again for the same queue (a touch repeated after the network lost the"
        " answer) is answered with the ticket it issued, not a second one; for another queue,"
        " 422 naming it."
    )


class JoinIn(StrictSchema):
    phone = fields.String(
        required=True, validate=validate.Length(min=limits.PHONE_MIN, max=limits.PHONE_MAX)
    )
    idempotency_key = _idempotency_key(
        "The same key again with the same phone (a join sent again after the network lost the"
        " answer) is answered with the ticket it made, its link included; with another phone"
        " or queue, 422 naming it."
    )


class TicketOut(Schema):
    id = fields.Integer()
    code = fields.String()
    number = fields.Integer()
    queue_id = fields.Integer()
    source = fields.String()
    priority = fields.String(validate=validate.OneOf(sorted(Priority.NAMES)))
    status = fields.String()
    room = fields.String(allow_none=True)
    room_id = fields.Integer(allow_none=True)
    patient_id = fields.Integer(allow_none=True)
    visit_id = fields.Integer(allow_none=True)
    phone = fields.String(allow_none=True)
    comment = fields.String()
    queued_at = fields.String()
    created_at = fields.String()
    called_at = fields.String(allow_none=True)
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)
    recalls = fields.Integer()
    paid_at = fields.String(allow_none=True)
    transferred_from_id = fields.Integer(allow_none=True)
    return_to_queue_id = fields.Integer(allow_none=True)
    reserved_for = fields.String(
        allow_none=True,
        metadata={
            "description": "The full name of the doctor this ticket, still to be called, waits"
            " for: its visit was checked in with him into his department's shared queue, and"
            " only he calls it (docs/queue.md). Null: anyone's. In today's list of a queue, a"
            " ticket's own page and the staff channel's snapshot and events."
        },
    )
    reserved_for_id = fields.Integer(
        allow_none=True, metadata={"description": "That doctor's id (null: anyone's)."}
    )
    patient_url = fields.String(
        metadata={
            "description": "The patient's own page (its secret is his credential): shown to"
            " those who issue tickets (queue.issue) only."
        }
    )
    returned_ticket = fields.Dict(allow_none=True)


class IssuedTicketOut(TicketOut):
    on_paper = fields.Boolean(
        metadata={
            "description": "Whether the queue's thermal printer prints the ticket (an active"
            " network printer takes its tickets, docs/printing.md): the desk and the kiosk then"
            " open no browser print of it."
        }
    )
    printer_failing = fields.Boolean(
        metadata={
            "description": "Whether that printer is failing now (unreachable, out of paper):"
            " the ticket waits for it, and the kiosk asks the patient to keep his number in"
            " mind."
        }
    )


class HistoryEntry(Schema):
    ticket_id = fields.Integer()
    at = fields.String()
    action = fields.String()
    # "from" is a Python keyword: the answer names it as the history keeps it.
    from_ = fields.String(data_key="from", attribute="from", allow_none=True)
    to = fields.String()
    actor = fields.String()
    data = fields.Dict(allow_none=True)


class TicketDetail(TicketOut):
    ahead = fields.Integer()
    estimated_minutes = fields.Integer(allow_none=True)
    history = fields.List(fields.Nested(HistoryEntry))


class HeldTicket(Schema):
    code = fields.String()
    token = fields.String()
    patient_url = fields.String()


class PublicTicket(Schema):
    """What the patient's own page shows."""

    ticket_id = fields.Integer()
    code = fields.String()
    queue_id = fields.Integer()
    room = fields.String(allow_none=True)
    status = fields.String()
    recalls = fields.Integer()
    ahead = fields.Integer()
    estimated_minutes = fields.Integer(allow_none=True)
    closed_with_day = fields.Boolean(
        metadata={"description": "The day's closing ended it: the queue closed before his turn."}
    )
    token = fields.String()
    patient_url = fields.String()
    now_held = fields.Nested(
        HeldTicket,
        allow_none=True,
        metadata={"description": "The ticket a transferred one became: follow it."},
    )


TICKETS_PAGE = 100
TICKETS_PAGE_MAX = 500


class TicketsQuery(Schema):
    status = fields.String(validate=validate.OneOf(TicketStatus.ALL))
    # A page of the day: the list is bounded whatever the day's size.
    limit = Integer(load_default=TICKETS_PAGE, validate=validate.Range(min=1, max=TICKETS_PAGE_MAX))
    offset = Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))


class BoardIn(StrictSchema):
    name = OneLine(required=True, validate=validate.Length(min=1, max=limits.BOARD_NAME_MAX))
    queue_ids = fields.List(
        _id(), required=True, validate=validate.Length(min=1, max=limits.BOARD_QUEUES_MAX)
    )
    voice_languages = fields.List(
        fields.String(validate=validate.OneOf(limits.VOICE_LANGUAGES)),
        load_default=["ru", "uz"],
        validate=validate.Length(min=1, max=3),
    )
    chime = StrictBoolean(load_default=True)
    active = StrictBoolean(load_default=True)
    language = fields.String(validate=validate.OneOf(limits.VOICE_LANGUAGES))
    titles = fields.Dict(
        keys=fields.String(validate=validate.OneOf(limits.VOICE_LANGUAGES)),
        # What the board shows in each language, in place of its name: one line as the name.
        values=OneLine(validate=validate.Length(max=limits.BOARD_NAME_MAX)),
    )


class BoardPatch(BoardIn):
    name = OneLine(validate=validate.Length(min=1, max=limits.BOARD_NAME_MAX))
    queue_ids = fields.List(_id(), validate=validate.Length(min=1, max=limits.BOARD_QUEUES_MAX))
    voice_languages = fields.List(
        fields.String(validate=validate.OneOf(limits.VOICE_LANGUAGES)),
        validate=validate.Length(min=1, max=3),
    )
    chime = StrictBoolean()
    active = StrictBoolean()


class BoardOut(Schema):
    id = fields.Integer()
    name = fields.String()
    queue_ids = fields.List(fields.Integer())
    voice_languages = fields.List(fields.String())
    chime = fields.Boolean()
    active = fields.Boolean()
    language = fields.String()
    titles = fields.Dict(keys=fields.String(), values=fields.String())


class ScreenIn(StrictSchema):
    label = OneLine(load_default="", validate=validate.Length(max=100))


class ScreenOut(Schema):
    id = fields.Integer()
    board_id = fields.Integer()
    label = fields.String()
    state = fields.String()
    created_by = fields.String()
    created_at = fields.String(allow_none=True)
    paired_at = fields.String(allow_none=True)
    last_seen_at = fields.String(allow_none=True)
    pairing_expires_at = fields.String(allow_none=True)


class PairingOut(ScreenOut):
    code = fields.String()
    pair_url = fields.String()
