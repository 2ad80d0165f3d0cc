"""Codes typed in other capitals, or with Cyrillic letters drawn like Latin ones (typed with
the Russian layout on), read the same (:func:`~clinic.reference.editing.reads_as`): in a
price list's file such a code names the one on file that reads the same, and a new code
that reads like a taken one is taken."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.errors import Conflict
from clinic.reference.editing import Kind, one_at_a_time, reads_as
from clinic.reference.models import Room, Service


def codes_by_look(session: Session) -> dict[str, set[str]]:
    """The services' codes by how they read (:func:`~clinic.reference.editing.reads_as`)."""
    codes: dict[str, set[str]] = {}
    for code in session.scalars(select(Service.code)):
        codes.setdefault(reads_as(code), set()).add(code)
    return codes


def known_code(codes: dict[str, set[str]], code: str) -> str:
    """The code of the service a row names: its own when a service has it or none reads the
    same, else the one service's whose code reads the same, typed in other capitals or with
    Cyrillic look-alike letters ("gp-01", "СТ-01" for GP-01 and CT-01), which a second
    service of the same look would only double on the price list."""
    alike = codes.get(reads_as(code), set())
    return next(iter(alike)) if len(alike) == 1 and code not in alike else code


def code_on_file(codes, code: str) -> str | None:
    """The one of ``codes`` that ``code`` names: itself, else the one that reads the same."""
    alike = [known for known in codes if reads_as(known) == reads_as(code)]
    return code if code in codes else (alike[0] if len(alike) == 1 else None)


def room_on_file(session: Session, number: str) -> int | None:
    """The id of the room a price list's row names by ``number``: its own, else the one room
    whose number reads the same ("101А" typed with a Cyrillic А for 101A), else None."""
    numbers = dict(session.execute(select(Room.number, Room.id)).all())
    found = code_on_file(numbers, number)
    return None if found is None else numbers[found]


def check_code_looks_free(
    session: Session, kind: Kind, code: str, current, *, field: str = "code"
) -> None:
    """A Conflict naming ``field`` when another entity of ``kind`` has a code (or, for a
    room, a number) that reads the same ("ct-01" or "СТ-01" beside CT-01, "101А" beside
    101A): two of them would read as one on every screen, receipt and report (the very same
    code is left to the unique check, which names it too; ``current``, the entity being
    changed, may write its own in other capitals)."""
    one_at_a_time(session, f"{kind.name} {field}s")
    looks, model = reads_as(code), kind.model
    for other_id, other in session.execute(select(model.id, getattr(model, field))):
        if other != code and reads_as(other) == looks and getattr(current, "id", None) != other_id:
            message = f"{code} looks the same as {other}, used by {kind.name} {other_id}."
            raise Conflict(f"{kind.name} {field} already used", errors={field: [message]})
