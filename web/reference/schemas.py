"""What the reference-data API accepts and answers.

Input schemas reject unknown fields (marshmallow's default), wrong types (integers are
strict: 1500.5 is not a price) and strings longer than their columns. The domain services
check the rules again (IKPU form, phone, taxpayer number, ...), whoever calls them.
Money is integer tiyin (``price``); dates are ISO 8601.
"""

from __future__ import annotations

from copy import copy

from marshmallow import Schema, fields, validate

from clinic.reference.editing import MAX_ID
from clinic.reference.patients import NOTES_MAX, SEXES
from clinic.reference.price_list import MAX_DURATION, MAX_PRICE, MAX_UNITS
from web.api.schemas import Day, Integer, PageQuery

NAME = validate.Length(min=1, max=120)
SERVICE_NAME = validate.Length(min=1, max=200)
ID = validate.Range(min=1, max=MAX_ID)


def _text(max_length: int, *, required: bool = False, min_length: int = 0, **kwargs):
    return fields.String(
        required=required, validate=validate.Length(min=min_length, max=max_length), **kwargs
    )


def _id(**kwargs):
    return fields.Integer(strict=True, validate=ID, **kwargs)


def partial_of(schema: type[Schema], name: str) -> type[Schema]:
    """``schema``'s fields with none required: the body of a PATCH."""
    optional = {}
    for field_name, field in schema._declared_fields.items():
        field = copy(field)
        field.required = False
        optional[field_name] = field
    return Schema.from_dict(optional, name=name)


class Stamped(Schema):
    id = fields.Integer(required=True)
    active = fields.Boolean(required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    updated_at = fields.String(required=True, metadata={"format": "date-time"})


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item), required=True),
            "page": fields.Integer(required=True),
            "page_size": fields.Integer(required=True),
            "total": fields.Integer(required=True),
        },
        name=name,
    )


class ListQuery(PageQuery):
    q = fields.String(
        validate=validate.Length(max=200),
        metadata={"description": "Words to find, in Cyrillic or Latin, any letter case."},
    )
    active = fields.Boolean(metadata={"description": "Only active (true) or inactive (false)."})


# -- clinic profile -------------------------------------------------------------------------


class ClinicIn(Schema):
    legal_name = _text(200, required=True, min_length=1)
    address = _text(300, load_default="")
    taxpayer_number = _text(
        14,
        load_default="",
        metadata={"description": "STIR/INN: 9 digits (legal entity) or 14 (PINFL)."},
    )
    phone = _text(40, load_default="", metadata={"description": "Stored as +998XXXXXXXXX."})


class ClinicOut(Schema):
    legal_name = fields.String(required=True)
    address = fields.String(required=True)
    taxpayer_number = fields.String(required=True)
    phone = fields.String(required=True)
    updated_at = fields.String(required=True, metadata={"format": "date-time"})


# -- departments ----------------------------------------------------------------------------


class DepartmentIn(Schema):
    code = _text(16, required=True, min_length=1)
    ticket_prefix = _text(
        3,
        required=True,
        min_length=1,
        metadata={"description": "1-3 Latin or Cyrillic letters, upper case (e.g. K)."},
    )
    name_ru = fields.String(required=True, validate=NAME)
    name_uz = fields.String(required=True, validate=NAME)
    name_en = fields.String(required=True, validate=NAME)


DepartmentPatch = partial_of(DepartmentIn, "DepartmentPatch")


class DepartmentOut(Stamped):
    code = fields.String(required=True)
    ticket_prefix = fields.String(required=True)
    name_ru = fields.String(required=True)
    name_uz = fields.String(required=True)
    name_en = fields.String(required=True)


DepartmentPage = page_schema(DepartmentOut, "DepartmentPage")
DepartmentQuery = ListQuery


# -- rooms ----------------------------------------------------------------------------------


class RoomIn(Schema):
    number = _text(16, required=True, min_length=1)
    name = _text(120)
    department_id = _id(allow_none=True)


RoomPatch = partial_of(RoomIn, "RoomPatch")


class RoomOut(Stamped):
    number = fields.String(required=True)
    name = fields.String(required=True)
    department_id = fields.Integer(allow_none=True)


RoomPage = page_schema(RoomOut, "RoomPage")


class RoomQuery(ListQuery):
    department_id = Integer(validate=ID)


# -- doctors --------------------------------------------------------------------------------


class DoctorIn(Schema):
    full_name = _text(160, required=True, min_length=1)
    department_id = _id(required=True)
    room_id = _id(allow_none=True)
    specialty = _text(120)


DoctorPatch = partial_of(DoctorIn, "DoctorPatch")


class DoctorOut(Stamped):
    full_name = fields.String(required=True)
    department_id = fields.Integer(required=True)
    room_id = fields.Integer(allow_none=True)
    specialty = fields.String(required=True)


DoctorPage = page_schema(DoctorOut, "DoctorPage")


class DoctorQuery(ListQuery):
    department_id = Integer(validate=ID)
    room_id = Integer(validate=ID)


# -- services -------------------------------------------------------------------------------


class ServiceIn(Schema):
    code = _text(32, required=True, min_length=1)
    name_ru = fields.String(required=True, validate=SERVICE_NAME)
    name_uz = fields.String(required=True, validate=SERVICE_NAME)
    name_en = fields.String(required=True, validate=SERVICE_NAME)
    price = fields.Integer(
        strict=True,
        required=True,
        validate=validate.Range(min=0, max=MAX_PRICE),
        metadata={"description": "Integer tiyin (1 UZS = 100 tiyin)."},
    )
    duration_minutes = fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_DURATION))
    ikpu_code = _text(17, metadata={"description": "IKPU/MXIK code: 17 digits, or empty."})
    package_code = _text(20, metadata={"description": "Package code: digits, or empty."})
    units = fields.Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_UNITS),
        metadata={
            "description": "Unit of measure code of the fiscal receipt (e.g. 241092): "
            "1 to 9 digits, or null (none)."
        },
    )
    vat_percent = fields.Integer(strict=True, validate=validate.Range(min=0, max=100))
    department_id = _id(allow_none=True)


ServicePatch = partial_of(ServiceIn, "ServicePatch")


class ServiceOut(Stamped):
    code = fields.String(required=True)
    name_ru = fields.String(required=True)
    name_uz = fields.String(required=True)
    name_en = fields.String(required=True)
    price = fields.Integer(required=True, metadata={"description": "Integer tiyin."})
    duration_minutes = fields.Integer(required=True)
    ikpu_code = fields.String(required=True)
    package_code = fields.String(required=True)
    units = fields.Integer(required=True, allow_none=True)
    vat_percent = fields.Integer(required=True)
    department_id = fields.Integer(allow_none=True)


ServicePage = page_schema(ServiceOut, "ServicePage")


class ServiceQuery(ListQuery):
    department_id = Integer(validate=ID)


# -- patients -------------------------------------------------------------------------------


class PatientIn(Schema):
    full_name = _text(160, required=True, min_length=1)
    birth_date = Day(allow_none=True, metadata={"description": "Not in the future."})
    sex = fields.String(required=True, validate=validate.OneOf(SEXES))
    phone = _text(
        40,
        allow_none=True,
        metadata={"description": 'Any usual form ("90 123 45 67"); stored as +998XXXXXXXXX.'},
    )
    email = _text(
        254, allow_none=True, metadata={"description": "Where e-mail receipts go (optional)."}
    )
    document_number = _text(20, allow_none=True)
    notes = _text(NOTES_MAX)


PatientPatch = partial_of(PatientIn, "PatientPatch")


class PatientOut(Stamped):
    full_name = fields.String(required=True)
    birth_date = fields.String(allow_none=True, metadata={"format": "date"})
    sex = fields.String(required=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    document_number = fields.String(allow_none=True)
    notes = fields.String(required=True)


class PatientCreated(PatientOut):
    possible_duplicates = fields.List(
        fields.Nested(PatientOut),
        required=True,
        metadata={
            "description": "Active patients who may be this one registered before: the same "
            "name in either script and no birth date telling them apart, or born the same day "
            "with the name written with or without the father's name (at most 5). A "
            "warning; the patient is registered all the same."
        },
    )


PatientPage = page_schema(PatientOut, "PatientPage")


class PatientQuery(ListQuery):
    sex = fields.String(validate=validate.OneOf(SEXES))
