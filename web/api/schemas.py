"""Schemas shared by every part of the API."""

from __future__ import annotations

import re

from marshmallow import Schema, fields, validate

from clinic.base import END_OF_DAY
from clinic.text import NOT_ONE_LINE, ONE_LINE

# A whole number as text: ASCII digits, maybe a sign, spaces around.
WHOLE = re.compile(r"\s*[+-]?[0-9]+\s*")


class Integer(fields.Integer):
    """An integer whose text form has ASCII digits only. ``int()`` also reads full-width and
    other Unicode digits ("１２３") and digits grouped by underscores ("1_0" is 10), which no
    clinic form or query means as a number."""

    def _validated(self, value):
        if isinstance(value, str) and not WHOLE.fullmatch(value):
            raise self.make_error("invalid")
        return super()._validated(value)


class OneLine(fields.String):
    """Text of one line: a name, a code, a title. A line break, a tab or an invisible
    character (``clinic.text.NOT_ONE_LINE``: a zero-width space, a mark turning the text
    around) is refused, not stored to break a printed line or hide what the name says."""

    default_error_messages = {"one_line": ONE_LINE}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if NOT_ONE_LINE.search(text):
            raise self.make_error("one_line")
        return text


CLOCK_TIME = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]")


class ClockTime(fields.Time):
    """A clinic's wall-clock time written ``HH:MM`` (00:00-23:59): no seconds, which would be
    dropped, and no offset or date part."""

    default_error_messages = {"invalid": "a clinic time such as 08:30 (HH:MM)"}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not CLOCK_TIME.fullmatch(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class ClosingTime(ClockTime):
    """A clinic time a day's work ends at: ``HH:MM``, or ``24:00`` for midnight, the end of the
    clinic day (``00:00`` would be its start)."""

    default_error_messages = {
        "invalid": "a clinic time such as 20:00 (HH:MM), or 24:00 for midnight"
    }

    def _deserialize(self, value, attr, data, **kwargs):
        if value == "24:00":
            return END_OF_DAY
        return super()._deserialize(value, attr, data, **kwargs)


ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class Day(fields.Date):
    """A calendar day written ``YYYY-MM-DD``, the one form every page and report uses (not
    ISO's other forms, ``20261203`` or ``2026-W49-4``)."""

    default_error_messages = {"invalid": "a date as YYYY-MM-DD"}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not ISO_DAY.fullmatch(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


# RFC 3339's instant: a calendar date, "T", a time to the microsecond at most, and "Z" or an
# offset that a clock keeps (at most 14 hours, in whole minutes).
RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
    r"(?:Z|[+-](?:0[0-9]|1[0-4]):[0-5][0-9])"
)


class Instant(fields.AwareDateTime):
    """An instant written as the API writes them, ``2026-03-01T09:00:00+05:00`` or with
    ``Z``: not ISO's other forms that the parser also reads (``20260301T090000+0500``,
    ``2026-W09-7T09:00+05:00``), an offset no clock keeps (``+23:59``, ``+05:00:30``), or
    digits past the microsecond, which would be dropped."""

    default_error_messages = {
        "invalid": "an instant such as 2026-03-01T09:00:00+05:00 (or with Z for UTC)"
    }

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not RFC3339.fullmatch(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class PageQuery(Schema):
    page = Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    page_size = Integer(load_default=50, validate=validate.Range(min=1, max=200))


class ProblemSchema(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    # A reason a client may branch on (``no_open_shift``, ``not_your_queue``...).
    code = fields.String()
    reasons = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={
            "description": "Beside errors, where the refusal gives them: each field's reasons "
            'as stable codes, in the order of its messages ({"end": ["period_reversed"]}). '
            "A client says them in its own words; the messages may be reworded, the codes stay."
        },
    )
    values = fields.Dict(
        keys=fields.String(),
        metadata={
            "description": "Beside code, where the refusal gives them: what its words quote, "
            'by name ({"holder_code": "K-001", "holder_queue_id": 3} of a room_busy), for a '
            "client that says the refusal in its own words."
        },
    )


class JobSchema(Schema):
    id = fields.String()
    kind = fields.String()
    status = fields.String()
    progress = fields.Integer()
    done = fields.Integer()
    total = fields.Integer(allow_none=True)
    result = fields.Dict(allow_none=True)
    error = fields.Dict(allow_none=True)
    attempts = fields.Integer()
    created_by = fields.String(allow_none=True)
    created_at = fields.String()
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)
    channel = fields.String()


def page_of(items, *, total: int, page: int, page_size: int) -> dict:
    return {"items": items, "page": page, "page_size": page_size, "total": total}


class StrictBoolean(fields.Boolean):
    """Only JSON true or false: 1, "yes" and "true" are refused, not guessed at."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value
