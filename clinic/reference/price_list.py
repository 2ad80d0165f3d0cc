"""The price list: services, their codes, prices and fiscal codes.

As in :mod:`clinic.reference.directory`: every function takes a Session first and leaves the
commit to the caller; a broken rule is a ValidationFailed naming the field, a taken code a
Conflict naming it; each change is recorded as an event on ``reference:services``. The field
rules work on their own too: the price-list import checks each row with them before it
writes anything.
"""

from __future__ import annotations

import re
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.errors import ValidationFailed
from clinic.reference.editing import (
    CODE_RE,
    FieldReader,
    Kind,
    change,
    changed_values,
    check_refs,
    create,
    entity_dict,
    fetch,
    filter_by_text,
    filter_common,
    paginate,
    searchable,
    set_active,
)
from clinic.reference.models import Department, Service

MAX_PRICE = 10**12  # tiyin: ten billion sum, far above any price a clinic charges
MAX_DURATION = 24 * 60
IKPU_RE = re.compile(r"^[0-9]{17}$")
PACKAGE_CODE_RE = re.compile(r"^[0-9]{1,20}$")


# -- the fields of an entry (the price-list import checks rows with them) --------------------


def clean_service_fields(data: dict, *, partial: bool = False) -> tuple[dict, dict[str, list[str]]]:
    """A price-list entry normalised (strings stripped), and its errors by field."""
    reader = FieldReader(data, partial=partial)
    reader.text("code", max_length=32, required=True, pattern=CODE_RE, message="No spaces.")
    for field in ("name_ru", "name_uz", "name_en"):
        reader.text(field, max_length=200, required=True)
    reader.integer(
        "price",
        minimum=0,
        maximum=MAX_PRICE,
        required=True,
        message=f"Price is whole tiyin, from 0 to {MAX_PRICE}.",
    )
    reader.integer("duration_minutes", minimum=1, maximum=MAX_DURATION)
    reader.text(
        "ikpu_code",
        max_length=17,
        pattern=IKPU_RE,
        message="The IKPU (MXIK) code is exactly 17 digits, or empty.",
    )
    reader.text(
        "package_code",
        max_length=20,
        pattern=PACKAGE_CODE_RE,
        message="The package code is up to 20 digits, or empty.",
    )
    reader.integer("vat_percent", minimum=0, maximum=100, message="VAT is from 0 to 100 percent.")
    reader.reference("department_id")
    return reader.clean, reader.errors


def validate_service_fields(data: dict) -> dict[str, list[str]]:
    """Errors by field for one price-list entry; empty when it is valid.

    Checks all that needs no database: code and the three names present, lengths, price in
    whole tiyin (>= 0), duration in minutes (> 0), IKPU code (17 digits or empty), package
    code, VAT percent (0..100) and the form of ``department_id``. Whether the department
    exists and whether the code is free is decided when the entry is written.
    """
    return clean_service_fields(data)[1]


# -- services --------------------------------------------------------------------------------


def service_as_dict(s: Service) -> dict:
    return entity_dict(
        s,
        "code",
        "name_ru",
        "name_uz",
        "name_en",
        "price",
        "duration_minutes",
        "ikpu_code",
        "package_code",
        "vat_percent",
        "department_id",
    )


SERVICE = Kind("service", "services", Service, service_as_dict, ("code",))
SERVICE_DEFAULTS = {"duration_minutes": 15, "ikpu_code": "", "package_code": "", "vat_percent": 0}


def _raise_if_invalid_service(errors: dict[str, list[str]]) -> None:
    if errors:
        first = next(iter(errors))
        raise ValidationFailed(f"invalid service: {first}: {errors[first][0]}", errors=errors)


def _service_values(session: Session, data: dict, current: Service | None) -> dict:
    values, errors = clean_service_fields(data, partial=current is not None)
    _raise_if_invalid_service(errors)
    check_refs(
        session, changed_values(current, values), {"department_id": (Department, "department")}
    )
    fields = ("code", "name_ru", "name_uz", "name_en")
    values["search_text"] = searchable(*(values.get(f, getattr(current, f, "")) for f in fields))
    return values


def create_service(session: Session, data: dict) -> Service:
    values = {**SERVICE_DEFAULTS, **_service_values(session, data, None)}
    return create(session, SERVICE, values)


def update_service(session: Session, service_id: int, data: dict) -> Service:
    service = fetch(session, SERVICE, service_id)
    change(session, SERVICE, service, _service_values(session, data, service))
    return service


def get_service(session: Session, service_id: int) -> Service:
    return fetch(session, SERVICE, service_id)


def deactivate_service(session: Session, service_id: int) -> Service:
    return set_active(session, SERVICE, service_id, False)


def activate_service(session: Session, service_id: int) -> Service:
    return set_active(session, SERVICE, service_id, True)


def upsert_service_by_code(
    session: Session, data: dict
) -> Literal["created", "updated", "unchanged"]:
    """Create the service with ``data["code"]``, or bring the existing one up to ``data``.

    ``data`` is a whole price-list entry (see :func:`validate_service_fields`); optional
    fields it leaves out keep their current values. Whether the service is active is not
    touched. Invalid data raises ValidationFailed, as :func:`create_service` does.
    """
    values, errors = clean_service_fields(data)
    _raise_if_invalid_service(errors)
    existing = session.scalar(select(Service).where(Service.code == values["code"]))
    if existing is None:
        create_service(session, data)
        return "created"
    changed = change(session, SERVICE, existing, _service_values(session, data, existing))
    return "updated" if changed else "unchanged"


def list_services(
    session: Session,
    *,
    q: str | None = None,
    active: bool | None = None,
    department_id: int | None = None,
    page=1,
    page_size=50,
) -> tuple[list[Service], int]:
    """Services whose code or a name holds every word of ``q`` in either script, by code."""
    stmt = filter_common(select(Service), Service, active=active, department_id=department_id)
    stmt = filter_by_text(stmt, Service.search_text, q)
    return paginate(session, stmt, (Service.code, Service.id), page, page_size)
