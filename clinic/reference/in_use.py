"""What other modules keep in a reference record, asked before it changes: the directory
knows nothing of queues or visits, and those modules register here what a department, a room
or a doctor switched off, moved or given another room would leave without it (as a plural
noun and their codes, "active queues", ["cardio"]). The directory refuses the change naming
them (clinic.reference.directory)."""

from __future__ import annotations

from typing import Callable

from sqlalchemy.orm import Session

from clinic.errors import Conflict, refusal
from clinic.reference.models import Department, Doctor, Room

# What other modules keep in a department: each check tells, for a department about to be
# deactivated, what of its own still works there: a plural noun and their codes (the queue
# module's active queues, which would go on issuing tickets of a department switched off).
DepartmentCheck = Callable[[Session, Department], tuple[str, list[str]]]
department_checks: list[DepartmentCheck] = []


def department_check(fn: DepartmentCheck) -> DepartmentCheck:
    """Register ``fn`` to be asked before a department is deactivated."""
    department_checks.append(fn)
    return fn


# What other modules keep in a room: each check tells, for a room about to be deactivated
# (``"active"``, False) or moved to another department (``"department_id"``, the new id),
# what of its own that change would break: a plural noun and their codes (the queue module's
# active queues, which call patients into a room of their department or a shared one).
RoomCheck = Callable[[Session, Room, str, object], tuple[str, list[str]]]
room_checks: list[RoomCheck] = []


def room_check(fn: RoomCheck) -> RoomCheck:
    """Register ``fn`` to be asked before a room is deactivated or moved (see ``RoomCheck``)."""
    room_checks.append(fn)
    return fn


# What other modules keep of a doctor: each check tells, for a doctor about to be
# deactivated, what of his still works: a plural noun and their codes (the queue module's
# active queues of his own, which would go on issuing tickets to a doctor who left).
DoctorCheck = Callable[[Session, Doctor], tuple[str, list[str]]]
doctor_checks: list[DoctorCheck] = []


def doctor_check(fn: DoctorCheck) -> DoctorCheck:
    """Register ``fn`` to be asked before a doctor is deactivated."""
    doctor_checks.append(fn)
    return fn


# What other modules keep in a doctor's room: for a doctor about to be given another room,
# the patients he has called there (the queue module's), as a plural noun and their codes.
doctor_room_checks: list[DoctorCheck] = []


def doctor_room_check(fn: DoctorCheck) -> DoctorCheck:
    """Register ``fn`` to be asked before a doctor is given another room."""
    doctor_room_checks.append(fn)
    return fn


# What other modules keep of a doctor in his department: for a doctor about to be moved to
# another department, the patients he has called or is seeing in what was his there only (the
# queue module's, in his department's shared queues), as a plural noun and their codes.
doctor_department_checks: list[DoctorCheck] = []


def doctor_department_check(fn: DoctorCheck) -> DoctorCheck:
    """Register ``fn`` to be asked before a doctor is moved to another department."""
    doctor_department_checks.append(fn)
    return fn


def uses_of(found) -> str:
    """``"active queues: a, b; ..."`` for each ``(what, codes)`` with codes, else ""."""
    return "; ".join(f"{what}: {', '.join(codes)}" for what, codes in found if codes)


def refuse_in_use(kind: str, named, field: str, message: str) -> None:
    """The Conflict ``<kind>_in_use`` at ``field``: something still relies on the record."""
    code = f"{kind}_in_use"
    raise refusal(Conflict, f"{kind} {named} is in use", {field: [(code, message)]}, code=code)
