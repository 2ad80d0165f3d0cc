"""Schemas of signing in and changing one's own password (used by the pages here and by the
account API in web/accounts)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from clinic.accounts.passwords import MAX_LENGTH as PASSWORD_MAX


def _password(**kwargs):
    return fields.String(validate=validate.Length(min=1, max=PASSWORD_MAX), **kwargs)


class PasswordChangeSchema(Schema):
    current_password = _password(required=True)
    new_password = _password(required=True)
