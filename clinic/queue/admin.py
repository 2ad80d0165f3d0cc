"""Configuring queues (display boards: :mod:`clinic.queue.boards`)."""

from __future__ import annotations

import re
from datetime import date, time
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, joinedload

from clinic.accounts.access import doctor_access_changed
from clinic.base import CLINIC_TZ, clock_text, is_id
from clinic.db import TZ_KEY
from clinic.errors import Conflict, ValidationFailed
from clinic.events import record_events
from clinic.queue import days as queue_days
from clinic.queue import events as queue_events
from clinic.queue import in_use, limits
from clinic.queue.models import DEFAULT_CLOSES_AT, Queue, QueueDay
from clinic.queue.reference_checks import room_serves
from clinic.queue.tickets import board_channel, staff_channel
from clinic.reference.editing import LOOKALIKES, one_at_a_time
from clinic.reference.listeners import on_change
from clinic.reference.models import Department, Doctor, Room

PREFIX_RE = re.compile(rf"^[A-ZА-ЯЁЎҚҒҲ]{{1,{limits.PREFIX_MAX}}}$")
CODE_RE = re.compile(rf"^[a-z0-9][a-z0-9_-]{{0,{limits.QUEUE_CODE_MAX - 1}}}$")
QUEUE_FIELDS = (
    "code",
    "department_id",
    "doctor_id",
    "room_id",
    "prefix",
    "start_number",
    "online_from",
    "online_until",
    "online_daily_limit",
    "pay_before_doctor",
    "closes_at",
    "close_action",
    "default_service_minutes",
    "active",
)

RANGES = (
    ("start_number", 1, limits.START_NUMBER_MAX),
    ("online_daily_limit", 0, limits.ONLINE_DAILY_LIMIT_MAX),
    ("default_service_minutes", 1, limits.SERVICE_MINUTES_MAX),
)


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def queue_as_dict(queue: Queue) -> dict:
    department = queue.department
    return _queue_dict(
        queue,
        {
            "code": department.code,
            "name_ru": department.name_ru,
            "name_uz": department.name_uz,
            "name_en": department.name_en,
        },
        queue.doctor.full_name if queue.doctor else None,
        queue.room.number if queue.room else None,
    )


def _queue_dict(queue, department: dict, doctor: str | None, room: str | None) -> dict:
    """A queue as the API shows it, from a loaded queue or a row of its columns."""
    return {
        "id": queue.id,
        "code": queue.code,
        "department_id": queue.department_id,
        "department": department,
        "doctor_id": queue.doctor_id,
        "doctor": doctor,
        "room_id": queue.room_id,
        "room": room,
        "prefix": queue.prefix,
        "start_number": queue.start_number,
        "online_from": clock_text(queue.online_from),
        "online_until": clock_text(queue.online_until),
        "online_daily_limit": queue.online_daily_limit,
        "pay_before_doctor": queue.pay_before_doctor,
        "closes_at": clock_text(queue.closes_at),
        "close_action": queue.close_action,
        "default_service_minutes": queue.default_service_minutes,
        "active": queue.active,
    }


def _check(session: Session, values: dict, current: Queue | None) -> None:
    errors: dict[str, list[str]] = {}
    code = values.get("code")
    if code is not None and not CODE_RE.match(code):
        errors["code"] = [
            f"lower-case Latin letters, digits, - and _ (up to {limits.QUEUE_CODE_MAX})"
        ]
    elif code is not None:
        taken = session.scalar(select(Queue.id).where(Queue.code == code))
        if taken is not None and (current is None or taken != current.id):
            raise Conflict("queue code taken", errors={"code": ["is already used"]})
    prefix = values.get("prefix")
    if "prefix" in values and not (isinstance(prefix, str) and PREFIX_RE.match(prefix)):
        errors["prefix"] = [f"1-{limits.PREFIX_MAX} capital letters"]
    for field, model in (("department_id", Department), ("doctor_id", Doctor), ("room_id", Room)):
        value = values.get(field)
        # Read locked: a department or room being switched off or moved at this moment (its
        # row locked while its queues are checked) is seen as it ends up.
        row = (
            session.get(model, value, with_for_update={"read": True}, populate_existing=True)
            if is_id(value)
            else None
        )
        if value is not None and row is None:
            errors[field] = [f"no such {field[:-3]}"]
        elif row is not None and not row.active:
            # Deactivated rows are hidden from new choices (docs/reference-data.md).
            errors[field] = [f"the {field[:-3]} is deactivated"]
    if not errors:
        errors.update(_of_other_department(session, values, current))
    for field, low, high in RANGES:
        value = values.get(field)
        if value is not None and (not _whole(value) or not low <= value <= high):
            errors[field] = [f"a whole number from {low} to {high}"]
    for field in ("online_from", "online_until", "closes_at"):
        # Clinic times are wall-clock times in the clinic's zone: an offset has no meaning here
        # (and an aware time cannot be compared with the stored naive one).
        value = values.get(field)
        if value is not None and (not isinstance(value, time) or value.tzinfo is not None):
            errors[field] = ["a clinic time such as 08:30, without a UTC offset"]
    if values.get("closes_at") == time(0):
        # 00:00 is the clinic day's first minute: a queue closing then would never open.
        errors["closes_at"] = ["00:00 is the start of the day; write 24:00 to close at midnight"]
    if errors:
        raise ValidationFailed("the queue settings are not valid", errors=errors)
    start, until = values.get("online_from"), values.get("online_until")
    if (start is None) != (until is None):
        errors["online_until"] = ["give both ends of the online window, or neither"]
    elif start is not None and start >= until:
        errors["online_until"] = ["must be after online_from"]
    elif until is not None and until > (values.get("closes_at") or DEFAULT_CLOSES_AT):
        # A patient joining after closing would get a ticket the closing task ends at once.
        errors["online_until"] = ["must not be after closes_at"]
    if values.get("close_action") not in (None, *limits.CLOSE_ACTIONS):
        errors["close_action"] = ["no_show or cancel"]
    if errors:
        raise ValidationFailed("the queue settings are not valid", errors=errors)


def _of_other_department(session: Session, values: dict, current: Queue | None) -> dict:
    """A queue's room is of its department, unless the room is shared (no department): a
    queue of one department calling into another's room is a typing mistake its doctors
    would call patients into all day. (A doctor may stand in for another department.)"""
    named = ("department_id", "room_id")
    if not any(field in values for field in named):
        return {}
    chosen = {
        field: values[field] if field in values else getattr(current, field, None)
        for field in named
    }
    errors = {}
    room = session.get(Room, chosen["room_id"]) if chosen["room_id"] else None
    if room is not None and not room_serves(room.department_id, chosen["department_id"]):
        errors["room_id"] = ["a room of another department"]
    return errors


def _check_prefix_free(session: Session, prefix: str, current: Queue | None, *, given: bool):
    """A Conflict when an active queue (other than ``current``) numbers its tickets with
    ``prefix``, or with letters that read the same on a board ("К" and "K"): two "T-001" of
    one day would send two patients to one call. A switched-off queue issues nothing, so its
    prefix may be taken; it is switched on again only with a free one. Two admins saving
    queues at once are checked one after the other: both would find the prefix free."""
    one_at_a_time(session, "queue prefixes")
    looks = prefix.translate(LOOKALIKES)
    rows = session.execute(
        select(Queue.id, Queue.code, Queue.prefix).where(Queue.active.is_(True)).order_by(Queue.id)
    )
    for other_id, other_code, other_prefix in rows:
        if (current is not None and other_id == current.id) or (
            other_prefix.translate(LOOKALIKES) != looks
        ):
            continue
        if other_prefix != prefix:
            message = f"{prefix} looks the same as {other_prefix}, used by queue {other_code}"
        else:
            message = f"{prefix} is used by queue {other_code}"
        if not given:
            # The department's prefix, taken by its first queue: a second queue needs its own
            # letters, chosen by the staff who will read them on the board, not made up here.
            message = f"the department's prefix {message}: give this queue a prefix of its own"
        raise Conflict("queue prefix taken", errors={"prefix": [message]})


def create_queue(session: Session, data: dict) -> Queue:
    values = {k: data[k] for k in QUEUE_FIELDS if k in data}
    given = "prefix" in values
    if not given and values.get("department_id") is not None:
        department = session.get(Department, values["department_id"])
        if department is not None:
            values["prefix"] = department.ticket_prefix
    missing = [f for f in ("code", "department_id") if values.get(f) is None]
    if missing:
        raise ValidationFailed("required", errors={f: ["required"] for f in missing})
    _check(session, values, None)
    if values.get("active", True):
        _check_prefix_free(session, values["prefix"], None, given=given)
    queue = Queue(**values)
    session.add(queue)
    session.flush()
    if queue.active:
        # The desks and kiosks open all day show it without a reload, with its commit.
        data = {"queue_id": queue.id}
        record_events(session, [(queue_events.QUEUES_CHANNEL, queue_events.CREATED.name, data)])
    return queue


def update_queue(session: Session, queue: Queue, data: dict) -> Queue:
    values = {k: data[k] for k in QUEUE_FIELDS if k in data}
    merged = {
        k: values.get(k, getattr(queue, k)) for k in ("online_from", "online_until", "closes_at")
    }
    switched_on = values.get("active") is True and not queue.active
    switched_off = values.get("active") is False and queue.active
    # Switched on again, a queue is checked as it will stand: its room may have been closed
    # or moved to another department, or its doctor may have left, while it was off. (Its
    # other settings are still edited while it runs on a row deactivated since.)
    kept = {k: getattr(queue, k) for k in ("department_id", "doctor_id", "room_id")}
    _check(session, {**(kept if switched_on else {}), **values, **merged}, queue)
    in_use.check_in_use(session, queue, values)
    prefix = values.get("prefix", queue.prefix)
    if values.get("active", queue.active) and (switched_on or prefix != queue.prefix):
        _check_prefix_free(session, prefix, queue, given=True)
    moved = [k for k in _OWNERS if values.get(k, getattr(queue, k)) != getattr(queue, k)]
    redrawn = any(values.get(k, getattr(queue, k)) != getattr(queue, k) for k in _SHOWN)
    readers = _doctors_of(session, queue) if moved else set()
    if moved:
        owners = {k: values.get(k, getattr(queue, k)) for k in _OWNERS}
        losing = readers - _owners(session, owners["doctor_id"], owners["department_id"])
        in_use.check_owners_keep_patients(session, queue, losing, moved)
    for key, value in values.items():
        setattr(queue, key, value)
    session.flush()
    # Today's day closed by a closing time set too early works again once it is put back.
    reopened = "closes_at" in values and queue_days.reopen_today(
        session, queue, tz=_clinic_tz(session)
    )
    # A doctor's screen stops showing a queue that is no longer his at once (and one that has
    # become his may be followed), not at the sockets' next periodic check.
    for doctor_id in sorted(readers ^ _doctors_of(session, queue)) if moved else ():
        doctor_access_changed(session, doctor_id)
    if switched_on or switched_off:
        _announce_switch(session, queue)
    elif (redrawn or reopened) and queue.active:
        announce_changed(session, [queue.id])
    return queue


# What the screens show of a queue besides its tickets: its name (its department's, and its
# doctor's for a doctor's queue), its room and its prefix.
_SHOWN = ("department_id", "doctor_id", "room_id", "prefix")


def announce_changed(session: Session, queue_ids) -> None:
    """Tell the screens following each queue (the desk, the doctor, the kiosk, the boards)
    and those listing the queues that what they show of it changed, with the change's own
    commit."""
    events = []
    for queue_id in queue_ids:
        data = {"queue_id": queue_id}
        for channel in (staff_channel(queue_id), board_channel(queue_id)):
            events.append((channel, queue_events.CHANGED.name, data))
        events.append((queue_events.QUEUES_CHANNEL, queue_events.CHANGED.name, data))
    record_events(session, events)


# A reference entity's field that a queue's name or card shows, by the queue's column naming it.
_NAMED_BY = {
    "department": ("department_id", {"name_ru", "name_uz", "name_en"}),
    "doctor": ("doctor_id", {"full_name"}),
    "room": ("room_id", {"number"}),
}


@on_change
def _queues_renamed(session: Session, kind: str, entity, changed: frozenset) -> None:
    """A department, doctor or room renamed: the running queues showing it are redrawn."""
    column, shown = _NAMED_BY.get(kind, (None, set()))
    if column is None or not changed & shown:
        return
    queue_ids = session.scalars(
        select(Queue.id)
        .where(getattr(Queue, column) == entity.id, Queue.active.is_(True))
        .order_by(Queue.id)
    ).all()
    if queue_ids:
        announce_changed(session, queue_ids)


def _announce_switch(session: Session, queue: Queue) -> None:
    """Tell the screens following the queue (the desk and the doctor on its staff channel,
    the kiosk and the boards on its board channel) that it was switched off or on again, and
    the screens listing the queues (the desk, the kiosk: a queue switched on that they do not
    show yet), with the change's own commit."""
    event = queue_events.SWITCHED_ON if queue.active else queue_events.SWITCHED_OFF
    data = {"queue_id": queue.id}
    channels = (staff_channel(queue.id), board_channel(queue.id), queue_events.QUEUES_CHANNEL)
    record_events(session, [(channel, event.name, data) for channel in channels])


_OWNERS = ("doctor_id", "department_id")


def _doctors_of(session: Session, queue: Queue) -> set[int]:
    """The doctors whose own queue this is (clinic.queue.access): its doctor, or, a shared
    one, every doctor of its department."""
    return _owners(session, queue.doctor_id, queue.department_id)


def _owners(session: Session, doctor_id: int | None, department_id: int) -> set[int]:
    """The doctors whose own a queue of ``doctor_id`` and ``department_id`` is."""
    if doctor_id is not None:
        return {doctor_id}
    return set(session.scalars(select(Doctor.id).where(Doctor.department_id == department_id)))


def _clinic_tz(session: Session) -> ZoneInfo:
    """The clinic's zone, as the process set it on its sessions."""
    return session.info.get(TZ_KEY) or CLINIC_TZ


# Built once: the desk and doctor pages list the queues all day. One statement for the list
# and what each queue shows of its department, doctor and room.
_QUEUES = (
    select(Queue)
    .options(joinedload(Queue.department), joinedload(Queue.doctor), joinedload(Queue.room))
    .order_by(Queue.code)
)
_ACTIVE_QUEUES = _QUEUES.where(Queue.active.is_(True))


def list_queues(session: Session, *, active_only: bool = True) -> list[Queue]:
    return list(session.scalars(_ACTIVE_QUEUES if active_only else _QUEUES))


# The active queues as the list shows them, with the waiting count of one clinic day: one
# statement of plain columns, read without building objects (the desk and doctor pages ask
# for the list all day).
_ACTIVE_QUEUE_ROWS = (
    select(
        Queue.__table__.c.id,
        *(Queue.__table__.c[name] for name in QUEUE_FIELDS),
        Department.code.label("department_code"),
        Department.name_ru.label("department_name_ru"),
        Department.name_uz.label("department_name_uz"),
        Department.name_en.label("department_name_en"),
        Doctor.full_name.label("doctor_name"),
        Room.number.label("room_number"),
        func.coalesce(QueueDay.waiting, 0).label("waiting"),
    )
    .join(Department, Department.id == Queue.department_id)
    .outerjoin(Doctor, Doctor.id == Queue.doctor_id)
    .outerjoin(Room, Room.id == Queue.room_id)
    .outerjoin(QueueDay, (QueueDay.queue_id == Queue.id) & (QueueDay.day == bindparam("on_day")))
    .where(Queue.active.is_(True))
    .order_by(Queue.code)
)


def active_queues_waiting(session: Session, day: date) -> list[dict]:
    """Each active queue as :func:`queue_as_dict` shows it, with how many wait in it on
    ``day`` (``waiting``: none before its first ticket)."""
    return [
        {
            **_queue_dict(
                row,
                {
                    "code": row.department_code,
                    "name_ru": row.department_name_ru,
                    "name_uz": row.department_name_uz,
                    "name_en": row.department_name_en,
                },
                row.doctor_name,
                row.room_number,
            ),
            "waiting": row.waiting,
        }
        for row in session.connection().execute(_ACTIVE_QUEUE_ROWS, {"on_day": day})
    ]
