"""Schemas of schedules, slots, visits and moves."""

from __future__ import annotations

from datetime import datetime, time, timezone

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

from clinic.base import FIRST_DAY, LAST_DAY
from clinic.queue.models import TicketStatus
from clinic.text import NOT_ONE_LINE
from clinic.visits.events import CancelledBy, ExceptionKind, VisitKind
from web.api.schemas import Day, Instant, Integer


def _id(**kwargs):
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1), **kwargs)


def _query_id(**kwargs):
    """An id in a query string (text by nature)."""
    return Integer(validate=validate.Range(min=1, max=2**31 - 1), **kwargs)


def _day(**kwargs):
    return Day(validate=validate.Range(min=FIRST_DAY, max=LAST_DAY), **kwargs)


def _instant(**kwargs):
    """An instant with its offset, on a day of the calendar's reach."""
    reach = validate.Range(
        min=datetime.combine(FIRST_DAY, time(0), timezone.utc),
        max=datetime.combine(LAST_DAY, time.max, timezone.utc),
    )
    return Instant(validate=reach, **kwargs)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class DateHoursRow(StrictSchema):
    """A row of one date's hours: a week's row without the weekday (the date names it)."""

    starts = fields.String(required=True)
    ends = fields.String(required=True)
    breaks = fields.List(fields.List(fields.String()), load_default=list)
    slot_minutes = fields.Integer(strict=True, load_default=20)
    capacity = fields.Integer(strict=True, load_default=1)
    room_id = _id(allow_none=True, load_default=None)


class HoursRow(DateHoursRow):
    """A row of a doctor's week: a date's row on a weekday (0 Monday to 6 Sunday)."""

    weekday = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=6))


class WeekIn(StrictSchema):
    days = fields.List(fields.Nested(HoursRow), required=True, validate=validate.Length(max=50))


class DoctorServicesIn(StrictSchema):
    service_ids = fields.List(
        _id(),
        required=True,
        validate=validate.Length(max=500),
        metadata={"description": "The services he offers; empty: his department's again."},
    )


class DoctorServicesOut(Schema):
    doctor_id = fields.Integer(required=True)
    listed = fields.Boolean(
        required=True, metadata={"description": "false: no list, he offers his department's"}
    )
    service_ids = fields.List(fields.Integer(), required=True)


class DateHoursIn(StrictSchema):
    day = _day(required=True)
    hours = fields.List(
        fields.Nested(DateHoursRow), required=True, validate=validate.Length(max=50)
    )


class WeekOut(Schema):
    doctor_id = fields.Integer()
    days = fields.List(fields.Dict())
    dates = fields.List(
        fields.Dict(), metadata={"description": "Hours of single dates, today's and later."}
    )
    exceptions = fields.List(fields.Dict())
    visits_to_move = fields.List(
        fields.Integer(),
        metadata={"description": "Visits still to come the hours just saved leave out."},
    )


class ExceptionIn(StrictSchema):
    doctor_id = _id(allow_none=True, load_default=None)
    kind = fields.String(required=True, validate=validate.OneOf(ExceptionKind.ALL))
    first_day = _day(required=True)
    last_day = _day(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=300))


class ExceptionOut(Schema):
    id = fields.Integer()
    doctor_id = fields.Integer(allow_none=True)
    kind = fields.String()
    first_day = fields.String()
    last_day = fields.String()
    note = fields.String()
    created_by = fields.String()
    created_at = fields.String()
    visits_to_move = fields.List(
        fields.Integer(),
        metadata={"description": "Visits still booked on those days (when just declared)."},
    )


class SlotsQuery(StrictSchema):
    doctor_id = _query_id()
    department_id = _query_id()
    service_id = _query_id()
    # The visit being moved: its own time counts as free, and its own start is no move.
    visit_id = _query_id()
    date_from = _day(required=True, data_key="from")
    date_to = _day(required=True, data_key="to")
    limit = Integer(load_default=500, validate=validate.Range(min=1, max=5000))
    # The next page: a department's two months hold more free slots than one answer.
    offset = Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))


class SlotOut(Schema):
    doctor_id = fields.Integer()
    department_id = fields.Integer()
    room_id = fields.Integer(allow_none=True)
    starts_at = fields.String()
    ends_at = fields.String()
    local_time = fields.String()
    capacity = fields.Integer()
    free = fields.Integer()


class VisitDayQuery(StrictSchema):
    day = _day()
    doctor_id = _query_id()
    department_id = _query_id()
    patient_id = _query_id()
    include_cancelled = fields.Boolean(load_default=False)
    # A page of the list: bounded whatever the day's (or the patient's) size.
    limit = Integer(load_default=500, validate=validate.Range(min=1, max=5000))
    offset = Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))

    @validates_schema
    def _a_day_or_a_patient(self, data, **kwargs):
        if data.get("day") is None and data.get("patient_id") is None:
            raise ValidationError("Give a day, a patient_id or both.", "day")


def _no_invisible_character(address: str) -> None:
    # An address pasted from a phone's contact card or a messenger can carry a mark nobody
    # sees (a left-to-right mark, a zero-width space): Email takes it for part of a
    # non-ASCII domain, and no mail server would deliver to it.
    if NOT_ONE_LINE.search(address):
        raise ValidationError("Not a valid email address: it holds an invisible character.")


def _address(**kwargs):
    """An e-mail address for the visit's notices: at most 254 characters (RFC 5321's
    longest, and what the column holds), without invisible characters, as a patient's own
    address."""
    return fields.Email(validate=[validate.Length(max=254), _no_invisible_character], **kwargs)


def _empty_address_is_none(data):
    """An e-mail field left empty on a form: no e-mails, as null says."""
    if isinstance(data, dict) and data.get("notify_email") == "":
        return {**data, "notify_email": None}
    return data


class BookIn(StrictSchema):
    patient_id = _id(required=True)
    doctor_id = _id(required=True)
    starts_at = _instant(required=True)
    service_ids = fields.List(_id(), load_default=list, validate=validate.Length(max=20))
    kind = fields.String(load_default=VisitKind.SCHEDULED, validate=validate.OneOf(VisitKind.ALL))
    comment = fields.String(load_default="", validate=validate.Length(max=2000))
    notify_email = _address(load_default=None, allow_none=True)

    @pre_load
    def _no_address(self, data, **kwargs):
        return _empty_address_is_none(data)


class VisitOut(Schema):
    id = fields.Integer()
    doctor_id = fields.Integer()
    department_id = fields.Integer()
    room_id = fields.Integer(allow_none=True)
    room = fields.String(allow_none=True)
    patient_id = fields.Integer()
    patient_name = fields.String()
    patient_phone = fields.String(allow_none=True)
    doctor_name = fields.String()
    starts_at = fields.String()
    ends_at = fields.String()
    seat = fields.Integer()
    kind = fields.String()
    status = fields.String()
    services = fields.List(fields.Dict())
    moves = fields.Integer()
    comment = fields.String()
    notify_email = fields.String(allow_none=True)
    cancelled_by = fields.String(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    late_cancellation = fields.Boolean()
    ticket_id = fields.Integer(allow_none=True)
    ticket_status = fields.String(
        allow_none=True,
        validate=validate.OneOf(TicketStatus.ALL),
        metadata={
            "description": "The status of the ticket the patient holds now for the visit: its"
            " ticket, or the one a transfer took him on to (sent to the laboratory to come"
            " back, the laboratory's); null without a ticket. An arrived visit whose ticket is"
            " cancelled is checked in again (POST /api/v1/visits/<id>/check-in)."
        },
    )
    created_by = fields.String()
    created_at = fields.String()
    history = fields.List(fields.Dict())
    ticket = fields.Dict(allow_none=True)


class VisitDetailsIn(StrictSchema):
    """Either or both; ``notify_email`` null (or empty) for no e-mails."""

    comment = fields.String(validate=validate.Length(max=2000))
    notify_email = _address(allow_none=True)

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("Give comment, notify_email or both.", "_schema")

    @pre_load
    def _no_address(self, data, **kwargs):
        return _empty_address_is_none(data)


# The longest reason a cancellation or a move takes (what the history keeps); the calendar's
# reason fields say it at the field before sending.
REASON_MAX = 500


class VisitCancelIn(StrictSchema):
    by = fields.String(required=True, validate=validate.OneOf(CancelledBy.ALL))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=REASON_MAX))


class RescheduleIn(StrictSchema):
    starts_at = _instant(required=True)
    doctor_id = _id(allow_none=True, load_default=None)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=REASON_MAX))


class VisitEmptyIn(StrictSchema):
    pass


class AwayIn(StrictSchema):
    kind = fields.String(
        required=True, validate=validate.OneOf([k for k in ExceptionKind.ALL if k != "holiday"])
    )
    first_day = _day(required=True)
    last_day = _day(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=300))
    search_days = fields.Integer(strict=True, load_default=14)
    # The colleague covering for him: his visits go to that colleague's free slots only.
    to_doctor_id = _id(allow_none=True, load_default=None)
