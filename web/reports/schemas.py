"""Schemas of report requests and subscriptions. The rules themselves (groupings, period,
scoping) are checked by clinic.reports.params, for every door alike."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate


def _id(**kwargs):
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1), **kwargs)


class ReportIn(Schema):
    class Meta:
        unknown = RAISE

    report = fields.String(
        required=True,
        metadata={"description": "revenue, visits, queue, shifts or reconciliation"},
        validate=validate.Length(max=32),
    )
    by = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=32),
        metadata={"description": "The grouping; each report has its own (docs/reports.md)."},
    )
    start = fields.String(
        validate=validate.Length(max=10), metadata={"description": "First clinic day, YYYY-MM-DD"}
    )
    end = fields.String(
        validate=validate.Length(max=10), metadata={"description": "Last clinic day, included"}
    )
    department_id = _id(load_default=None, allow_none=True)
    doctor_id = _id(load_default=None, allow_none=True)
    language = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2))
    formats = fields.List(
        fields.String(validate=validate.Length(max=8)),
        load_default=None,
        validate=validate.Length(min=1, max=3),
        metadata={"description": "Some of csv, xlsx, pdf (all three when not given)."},
    )


class SubscriptionIn(ReportIn):
    frequency = fields.String(
        required=True,
        metadata={"description": "daily, weekly or monthly"},
        validate=validate.Length(max=16),
    )
    email = fields.String(required=True, validate=validate.Length(max=254))


class SubscriptionOut(Schema):
    id = fields.Integer()
    params = fields.Dict()
    formats = fields.List(fields.String())
    frequency = fields.String()
    email = fields.String()
    language = fields.String()
    active = fields.Boolean()
    created_by = fields.String()
    created_at = fields.String()
    unsubscribed_at = fields.String(allow_none=True)
    # The filter's names, as the list shows them (a department or doctor deactivated since is
    # no longer among the form's choices).
    department_names = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        allow_none=True,
        metadata={"description": "the filter's department named in ru, uz and en"},
    )
    doctor_name = fields.String(allow_none=True, metadata={"description": "the filter's doctor"})


class DeliveryOut(Schema):
    id = fields.Integer()
    subscription_id = fields.Integer()
    period_start = fields.String()
    period_end = fields.String()
    state = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.String(allow_none=True)
    sent_at = fields.String(allow_none=True)
    error = fields.String()
    attachments = fields.List(fields.String())


class DashboardOut(Schema):
    day = fields.String()
    at = fields.String()
    revenue = fields.Dict()
    visits = fields.Dict()
    queue = fields.Dict()
    channels = fields.List(fields.String())
