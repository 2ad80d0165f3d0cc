"""One row of a price-list file as the entry it makes: a department, a doctor (with the room
he is found in) or a service, checked with every problem named by the file's column.

The job that reads the file and commits its rows in batches is :mod:`clinic.reference.price_import`.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.reference import directory as reference
from clinic.reference import price_list
from clinic.reference.doctor_match import same_doctor
from clinic.reference.editing import HAS_CONTROL_CHARS
from clinic.reference.file_codes import code_on_file, room_on_file
from clinic.reference.models import Department
from clinic.reference.price_list_file import SHEETS, Reason, parse_price, parse_whole
from clinic.text import ONE_LINE

SERVICE_TEXT_COLUMNS = ("code", "name_ru", "name_uz", "name_en", "ikpu_code", "package_code")
SERVICE_NUMBER_COLUMNS = ("duration_minutes", "units", "vat_percent")
SERVICE_DIGIT_CODES = ("ikpu_code", "package_code")
# "1,06110E+16", "1.23E+16": a long code in a cell Excel treated as a number, saved as shown.
SCIENTIFIC = re.compile(r"^\d+(?:[.,]\d+)?E\+?\d+$", re.ASCII | re.IGNORECASE)
SCIENTIFIC_CODE = Reason(
    "scientific_code",
    "Excel wrote this code as a number in scientific notation and lost its digits: "
    "format the column as text and type the codes again.",
)
EMPTY = Reason("empty", "Must not be empty.")
IKPU_DIGITS = 17
# Many IKPU codes start with 0 (08601...): a cell holding a number has dropped it.
SHORT_IKPU = (
    "The IKPU (MXIK) code is exactly 17 digits; this one has {digits}. A cell holding a "
    "number loses the code's leading zeros: format the column as text."
)


class RowProblems(Exception):
    """A row's problems (column, reason) that reject it: it writes nothing."""

    def __init__(self, problems: list[tuple[str | None, str]]) -> None:
        super().__init__(problems)
        self.problems = problems


# Fields of the domain's messages and the columns of the file they come from.
# ("number" is the room a doctor's row creates.)
COLUMN_OF_FIELD = {
    "department_id": "department_code",
    "room_id": "room_number",
    "number": "room_number",
}


def worded(message: str, otherwise: str | None = None) -> str:
    """A domain's message with the code the page says it by: a text of more than one line
    (a name wrapped in its cell), or else ``otherwise`` (the column's rule) when given."""
    if message in (ONE_LINE, HAS_CONTROL_CHARS):
        return Reason("one_line", message)
    return Reason(otherwise, message) if otherwise else message


def department_id_of(departments: dict[str, int], code: str, problems: list) -> int | None:
    """The department of ``code``; one typed in other capitals ("card", "Card") or with
    Cyrillic letters that look Latin ("СARD" with the Russian layout on) is the one
    department it reads as."""
    department_id = departments.get(code_on_file(departments, code))
    if department_id is None:
        missing = f"There is no department with code {code!r}."
        problems.append(("department_code", Reason("no_department", missing, code=code)))
    return department_id


def _upsert(session: Session, existing, create, update, as_dict, data: dict, trail, kind: str):
    """Create, or update and tell whether anything changed (noted in ``trail``)."""
    before = None if existing is None else as_dict(existing)
    entity = create(session, data) if existing is None else update(session, existing.id, data)
    if not trail.note(kind, type(entity).__tablename__, before, as_dict(entity)):
        return entity, "unchanged"
    return entity, ("created" if before is None else "updated")


def import_department(session: Session, departments: dict, values: dict, problems, trail):
    if problems:
        raise RowProblems(problems)
    values = {**values, "code": code_on_file(departments, values["code"]) or values["code"]}
    existing = session.scalar(select(Department).where(Department.code == values["code"]))
    department, outcome = _upsert(
        session,
        existing,
        reference.create_department,
        reference.update_department,
        reference.department_as_dict,
        dict(values),
        trail,
        "department",
    )
    departments[department.code] = department.id
    return outcome


def import_doctor(session: Session, departments: dict, values: dict, problems, trail) -> str:
    name = " ".join(values["full_name"].split())
    code = values["department_code"]
    if not code:
        problems.append(("department_code", EMPTY))
    department_id = department_id_of(departments, code, problems) if code else None
    if problems:
        raise RowProblems(problems)
    data = {"full_name": name, "department_id": department_id}
    if values.get("specialty"):
        data["specialty"] = values["specialty"]
    if values.get("room_number"):
        room_id = room_on_file(session, values["room_number"])
        if room_id is None:
            room = reference.create_room(
                session, {"number": values["room_number"], "department_id": department_id}
            )
            trail.note("room", "rooms", None, reference.room_as_dict(room))
            room_id = room.id
        data["room_id"] = room_id
    existing = same_doctor(session, name, department_id)
    return _upsert(
        session,
        existing,
        reference.create_doctor,
        reference.update_doctor,
        reference.doctor_as_dict,
        data,
        trail,
        "doctor",
    )[1]


def service_entry(departments: dict, values: dict, problems) -> dict:
    """The row as a price-list entry, or :class:`RowProblems` with every problem found."""
    required = SHEETS["services"][1]
    data = {
        c: values[c] for c in SERVICE_TEXT_COLUMNS if c in values and (values[c] or c in required)
    }
    for column in required:
        if not values[column] and not any(c == column for c, _ in problems):
            problems.append((column, EMPTY))  # (not when a number was cut short)
    if values["price"]:
        try:
            data["price"] = parse_price(values["price"])
        except ValueError as exc:
            problems.append(("price", exc.args[0]))
    for column in SERVICE_NUMBER_COLUMNS:
        if values.get(column):
            try:
                data[column] = parse_whole(values[column])
            except ValueError as exc:
                problems.append((column, exc.args[0]))
    for column in SERVICE_DIGIT_CODES:
        if SCIENTIFIC.match(values.get(column, "")):
            problems.append((column, SCIENTIFIC_CODE))
    ikpu = values.get("ikpu_code", "")
    if ikpu.isascii() and ikpu.isdigit() and len(ikpu) < IKPU_DIGITS:
        short = SHORT_IKPU.format(digits=len(ikpu))
        problems.append(("ikpu_code", Reason("short_ikpu", short, digits=len(ikpu))))
    if values.get("department_code"):
        data["department_id"] = department_id_of(departments, values["department_code"], problems)
    blamed = {column for column, _ in problems}
    for field, messages in price_list.validate_service_fields(data).items():
        column = COLUMN_OF_FIELD.get(field, field)
        if column not in blamed:  # the page says the column's rule, or that of one line
            problems.extend((column, worded(message, "invalid")) for message in messages)
    if problems:
        raise RowProblems(problems)
    return data
