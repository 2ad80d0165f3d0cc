"""The price list: services, their codes, prices and fiscal codes.

As in :mod:`clinic.reference.directory`: every function takes a Session first and leaves the
commit to the caller; a broken rule is a ValidationFailed naming the field, a taken code a
Conflict naming it; each change is recorded as an event on ``reference:services``. The field
rules work on their own too: the price-list import checks each row with them before it
writes anything, then writes a batch of rows at once (:func:`upsert_services_by_code`).
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Literal

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from clinic.base import utcnow
from clinic.errors import DomainError, ValidationFailed
from clinic.events import record_events
from clinic.reference import events as reference_events
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
from clinic.reference.file_codes import check_code_looks_free
from clinic.reference.models import Department, Service

MAX_PRICE = 10**12  # tiyin: ten billion sum, far above any price a clinic charges
MAX_DURATION = 24 * 60
IKPU_RE = re.compile(r"^[0-9]{17}$")
PACKAGE_CODE_RE = re.compile(r"^[0-9]{1,20}$")
MAX_UNITS = 999_999_999  # a unit of measure's code: 1 to 9 digits (241092: one piece)
UNITS_RULE = f"The unit of measure code is a whole number from 1 to {MAX_UNITS}, or empty."


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
    reader.integer("units", minimum=1, maximum=MAX_UNITS, nullable=True, message=UNITS_RULE)
    reader.integer("vat_percent", minimum=0, maximum=100, message="VAT is from 0 to 100 percent.")
    reader.reference("department_id")
    return reader.clean, reader.errors


def validate_service_fields(data: dict) -> dict[str, list[str]]:
    """Errors by field for one price-list entry; empty when it is valid.

    Checks all that needs no database: code and the three names present, lengths, price in
    whole tiyin (>= 0), duration in minutes (> 0), IKPU code (17 digits or empty), package
    code, unit of measure code (1 to 9 digits, or none), VAT percent (0..100) and the form
    of ``department_id``. Whether the department exists and whether the code is free is
    decided when the entry is written.
    """
    return clean_service_fields(data)[1]


# -- services --------------------------------------------------------------------------------


SERVICE_FIELDS = (
    "code",
    "name_ru",
    "name_uz",
    "name_en",
    "price",
    "duration_minutes",
    "ikpu_code",
    "package_code",
    "units",
    "vat_percent",
    "department_id",
)


def service_as_dict(s: Service) -> dict:
    return entity_dict(s, *SERVICE_FIELDS)


NAMES = ("name_ru", "name_uz", "name_en")
SERVICE = Kind("service", "services", Service, service_as_dict, ("code",))
SERVICE_DEFAULTS = {
    "duration_minutes": 15,
    "ikpu_code": "",
    "package_code": "",
    "units": None,
    "vat_percent": 0,
}


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
    if "code" in values and values["code"] != getattr(current, "code", None):
        check_code_looks_free(session, SERVICE, values["code"], current)
    fields = SERVICE.unique + NAMES
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
    session: Session, data: dict, written: list | None = None
) -> Literal["created", "updated", "unchanged"]:
    """Create the service with ``data["code"]``, or bring the existing one up to ``data``.

    ``data`` is a whole price-list entry (see :func:`validate_service_fields`); optional
    fields it leaves out keep their current values. Whether the service is active is not
    touched. Invalid data raises ValidationFailed, as :func:`create_service` does.
    ``written``, when given, gets ``(before, after)`` of the service created (``before``
    None) or changed, both as :func:`service_as_dict` has them.
    """
    values, errors = clean_service_fields(data)
    _raise_if_invalid_service(errors)
    existing = session.scalar(select(Service).where(Service.code == values["code"]))
    if existing is None:
        created = create_service(session, data)
        if written is not None:
            written.append((None, service_as_dict(created)))
        return "created"
    before = service_as_dict(existing)
    changed = change(session, SERVICE, existing, _service_values(session, data, existing))
    if changed and written is not None:
        written.append((before, service_as_dict(existing)))
    return "updated" if changed else "unchanged"


# What an entry read from a price list may change in an existing service (not its code, nor
# whether it is active).
ENTRY_FIELDS = (*SERVICE_FIELDS[1:], "search_text")
_SERVICES = Service.__table__
_INSERT_SERVICES = insert(_SERVICES).returning(_SERVICES.c.id, _SERVICES.c.code)
_UPDATE_SERVICES = (
    update(_SERVICES)
    .where(_SERVICES.c.id == bindparam("b_id"))
    .values({f: bindparam(f"b_{f}") for f in (*ENTRY_FIELDS, "updated_at")})
)


def upsert_services_by_code(
    session: Session, entries: list[dict], written: list | None = None
) -> list[Literal["created", "updated", "unchanged"] | DomainError]:
    """Each entry upserted as :func:`upsert_service_by_code` does it, in order, with the same
    outcomes, refusals (answered, not raised: the other entries are still written) and events,
    in a few statements for all of them: one read of the services by code, one insert of the
    new ones, one update of the changed ones, the events.

    A code another transaction took meanwhile raises IntegrityError: the caller's savepoint
    rolls back the whole lot, which :func:`upsert_service_by_code` can then take one by one.
    ``written``, when given, gets ``(position, before, after)`` of each service created
    (``before`` None) or changed, both as :func:`service_as_dict` has them.
    """
    answers: list = [None] * len(entries)
    lot: dict[str, tuple[int, dict]] = {}
    for i, data in enumerate(entries):
        values, errors = clean_service_fields(data)
        try:
            _raise_if_invalid_service(errors)
        except ValidationFailed as exc:
            answers[i] = exc
            continue
        if values["code"] in lot:  # the same code twice: the second sees the first written
            _write_services(session, list(lot.values()), answers, written)
            lot = {}
        lot[values["code"]] = (i, values)
    _write_services(session, list(lot.values()), answers, written)
    return answers


def _write_services(
    session: Session, lot: list[tuple[int, dict]], answers: list, noted: list | None
) -> None:
    """Entries of distinct codes written, their answers set at their positions."""
    if not lot:
        return
    codes = [values["code"] for _, values in lot]
    # Locked until the batch commits (in one order, as another import locks them): the update
    # below writes every field of an entry as read here, so a change the desk is saving to
    # one of them (its VAT, where the file has no such column) is waited for, not undone.
    current = {
        row.code: row._asdict()
        for row in session.execute(
            select(_SERVICES)
            .where(_SERVICES.c.code.in_(codes))
            .order_by(_SERVICES.c.id)
            .with_for_update()
        )
    }
    referenced = {v["department_id"] for _, v in lot if v.get("department_id") is not None}
    # Held until the checks of references below are done: the session keeps only the
    # objects someone holds, and finds these there instead of reading each again.
    departments = (
        referenced
        and session.scalars(select(Department).where(Department.id.in_(referenced))).all()
    )
    new, changed, written = [], [], []
    for i, values in lot:
        existing = current.get(values["code"])
        names = (values.get(f, (existing or {}).get(f, "")) for f in SERVICE.unique + NAMES)
        values = {**values, "search_text": searchable(*names)}
        if existing is not None:
            values = {k: v for k, v in values.items() if existing[k] != v}
            if not values:
                answers[i] = "unchanged"
                continue
        try:
            check_refs(session, values, {"department_id": (Department, "department")})
        except DomainError as exc:
            answers[i] = exc
            continue
        now = utcnow()
        if existing is None:
            row = {**SERVICE_DEFAULTS, "department_id": None, **values}
            new.append({**row, "active": True, "created_at": now, "updated_at": now})
            written.append((i, "created", new[-1]))
        else:
            changed.append({**existing, **values, "updated_at": now})
            written.append((i, "updated", changed[-1]))
    del departments  # (the checks are done)
    if new:
        ids = {code: id_ for id_, code in session.execute(_INSERT_SERVICES, new).all()}
        for row in new:
            row["id"] = ids[row["code"]]
    if changed:
        session.execute(
            _UPDATE_SERVICES,
            [{f"b_{f}": r[f] for f in ("id", *ENTRY_FIELDS, "updated_at")} for r in changed],
        )
    events = []
    for i, outcome, row in written:
        answers[i] = outcome
        event = reference_events.change_event(SERVICE.name, outcome)
        events.append((SERVICE.channel, event.name, SERVICE.as_dict(SimpleNamespace(**row))))
        if noted is not None:
            was = current.get(row["code"]) if outcome == "updated" else None
            was = was and SERVICE.as_dict(SimpleNamespace(**was))
            noted.append((i, was, events[-1][2]))
    record_events(session, events)


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
