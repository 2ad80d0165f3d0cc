"""Reference data: the clinic profile, departments, rooms and doctors (the price list is in
:mod:`clinic.reference.price_list`).

Every function takes a Session first and leaves the commit to the caller. Input is checked
here, whoever calls (API, price-list import, CLI): a broken rule is a ValidationFailed naming
the field, a taken code or number a Conflict naming the field. Each change is recorded as an
event on ``reference:<kind>`` in the same transaction, carrying the entity as a dict.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.base import is_id, iso
from clinic.errors import Conflict, DomainError, NotFound, ValidationFailed, refusal
from clinic.reference import in_use
from clinic.reference.editing import (
    CODE_RE,
    LOOKALIKES,
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
    locked,
    one_at_a_time,
    paginate,
    record_change,
    searchable,
    set_active,
    write,
)
from clinic.reference.file_codes import check_code_looks_free
from clinic.reference.models import ClinicProfile, Department, Doctor, Room
from clinic.text import search_key

TICKET_PREFIX_RE = re.compile(r"^[A-ZА-ЯЁЎҚҒҲ]{1,3}$")
TAXPAYER_RE = re.compile(r"^([0-9]{9}|[0-9]{14})$")

# -- the clinic profile ---------------------------------------------------------------------


def clinic_as_dict(profile: ClinicProfile) -> dict:
    return {
        "legal_name": profile.legal_name,
        "address": profile.address,
        "taxpayer_number": profile.taxpayer_number,
        "phone": profile.phone,
        "updated_at": iso(profile.updated_at),
    }


CLINIC = Kind("clinic", "clinic", ClinicProfile, clinic_as_dict)


def get_clinic_profile(session: Session) -> ClinicProfile:
    profile = session.get(ClinicProfile, 1)
    if profile is None:
        raise NotFound("the clinic profile has not been filled in yet")
    return profile


def update_clinic_profile(session: Session, data: dict) -> ClinicProfile:
    """Save the clinic's legal details (creating the single profile the first time, when
    ``legal_name`` is required). The taxpayer number (STIR/INN) is 9 digits for a legal
    entity or a 14-digit PINFL for an individual entrepreneur."""
    profile = session.get(ClinicProfile, 1)
    reader = FieldReader(data, partial=profile is not None)
    reader.text("legal_name", max_length=200, required=True)
    reader.text("address", max_length=300, lines=True)
    reader.text(
        "taxpayer_number",
        max_length=14,
        pattern=TAXPAYER_RE,
        message="The taxpayer number is 9 digits (STIR) or 14 digits (PINFL).",
    )
    reader.phone("phone", nullable=False)
    values = reader.raise_if_invalid("clinic profile")
    if profile is None:
        profile = ClinicProfile(id=1, **values)
        write(session, CLINIC, lambda: session.add(profile))
        record_change(session, CLINIC, "updated", profile)
    else:
        change(session, CLINIC, profile, values)
    return profile


# -- departments ----------------------------------------------------------------------------


def department_as_dict(d: Department) -> dict:
    return entity_dict(d, "code", "ticket_prefix", "name_ru", "name_uz", "name_en")


DEPARTMENT = Kind(
    "department", "departments", Department, department_as_dict, ("code", "ticket_prefix")
)


def _department_values(session: Session, data: dict, current: Department | None) -> dict:
    reader = FieldReader(data, partial=current is not None)
    reader.text("code", max_length=16, required=True, pattern=CODE_RE, message="No spaces.")
    reader.text(
        "ticket_prefix",
        max_length=3,
        required=True,
        pattern=TICKET_PREFIX_RE,
        message="One to three Latin or Cyrillic letters.",
        transform=str.upper,
    )
    for field in ("name_ru", "name_uz", "name_en"):
        reader.text(field, max_length=120, required=True)
    values = reader.raise_if_invalid("department")
    if "code" in values and values["code"] != getattr(current, "code", None):
        check_code_looks_free(session, DEPARTMENT, values["code"], current)
    prefix = values.get("ticket_prefix")
    if prefix is not None and prefix != getattr(current, "ticket_prefix", None):
        _check_prefix_looks_free(session, prefix, current)
    merged = {
        f: values.get(f, getattr(current, f, "")) for f in ("code", "name_ru", "name_uz", "name_en")
    }
    values["search_text"] = searchable(*merged.values())
    return values


def _check_prefix_looks_free(session: Session, prefix: str, current: Department | None) -> None:
    """A Conflict when another department's prefix reads the same on a screen, "К-012" and
    "K-012" (the same prefix itself is left to the unique check, which names it too)."""
    one_at_a_time(session, "department ticket prefixes")
    looks = prefix.translate(LOOKALIKES)
    rows = session.execute(select(Department.id, Department.ticket_prefix)).all()
    for other_id, other in rows:
        same = other != prefix and other.translate(LOOKALIKES) == looks
        if same and (current is None or other_id != current.id):
            message = f"{prefix} looks the same as {other}, used by department {other_id}."
            raise Conflict(
                "department ticket_prefix already used", errors={"ticket_prefix": [message]}
            )


def create_department(session: Session, data: dict) -> Department:
    return create(session, DEPARTMENT, _department_values(session, data, None))


def update_department(session: Session, department_id: int, data: dict) -> Department:
    department = fetch(session, DEPARTMENT, department_id)
    change(session, DEPARTMENT, department, _department_values(session, data, department))
    return department


def get_department(session: Session, department_id: int) -> Department:
    return fetch(session, DEPARTMENT, department_id)


@in_use.department_check
def _doctors_of_department(session: Session, department: Department) -> tuple[str, list[str]]:
    """Its active doctors: they would go on being booked in a department the desk's calendar
    lists no more. Each is switched off or moved to another department first."""
    names = session.scalars(
        select(Doctor.full_name)
        .where(Doctor.department_id == department.id, Doctor.active.is_(True))
        .order_by(Doctor.full_name, Doctor.id)
    ).all()
    return "active doctors", list(names)


def deactivate_department(session: Session, department_id: int) -> Department:
    """Switch a department off; refused (Conflict ``department_in_use``, naming ``active``)
    while something still works in it, such as an active queue or doctor: those go first."""
    department = locked(session, DEPARTMENT, department_id)
    if department.active:
        uses = in_use.uses_of(check(session, department) for check in in_use.department_checks)
        if uses:
            message = f"Department {department.code} still has {uses}. Switch them off first."
            in_use.refuse_in_use("department", department.code, "active", message)
    return set_active(session, DEPARTMENT, department_id, False)


def activate_department(session: Session, department_id: int) -> Department:
    return set_active(session, DEPARTMENT, department_id, True)


def list_departments(
    session: Session, *, q: str | None = None, active: bool | None = None, page=1, page_size=50
) -> tuple[list[Department], int]:
    """Departments matching ``q`` (code or any name, any script), by code."""
    stmt = filter_common(select(Department), Department, active=active)
    stmt = filter_by_text(stmt, Department.search_text, q)
    return paginate(session, stmt, (Department.code, Department.id), page, page_size)


# -- rooms ----------------------------------------------------------------------------------


def room_as_dict(r: Room) -> dict:
    return entity_dict(r, "number", "name", "department_id")


ROOM = Kind("room", "rooms", Room, room_as_dict, ("number",))


def _refuse_if_in_use(session: Session, room: Room, field: str, value) -> None:
    """A Conflict (``room_in_use``) naming ``field`` when something still relies on the room
    as it is: the admin moves it to another room first."""
    uses = in_use.uses_of(check(session, room, field, value) for check in in_use.room_checks)
    if uses:
        message = f"Room {room.number} is used by {uses}. Move them to another room first."
        in_use.refuse_in_use("room", room.number, field, message)


def _room_values(session: Session, data: dict, current: Room | None) -> dict:
    reader = FieldReader(data, partial=current is not None)
    reader.text("number", max_length=16, required=True, pattern=CODE_RE, message="No spaces.")
    reader.text("name", max_length=120)
    reader.reference("department_id")
    values = reader.raise_if_invalid("room")
    if "number" in values and values["number"] != getattr(current, "number", None):
        check_code_looks_free(session, ROOM, values["number"], current, field="number")
    check_refs(
        session, changed_values(current, values), {"department_id": (Department, "department")}
    )
    merged = {f: values.get(f, getattr(current, f, "")) for f in ("number", "name")}
    values["search_text"] = searchable(*merged.values())
    return values


def create_room(session: Session, data: dict) -> Room:
    return create(session, ROOM, _room_values(session, data, None))


def update_room(session: Session, room_id: int, data: dict) -> Room:
    room = locked(session, ROOM, room_id)
    values = _room_values(session, data, room)
    if "department_id" in values and values["department_id"] != room.department_id:
        _refuse_if_in_use(session, room, "department_id", values["department_id"])
    change(session, ROOM, room, values)
    return room


def get_room(session: Session, room_id: int) -> Room:
    return fetch(session, ROOM, room_id)


def deactivate_room(session: Session, room_id: int) -> Room:
    room = locked(session, ROOM, room_id)
    if room.active:
        _refuse_if_in_use(session, room, "active", False)
    return set_active(session, ROOM, room_id, False)


def activate_room(session: Session, room_id: int) -> Room:
    return set_active(session, ROOM, room_id, True)


def list_rooms(
    session: Session,
    *,
    q: str | None = None,
    active: bool | None = None,
    department_id: int | None = None,
    page=1,
    page_size=50,
) -> tuple[list[Room], int]:
    """Rooms matching ``q`` (number or name), by number."""
    stmt = filter_common(select(Room), Room, active=active, department_id=department_id)
    stmt = filter_by_text(stmt, Room.search_text, q)
    return paginate(session, stmt, (Room.number, Room.id), page, page_size)


# -- doctors --------------------------------------------------------------------------------


def doctor_as_dict(d: Doctor) -> dict:
    return entity_dict(d, "full_name", "department_id", "room_id", "specialty")


DOCTOR = Kind("doctor", "doctors", Doctor, doctor_as_dict)
SEARCH_NAME_MAX = Doctor.__table__.c.search_name.type.length


def _department_working(session: Session, department_id, error: type[DomainError]) -> None:
    """Refuse (``error``, ``department_inactive`` at ``department_id``) to have a doctor work
    in a department switched off. Its row is read locked to share its key, as a booking reads
    it (clinic/visits/doctors.py): a switching off under way, which locks it for update and
    then counts the department's active doctors, is waited for and seen; one that comes after
    waits for this change and counts him."""
    department = (
        session.get(
            Department,
            department_id,
            with_for_update={"read": True, "key_share": True},
            populate_existing=True,
        )
        if is_id(department_id)
        else None
    )
    if department is not None and not department.active:
        message = f"The department {department.code} is switched off: switch it on first."
        reasons = {"department_id": [("department_inactive", message)]}
        raise refusal(error, message, reasons, code="department_inactive")


def _doctor_values(session: Session, data: dict, current: Doctor | None) -> dict:
    reader = FieldReader(data, partial=current is not None)
    reader.text("full_name", max_length=160, required=True)
    reader.reference("department_id", required=True)
    reader.reference("room_id")
    reader.text("specialty", max_length=120)
    values = reader.raise_if_invalid("doctor")
    changed = changed_values(current, values)
    if "department_id" in changed:  # a new doctor, or one moved
        _department_working(session, changed["department_id"], ValidationFailed)
    refs = {"department_id": (Department, "department"), "room_id": (Room, "room")}
    check_refs(session, changed, refs)
    if "full_name" in values:
        values["search_name"] = search_key(values["full_name"])[:SEARCH_NAME_MAX]
    return values


def create_doctor(session: Session, data: dict) -> Doctor:
    return create(session, DOCTOR, _doctor_values(session, data, None))


def update_doctor(session: Session, doctor_id: int, data: dict) -> Doctor:
    """Change a doctor's record; a new room is refused (Conflict ``doctor_with_patients``,
    naming ``room_id``) while a patient he called to his room is still called or with him:
    he would lose that patient (whose patient it is goes by the room) and could call a
    second one to the new room, while the old call stayed on the board. So is a move to
    another department (naming ``department_id``) while a patient of his department's shared
    queues is called to him or with him: those queues his no more, he could not finish him."""
    doctor = fetch(session, DOCTOR, doctor_id)
    values = _doctor_values(session, data, doctor)
    if doctor.room_id is not None and values.get("room_id", doctor.room_id) != doctor.room_id:
        _refuse_with_patients(
            session,
            doctor,
            "room_id",
            in_use.doctor_room_checks,
            "in his room",
            "give him another room",
        )
    if values.get("department_id", doctor.department_id) != doctor.department_id:
        _refuse_with_patients(
            session,
            doctor,
            "department_id",
            in_use.doctor_department_checks,
            "in his department's queues",
            "move him to another department",
        )
    change(session, DOCTOR, doctor, values)
    return doctor


def _refuse_with_patients(
    session: Session, doctor: Doctor, field: str, checks, where: str, then: str
) -> None:
    """The Conflict ``doctor_with_patients`` naming ``field`` when ``checks`` find patients
    the doctor still has ``where``; ``then`` says what is done once he has finished them."""
    uses = in_use.uses_of(check(session, doctor) for check in checks)
    if uses:
        message = (
            f"Doctor {doctor.full_name} still has {uses} {where}: finish with them, "
            f"then {then}."
        )
        reasons = {field: [("doctor_with_patients", message)]}
        raise refusal(Conflict, message, reasons, code="doctor_with_patients")


def get_doctor(session: Session, doctor_id: int) -> Doctor:
    return fetch(session, DOCTOR, doctor_id)


def deactivate_doctor(session: Session, doctor_id: int) -> Doctor:
    """Switch a doctor off; refused (Conflict ``doctor_in_use``, naming ``active``) while
    something still works for him, such as an active queue of his own: switch those off
    first. His booked visits stay on the calendar, to be moved to a colleague."""
    doctor = locked(session, DOCTOR, doctor_id)
    if doctor.active:
        uses = in_use.uses_of(check(session, doctor) for check in in_use.doctor_checks)
        if uses:
            message = f"Doctor {doctor.full_name} still has {uses}. Switch them off first."
            in_use.refuse_in_use("doctor", doctor.id, "active", message)
    return set_active(session, DOCTOR, doctor_id, False)


def activate_doctor(session: Session, doctor_id: int) -> Doctor:
    """Switch a doctor on again; refused (Conflict ``department_inactive``, naming
    ``department_id``) while his department is switched off: he would be booked in a
    department the desk's calendar no longer lists. Switch it on, or move him, first."""
    doctor = locked(session, DOCTOR, doctor_id)
    if not doctor.active:
        _department_working(session, doctor.department_id, Conflict)
    return set_active(session, DOCTOR, doctor_id, True)


def list_doctors(
    session: Session,
    *,
    q: str | None = None,
    active: bool | None = None,
    department_id: int | None = None,
    room_id: int | None = None,
    page=1,
    page_size=50,
) -> tuple[list[Doctor], int]:
    """Doctors whose name holds every word of ``q`` in either script, by name."""
    stmt = filter_common(
        select(Doctor), Doctor, active=active, department_id=department_id, room_id=room_id
    )
    stmt = filter_by_text(stmt, Doctor.search_name, q)
    return paginate(session, stmt, (Doctor.full_name, Doctor.id), page, page_size)


def active_doctors(session: Session) -> list[Doctor]:
    """Every active doctor by name (the choice when linking a user to a doctor)."""
    return list(
        session.scalars(select(Doctor).where(Doctor.active.is_(True)).order_by(Doctor.full_name))
    )
