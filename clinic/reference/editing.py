"""The rules every reference entity is edited by, whoever edits it (API, import, CLI).

Input is read by :class:`FieldReader` into clean values or errors by field; a taken unique
value is a Conflict naming the field (checked first, and caught again from the database's
own constraint, so a concurrent writer cannot turn it into a 500); a reference to a missing
or inactive row is a ValidationFailed naming the field. Each change records an event on
``reference:<kind>`` in the caller's transaction; the caller commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clinic.base import iso
from clinic.errors import Conflict, NotFound, ValidationFailed
from clinic.events import record_event
from clinic.reference import events as reference_events
from clinic.reference.listeners import tell_changed
from clinic.reference.name_match import loosely_contains
from clinic.text import (
    NOT_ONE_LINE,
    ONE_LINE,
    NotAPhone,
    nfc,
    normalize_phone,
    search_key,
    visible_only,
)

MISSING = "Missing data for required field."
MAX_ID = 2**31 - 1
MAX_PAGE = 100_000
MAX_PAGE_SIZE = 200
# A code or a room number: one word, no spaces.
CODE_RE = re.compile(r"^\S+$")
# Control characters other than tab and line breaks (PostgreSQL refuses NUL outright).
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
HAS_CONTROL_CHARS = "Contains control characters."
# Cyrillic capitals drawn like Latin ones, typed with the other keyboard layout on.
LOOKALIKES = str.maketrans("АВЕКМНОРСТУХ", "ABEKMHOPCTYX")


def reads_as(code: str) -> str:
    """How a code reads on a screen or a receipt: in capitals, Cyrillic letters drawn like
    Latin ones as those ("gp-01" and "GР-01", with a Cyrillic Р, read as "GP-01")."""
    return code.upper().translate(LOOKALIKES)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class FieldReader:
    """Reads one entity's fields from a dict: normalised values into ``clean``, messages into
    ``errors`` by field. With ``partial`` (an update) absent fields are skipped, never missing.
    Keys that are not read are ignored."""

    def __init__(self, data: dict, *, partial: bool = False) -> None:
        self.data = data
        self.partial = partial
        self.clean: dict = {}
        self.errors: dict[str, list[str]] = {}

    def fail(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def given(self, field: str, required: bool) -> bool:
        if field in self.data:
            return True
        if required and not self.partial:
            self.fail(field, MISSING)
        return False

    def text(
        self,
        field: str,
        *,
        max_length: int,
        required: bool = False,
        nullable: bool = False,
        pattern: re.Pattern | None = None,
        message: str = "Not in the expected form.",
        transform: Callable[[str], str] | None = None,
        lines: bool = False,
    ) -> None:
        """A string, stripped and composed (:func:`clinic.text.nfc`, also for a price list's
        file or the demo data, which no request brings); an empty optional one becomes ""
        (or None when ``nullable``). One line (see ``NOT_ONE_LINE``) unless ``lines``."""
        if not self.given(field, required):
            return
        value = self.data[field]
        if value is not None and not isinstance(value, str):
            self.fail(field, "Not a valid string.")
            return
        if value and CONTROL_CHARS.search(value):
            self.fail(field, HAS_CONTROL_CHARS)
            return
        if value and not lines and NOT_ONE_LINE.search(value.strip()):
            self.fail(field, ONE_LINE)
            return
        value = nfc((value or "").strip())
        if transform is not None:
            value = transform(value)
        if not value:
            if required:
                self.fail(field, "Must not be empty.")
            else:
                self.clean[field] = None if nullable else ""
        elif len(value) > max_length:
            self.fail(field, f"Longer than maximum length {max_length}.")
        elif pattern is not None and not pattern.match(value):
            self.fail(field, message)
        else:
            self.clean[field] = value

    def integer(
        self,
        field: str,
        *,
        minimum: int,
        maximum: int,
        required: bool = False,
        nullable: bool = False,
        message: str | None = None,
    ) -> None:
        if not self.given(field, required):
            return
        value = self.data[field]
        if value is None:
            if nullable:
                self.clean[field] = None
            else:
                self.fail(field, "Field may not be null.")
        elif not _is_int(value):
            self.fail(field, "Not a valid integer.")
        elif not minimum <= value <= maximum:
            self.fail(field, message or f"Must be from {minimum} to {maximum}.")
        else:
            self.clean[field] = value

    def day(self, field: str, *, earliest: date, latest: date, required: bool = False) -> None:
        """A calendar date (a ``date`` or an ISO ``YYYY-MM-DD`` string) within the bounds."""
        if not self.given(field, required):
            return
        value = self.data[field]
        if isinstance(value, str) and value.strip():
            try:
                value = date.fromisoformat(value.strip())
            except ValueError:
                self.fail(field, "Not a valid date (YYYY-MM-DD).")
                return
        elif value is None or value == "":
            if required:
                self.fail(field, "Field may not be null.")
            else:
                self.clean[field] = None
            return
        if isinstance(value, datetime) or not isinstance(value, date):
            self.fail(field, "Not a valid date (YYYY-MM-DD).")
        elif value > latest:
            self.fail(field, f"Must not be after {latest.isoformat()}.")
        elif value < earliest:
            self.fail(field, f"Must not be before {earliest.isoformat()}.")
        else:
            self.clean[field] = value

    def reference(self, field: str, *, required: bool = False) -> None:
        """The id of another entity (whether it exists is checked by :func:`check_refs`)."""
        self.integer(
            field,
            minimum=1,
            maximum=MAX_ID,
            required=required,
            nullable=not required,
            message="Not a valid id.",
        )

    def phone(self, field: str, *, nullable: bool) -> None:
        if isinstance(self.data.get(field), str):
            # A number pasted from the contacts carries marks that show nothing: it is read
            # as the number it shows, not refused as text hiding something.
            self.data = {**self.data, field: visible_only(self.data[field])}
        self.text(field, max_length=40, nullable=nullable)
        if self.clean.get(field):
            try:
                self.clean[field] = normalize_phone(self.clean[field])
            except NotAPhone as exc:
                del self.clean[field]
                self.fail(field, str(exc))

    def raise_if_invalid(self, what: str) -> dict:
        """The clean values, or ValidationFailed naming every bad field."""
        if self.errors:
            first = next(iter(self.errors))
            detail = f"invalid {what}: {first}: {self.errors[first][0]}"
            raise ValidationFailed(detail, errors=self.errors)
        return self.clean


@dataclass(frozen=True)
class Kind:
    """One kind of reference entity: its events go to ``reference:<plural>``."""

    name: str
    plural: str
    model: type
    as_dict: Callable[[object], dict]
    unique: tuple[str, ...] = ()

    @property
    def channel(self) -> str:
        return f"reference:{self.plural}"


def one_at_a_time(session: Session, rule: str) -> None:
    """Transactions that call this with the same ``rule`` run one after another from here to
    their commit: a rule no unique constraint can hold (letters that only look the same) is
    checked by one of them at a time. SQLite lets one writer in at a time already."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:rule))"), {"rule": rule})


def record_change(session: Session, kind: Kind, action: str, entity) -> None:
    event = reference_events.change_event(kind.name, action)
    record_event(session, kind.channel, event.name, kind.as_dict(entity))


def fetch(session: Session, kind: Kind, entity_id):
    """The entity with this id, or NotFound (also for ids that cannot be ids)."""
    entity = None
    if _is_int(entity_id) and 1 <= entity_id <= MAX_ID:
        entity = session.get(kind.model, entity_id)
    if entity is None:
        raise NotFound(f"{kind.name} {entity_id} does not exist")
    return entity


def locked(session: Session, kind: Kind, entity_id):
    """The entity as committed now, its row locked until the caller commits: what is checked
    before switching it off or moving it (what still uses it) cannot change meanwhile, as
    whoever takes it on reads it locked too (``FOR SHARE``) and waits."""
    entity = fetch(session, kind, entity_id)
    session.refresh(entity, with_for_update=True)
    return entity


def check_refs(session: Session, values: dict, refs: dict[str, tuple[type, str]]) -> None:
    """Every ``field -> (model, label)`` id in ``values`` names an existing, active row."""
    errors: dict[str, list[str]] = {}
    for field, (model, label) in refs.items():
        ref_id = values.get(field)
        if ref_id is None:
            continue
        target = session.get(model, ref_id)
        if target is None:
            errors[field] = [f"There is no {label} {ref_id}."]
        elif not target.active:
            errors[field] = [f"The {label} {ref_id} is inactive."]
    if errors:
        first = next(iter(errors))
        raise ValidationFailed(f"{first}: {errors[first][0]}", errors=errors)


def check_unique(session: Session, kind: Kind, values: dict, current_id: int | None) -> None:
    errors: dict[str, list[str]] = {}
    for field in kind.unique:
        if values.get(field) is None:
            continue
        stmt = select(kind.model.id).where(getattr(kind.model, field) == values[field])
        if current_id is not None:
            stmt = stmt.where(kind.model.id != current_id)
        other = session.scalar(stmt.limit(1))
        if other is not None:
            errors[field] = [f"{values[field]} is already used by {kind.name} {other}."]
    if errors:
        raise Conflict(f"{kind.name} {', '.join(errors)} already used", errors=errors)


def write(session: Session, kind: Kind, apply: Callable[[], None]) -> None:
    """Apply a change and flush it inside a savepoint, so a unique value that a concurrent
    writer took first becomes a Conflict and the caller's transaction stays usable."""
    try:
        with session.begin_nested():
            apply()
            session.flush()
    except IntegrityError as exc:
        message = str(exc.orig)
        table = kind.model.__tablename__
        fields = [f for f in kind.unique if f"{table}.{f}" in message or f"{table}_{f}" in message]
        if not fields:  # e.g. two first saves of the single clinic profile at once
            raise Conflict(f"the {kind.name} was changed at the same time; try again") from exc
        errors = {f: ["Already used."] for f in fields}
        raise Conflict(f"{kind.name} {', '.join(fields)} already used", errors=errors) from exc


def create(session: Session, kind: Kind, values: dict):
    check_unique(session, kind, values, None)
    entity = kind.model(**values)
    write(session, kind, lambda: session.add(entity))
    record_change(session, kind, "created", entity)
    return entity


def change(session: Session, kind: Kind, entity, values: dict) -> bool:
    """Apply the values that differ; records ``<kind>.updated`` only when something did."""
    changed = {k: v for k, v in values.items() if getattr(entity, k) != v}
    if not changed:
        return False
    check_unique(session, kind, changed, entity.id)

    def apply() -> None:
        for key, value in changed.items():
            setattr(entity, key, value)

    write(session, kind, apply)
    # As stored now: another desk's change committed since this one read it is in the row
    # (and in the event) beside this one.
    session.refresh(entity)
    # The other modules are told before the change's event is recorded, whose listeners
    # tell the calendars (a doctor's free slots): the queue's screens' event counters are
    # taken first (a doctor's patients waiting in a shared queue, his queues renamed), as a
    # step of the queue takes them before those of the visit following its ticket. Taken
    # after the calendars', they waited for a step that waited for the calendars' (a
    # deadlock). No listener reads the change's event.
    tell_changed(session, kind.name, entity, frozenset(changed))
    record_change(session, kind, "updated", entity)
    return True


def set_active(session: Session, kind: Kind, entity_id, active: bool):
    """Deactivate or activate; doing it twice changes (and records) nothing the second time."""
    entity = fetch(session, kind, entity_id)
    if entity.active != active:
        entity.active = active
        session.flush()
        session.refresh(entity)  # as stored now (see change)
        tell_changed(session, kind.name, entity, frozenset({"active"}))  # first (see change)
        record_change(session, kind, "activated" if active else "deactivated", entity)
    return entity


def paginate(session: Session, stmt, order, page: int, page_size: int) -> tuple[list, int]:
    """One page of ``stmt`` in a stable order, and the number of rows on all pages."""
    if not (_is_int(page) and 1 <= page <= MAX_PAGE):
        raise ValidationFailed("invalid page", errors={"page": [f"Must be from 1 to {MAX_PAGE}."]})
    if not (_is_int(page_size) and 1 <= page_size <= MAX_PAGE_SIZE):
        message = f"Must be from 1 to {MAX_PAGE_SIZE}."
        raise ValidationFailed("invalid page size", errors={"page_size": [message]})
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = session.scalars(stmt.order_by(*order).limit(page_size).offset((page - 1) * page_size))
    return list(rows.all()), total


def filter_by_text(stmt, column, q: str | None):
    """Rows whose ``column`` (a search key) holds every word of ``q``, in either script."""
    for word in search_key(q).split():
        stmt = stmt.where(loosely_contains(column, word))
    return stmt


def filter_common(stmt, model, *, active: bool | None, **equal):
    """Rows with the given active flag and field values (None: any); an id filter that
    cannot be an id is a ValidationFailed naming it, not a database error."""
    if active is not None:
        stmt = stmt.where(model.active.is_(active))
    for field, value in equal.items():
        if value is None:
            continue
        if field.endswith("_id") and not (_is_int(value) and 1 <= value <= MAX_ID):
            raise ValidationFailed(f"invalid {field}", errors={field: ["Not a valid id."]})
        stmt = stmt.where(getattr(model, field) == value)
    return stmt


def changed_values(current, values: dict) -> dict:
    """The values that differ from ``current`` (all of them for a new entity).

    References are checked only when set or changed, so an entity whose department was
    deactivated later can still be edited in its other fields."""
    if current is None:
        return values
    return {k: v for k, v in values.items() if getattr(current, k) != v}


def entity_dict(entity, *fields: str) -> dict:
    """``fields`` of ``entity`` with its id, active flag and timestamps, JSON-ready."""
    data = {"id": entity.id}
    data.update({f: getattr(entity, f) for f in fields})
    data["active"] = entity.active
    data["created_at"] = iso(entity.created_at)
    data["updated_at"] = iso(entity.updated_at)
    return data


def searchable(*parts: str | None) -> str:
    return search_key(" ".join(p or "" for p in parts))
