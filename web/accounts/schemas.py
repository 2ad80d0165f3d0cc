"""Schemas of users, tokens, the audit log and sign-in."""

from __future__ import annotations

import re
from datetime import date

from marshmallow import Schema, ValidationError, fields, validate

from clinic.accounts import tokens
from clinic.accounts.passwords import MAX_LENGTH as PASSWORD_MAX
from clinic.accounts.permissions import ROLES
from clinic.accounts.users import USERNAME_MAX
from clinic.base import MAX_ID
from web.api.schemas import Instant, Integer, OneLine, StrictBoolean
from web.auth.schemas import PasswordChangeSchema  # noqa: F401 - the API's too

ROLE_NAMES = sorted(ROLES)


class UserSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    full_name = fields.String()
    roles = fields.List(fields.String())
    doctor_id = fields.Integer(allow_none=True)
    active = fields.Boolean()
    locked = fields.Boolean()
    locked_until = fields.String(allow_none=True)
    last_login_at = fields.String(allow_none=True)
    created_at = fields.String()


class UserCreateSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=2, max=USERNAME_MAX))
    password = fields.String(required=True, validate=validate.Length(min=1, max=PASSWORD_MAX))
    full_name = fields.String(load_default="", validate=validate.Length(max=160))
    roles = fields.List(
        fields.String(validate=validate.OneOf(ROLE_NAMES)),
        required=True,
        validate=validate.Length(min=1, max=len(ROLE_NAMES)),
    )
    doctor_id = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=MAX_ID)
    )


class UserUpdateSchema(Schema):
    full_name = fields.String(validate=validate.Length(max=160))
    roles = fields.List(
        fields.String(validate=validate.OneOf(ROLE_NAMES)),
        validate=validate.Length(min=1, max=len(ROLE_NAMES)),
    )
    doctor_id = fields.Integer(
        allow_none=True, strict=True, validate=validate.Range(min=1, max=MAX_ID)
    )
    active = StrictBoolean()


class PasswordResetSchema(Schema):
    password = fields.String(required=True, validate=validate.Length(min=1, max=PASSWORD_MAX))


class SignInSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=USERNAME_MAX))
    password = fields.String(required=True, validate=validate.Length(min=1, max=PASSWORD_MAX))


class CsrfSchema(Schema):
    csrf_token = fields.String()


class SignedInSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    roles = fields.List(fields.String())
    csrf_token = fields.String()


class MeSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    full_name = fields.String()
    roles = fields.List(fields.String())
    permissions = fields.List(fields.String())
    doctor_id = fields.Integer(allow_none=True)
    csrf_token = fields.String(
        metadata={"description": "Only when asked with the session: a bearer token needs none."}
    )


class TokenSchema(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    username = fields.String()
    name = fields.String()
    prefix = fields.String()
    created_at = fields.String()
    expires_at = fields.String()
    revoked_at = fields.String(allow_none=True)
    last_used_at = fields.String(allow_none=True)
    active = fields.Boolean()


class NewTokenSchema(TokenSchema):
    token = fields.String(metadata={"description": "shown once; only its hash is kept"})


class TokenCreateSchema(Schema):
    name = OneLine(required=True, validate=validate.Length(min=1, max=tokens.NAME_MAX))
    days = fields.Integer(
        load_default=90, strict=True, validate=validate.Range(min=1, max=tokens.MAX_DAYS)
    )
    user_id = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={
            "description": "your own id, if given: a token is made by its owner only "
            "(anyone else's: 403)"
        },
    )


class TokenQuery(Schema):
    user_id = Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID))


class AuditEntrySchema(Schema):
    id = fields.Integer()
    at = fields.String()
    user_id = fields.Integer(allow_none=True)
    username = fields.String()
    roles = fields.List(fields.String())
    action = fields.String()
    object_type = fields.String()
    object_id = fields.String()
    summary = fields.Dict(allow_none=True)
    status = fields.Integer(allow_none=True)
    ip = fields.String()
    user_agent = fields.String()
    request_id = fields.String()


DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class DayOrMoment(fields.String):
    """A day as a person types it (``2026-03-02``: that day in the clinic's time, read by
    the view), or a moment with its offset (ISO 8601), as before."""

    moment = Instant()

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if DAY.fullmatch(text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise ValidationError(f"no such day: {text}") from None
        return self.moment.deserialize(text, attr, data)


class AuditQuery(Schema):
    page = Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    page_size = Integer(load_default=50, validate=validate.Range(min=1, max=500))
    username = fields.String(validate=validate.Length(max=64))
    action = fields.String(validate=validate.Length(max=100))
    object_type = fields.String(validate=validate.Length(max=64))
    object_id = fields.String(validate=validate.Length(max=64))
    since = DayOrMoment(metadata={"description": "YYYY-MM-DD (clinic time) or a moment"})
    until = DayOrMoment(metadata={"description": "YYYY-MM-DD (to its end) or a moment"})


class UserQuery(Schema):
    locked = fields.Boolean(load_default=False)
