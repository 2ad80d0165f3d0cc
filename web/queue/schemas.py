"""Schemas of queues, tickets and boards."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from clinic.queue.models import Priority, TicketSource
from web.api.schemas import StrictBoolean


def _id(**kwargs):
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1), **kwargs)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class QueueIn(StrictSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    department_id = _id(required=True)
    doctor_id = _id(allow_none=True)
    room_id = _id(allow_none=True)
    prefix = fields.String(validate=validate.Length(min=1, max=3))
    start_number = fields.Integer(strict=True, validate=validate.Range(min=1, max=9000))
    online_from = fields.Time(allow_none=True)
    online_until = fields.Time(allow_none=True)
    online_daily_limit = fields.Integer(strict=True, validate=validate.Range(min=0, max=10_000))
    pay_before_doctor = StrictBoolean()
    closes_at = fields.Time()
    close_action = fields.String(validate=validate.OneOf(["no_show", "cancel"]))
    default_service_minutes = fields.Integer(strict=True, validate=validate.Range(min=1, max=480))
    active = StrictBoolean()


class QueuePatch(QueueIn):
    code = fields.String(validate=validate.Length(min=1, max=32))
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
    online_until = fields.String(allow_none=True)
    online_daily_limit = fields.Integer()
    pay_before_doctor = fields.Boolean()
    closes_at = fields.String()
    close_action = fields.String()
    default_service_minutes = fields.Integer()
    active = fields.Boolean()
    waiting = fields.Integer()


class IssueIn(StrictSchema):
    source = fields.String(
        load_default=TicketSource.DESK,
        validate=validate.OneOf([TicketSource.DESK, TicketSource.KIOSK, TicketSource.APPOINTMENT]),
    )
    priority = fields.String(load_default="normal", validate=validate.OneOf(sorted(Priority.NAMES)))
    patient_id = _id(allow_none=True, load_default=None)
    comment = fields.String(load_default="", validate=validate.Length(max=1000))


class CallNextIn(StrictSchema):
    room_id = _id(allow_none=True, load_default=None)


class TransferIn(StrictSchema):
    to_queue_id = _id(required=True)
    comment = fields.String(load_default="", validate=validate.Length(max=1000))
    return_after = StrictBoolean(load_default=False)


class CancelIn(StrictSchema):
    reason = fields.String(load_default="", validate=validate.Length(max=500))


class JoinIn(StrictSchema):
    phone = fields.String(required=True, validate=validate.Length(min=5, max=25))


class TicketOut(Schema):
    id = fields.Integer()
    code = fields.String()
    number = fields.Integer()
    queue_id = fields.Integer()
    source = fields.String()
    priority = fields.Integer()
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
    patient_url = fields.String()
    returned_ticket = fields.Dict(allow_none=True)


class HistoryEntry(Schema):
    ticket_id = fields.Integer()
    at = fields.String()
    action = fields.String()
    to = fields.String()
    actor = fields.String()
    data = fields.Dict(allow_none=True)


class TicketDetail(TicketOut):
    ahead = fields.Integer()
    estimated_minutes = fields.Integer(allow_none=True)
    history = fields.List(fields.Nested(HistoryEntry))


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
    token = fields.String()
    patient_url = fields.String()


class TicketsQuery(Schema):
    status = fields.String(
        validate=validate.OneOf(
            [
                "waiting",
                "called",
                "in_service",
                "served",
                "no_show",
                "cancelled",
                "transferred",
                "postponed",
            ]
        )
    )


class BoardIn(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    queue_ids = fields.List(_id(), required=True, validate=validate.Length(min=1, max=40))
    voice_languages = fields.List(
        fields.String(validate=validate.OneOf(["ru", "uz", "en"])),
        load_default=["ru", "uz"],
        validate=validate.Length(min=1, max=3),
    )
    chime = StrictBoolean(load_default=True)
    active = StrictBoolean(load_default=True)


class BoardPatch(BoardIn):
    name = fields.String(validate=validate.Length(min=1, max=100))
    queue_ids = fields.List(_id(), validate=validate.Length(min=1, max=40))
    voice_languages = fields.List(
        fields.String(validate=validate.OneOf(["ru", "uz", "en"])),
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
