"""Doctors' schedules: the weekly template and the working shifts of a date (the exceptions,
days away and holidays, are kept in :mod:`clinic.visits.exceptions` and named here too).

The template is written in clinic wall-clock time (``CLINIC_TZ``). A date's shift is turned
into UTC instants once, at its edges, and slots are then counted in real minutes from the
shift's start: on a daylight-saving change a 01:00-04:00 shift lasts two or four hours, as
the clock on the wall says, and a day never gains or loses an hour by arithmetic on local
times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from clinic.base import END_OF_DAY, clock_text, is_id
from clinic.errors import ValidationFailed
from clinic.reference.models import Doctor, Room
from clinic.visits.doctors import announce_change, get_doctor, lock_for_change
from clinic.visits.exceptions import (  # noqa: F401 - the calendar's names, as before
    add_exception,
    away_on,
    exception_as_dict,
    exceptions_ahead,
    exceptions_between,
    remove_exception,
)
from clinic.visits.models import ScheduleException, WorkingHours

# ASCII digits only (``\d`` also takes "٠٩" and "０９"), and nothing after the minutes.
HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
MAX_RANGE_DAYS = 62
# Hours may end at "24:00", the end of the clinic day (clinic.base.END_OF_DAY), so a shift
# that works until midnight keeps its last slot.


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``at`` on ``day`` in the clinic's zone.

    A time skipped by a spring-forward change (02:30 in Berlin on the last Sunday of March)
    is read with the offset before the change, as zoneinfo does (fold=0), i.e. it lands on
    the first real instant after the gap.
    """
    return datetime.combine(day, at, tzinfo=tz).astimezone(timezone.utc)


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The clinic day's first instant and the next day's first instant, in UTC."""
    return local_instant(day, time(0), tz), local_instant(day + timedelta(days=1), time(0), tz)


def _hhmm(value, name: str, errors: dict, *, end: bool = False) -> time | None:
    if isinstance(value, str) and HHMM.fullmatch(value):
        return time(int(value[:2]), int(value[3:]))
    if end and value == "24:00":
        return END_OF_DAY
    errors.setdefault(name, []).append("a time as HH:MM")
    return None


def _number(row: dict, name: str, default: int, low: int, high: int, errors: dict) -> int:
    value = row.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors.setdefault(name, []).append(f"a whole number from {low} to {high}")
        return default
    return value


def _room_errors(session: Session, room_id, doctor: Doctor) -> list[str]:
    """Why a week's row may not name ``room_id``: a room that does not exist, is no longer
    used (deactivated rows are hidden from new choices, docs/reference-data.md), or belongs
    to another department than the doctor's. A shared room (no department) serves anyone,
    as it does for a queue (clinic/queue/admin.py)."""
    room = session.get(Room, room_id) if is_id(room_id) else None
    if room is None:
        return ["no such room"]
    if not room.active:
        return ["the room is deactivated"]
    if room.department_id not in (None, doctor.department_id):
        return ["a room of another department"]
    return []


def _hours_values(session: Session, row, index: int, doctor: Doctor) -> tuple[dict, dict]:
    errors: dict[str, list[str]] = {}
    if not isinstance(row, dict):
        return {}, {f"days.{index}": ["an object"]}
    weekday = _number(row, "weekday", -1, 0, 6, errors)
    starts = _hhmm(row.get("starts"), "starts", errors)
    ends = _hhmm(row.get("ends"), "ends", errors, end=True)
    if starts and ends and starts >= ends:
        errors.setdefault("ends", []).append("after starts")
    breaks = []
    raw_breaks = row.get("breaks", [])
    if not isinstance(raw_breaks, list) or len(raw_breaks) > 10:
        errors.setdefault("breaks", []).append('a list of ["HH:MM", "HH:MM"]')
        raw_breaks = []
    for pair in raw_breaks:
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
            errors.setdefault("breaks", []).append('each break is ["HH:MM", "HH:MM"]')
            continue
        b_from, b_to = _hhmm(pair[0], "breaks", errors), _hhmm(pair[1], "breaks", errors)
        if b_from and b_to and starts and ends:
            if not starts <= b_from < b_to <= ends:
                errors.setdefault("breaks", []).append("each break lies inside the hours")
            else:
                breaks.append([f"{b_from:%H:%M}", f"{b_to:%H:%M}"])
    if any(a[1] > b[0] for a, b in zip(sorted(breaks), sorted(breaks)[1:])):
        errors.setdefault("breaks", []).append("breaks do not overlap")
    slot = _number(row, "slot_minutes", 20, 5, 480, errors)
    if (
        starts
        and ends
        and starts < ends
        and not errors
        and not _fits_a_slot(starts, ends, breaks, slot)
    ):
        # Hours that offer no slot at all: a typing mistake (09:00-09:10 with 20 minutes, a
        # break over the whole day), not a day the doctor works.
        errors.setdefault("slot_minutes", []).append(
            "no slot of that length fits the hours between their breaks"
        )
    capacity = _number(row, "capacity", 1, 1, 20, errors)
    room_id = row.get("room_id")
    if room_id is not None and (room_errors := _room_errors(session, room_id, doctor)):
        errors.setdefault("room_id", []).extend(room_errors)
    prefixed = {f"days.{index}.{k}": v for k, v in errors.items()}
    values = dict(
        weekday=weekday,
        starts=starts,
        ends=ends,
        breaks=breaks,
        slot_minutes=slot,
        capacity=capacity,
        room_id=room_id,
    )
    return values, prefixed


def _fits_a_slot(starts: time, ends: time, breaks: list, slot: int) -> bool:
    """Whether a slot of ``slot`` minutes fits between the start, the breaks and the end (the
    slots' grid starts again after each break, as :meth:`Shift.slots` lays them)."""

    def minute(at) -> int:
        if isinstance(at, str):
            at = time.fromisoformat(at) if at != "24:00" else END_OF_DAY
        return 24 * 60 if at == END_OF_DAY else at.hour * 60 + at.minute

    free_from = minute(starts)
    for b_from, b_to in sorted(breaks):
        if minute(b_from) - free_from >= slot:
            return True
        free_from = max(free_from, minute(b_to))
    return minute(ends) - free_from >= slot


def _wall(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The instant of template time ``at`` on ``day``; 24:00 is the next day's 00:00."""
    if at == END_OF_DAY:
        return local_instant(day + timedelta(days=1), time(0), tz)
    return local_instant(day, at, tz)


def _valid_rows(session: Session, doctor: Doctor, days, name: str = "days") -> list[dict]:
    """The rows' values, or a 422 naming each wrong field (``<name>.<index>.<field>``)."""
    if not isinstance(days, list) or len(days) > 50:
        raise ValidationFailed(f"{name} is a list", errors={name: ["a list of at most 50 rows"]})
    rows, errors = [], {}
    for index, row in enumerate(days):
        values, row_errors = _hours_values(session, row, index, doctor)
        errors.update({name + key[len("days") :]: v for key, v in row_errors.items()})
        rows.append(values)
    # An overlap is said at the later row's starts (``days.2.starts``), naming the earlier
    # row: the form marks the row to correct, not the whole week.
    timed = [(i, r) for i, r in enumerate(rows) if r.get("starts") and r.get("ends")]
    for n, (i, a) in enumerate(timed):
        for j, b in timed[n + 1 :]:
            if a["weekday"] == b["weekday"] and a["starts"] < b["ends"] and b["starts"] < a["ends"]:
                errors.setdefault(f"{name}.{j}.starts", []).append(
                    f"overlaps row {i} of the same weekday"
                )
    if errors:
        raise ValidationFailed("the schedule is not valid", errors=errors)
    return rows


def set_week(session: Session, doctor_id: int, days) -> list[WorkingHours]:
    """Replace the doctor's weekly template; a weekday may have several rows (two shifts).
    The hours of single dates (:func:`set_date_hours`) stay as they are."""
    doctor = get_doctor(session, doctor_id)
    # Two saves of one doctor's week at once (a double click) run one after the other:
    # otherwise each deletes only the rows it saw and both weeks stay, doubled.
    lock_for_change(session, doctor_id)
    rows = _valid_rows(session, doctor, days)
    session.execute(
        delete(WorkingHours).where(WorkingHours.doctor_id == doctor_id, WorkingHours.day.is_(None))
    )
    made = [WorkingHours(doctor_id=doctor_id, **values) for values in rows]
    session.add_all(made)
    session.flush()
    announce_change(session, doctor, "week")
    return made


def set_date_hours(
    session: Session, doctor_id: int, day: date, hours, *, today: date
) -> list[WorkingHours]:
    """The doctor's hours on ``day`` alone, in place of his week's for that weekday (another
    shift, a morning away); none (an empty list): the date follows the week again. A day
    already over keeps its record."""
    doctor = get_doctor(session, doctor_id)
    if day < today:
        raise ValidationFailed("the day is over", errors={"day": ["today or a later day"]})
    lock_for_change(session, doctor_id)
    if isinstance(hours, list):
        # The date names the weekday; a row of the week's shape says it again, or another.
        hours = [{**row, "weekday": day.weekday()} if isinstance(row, dict) else row
                 for row in hours]  # fmt: skip
    rows = _valid_rows(session, doctor, hours, "hours")
    session.execute(
        delete(WorkingHours).where(WorkingHours.doctor_id == doctor_id, WorkingHours.day == day)
    )
    made = [WorkingHours(doctor_id=doctor_id, day=day, **values) for values in rows]
    session.add_all(made)
    session.flush()
    announce_change(session, doctor, "hours", day, day)
    return made


def week_of(session: Session, doctor_id: int) -> list[WorkingHours]:
    return list(
        session.scalars(
            select(WorkingHours)
            .where(WorkingHours.doctor_id == doctor_id, WorkingHours.day.is_(None))
            .order_by(WorkingHours.weekday, WorkingHours.starts)
        )
    )


def dates_ahead(session: Session, doctor_id: int, today: date) -> list[WorkingHours]:
    """The doctor's hours of single dates, today's and later, in order."""
    return list(
        session.scalars(
            select(WorkingHours)
            .where(WorkingHours.doctor_id == doctor_id, WorkingHours.day >= today)
            .order_by(WorkingHours.day, WorkingHours.starts)
            .limit(500)
        )
    )


def hours_as_dict(row: WorkingHours) -> dict:
    """A row of the week (its weekday), or of a single date (its day)."""
    return {
        **({"weekday": row.weekday} if row.day is None else {"day": row.day.isoformat()}),
        "starts": f"{row.starts:%H:%M}",
        "ends": clock_text(row.ends),
        "breaks": row.breaks or [],
        "slot_minutes": row.slot_minutes,
        "capacity": row.capacity,
        "room_id": row.room_id,
    }


@dataclass
class Shift:
    """One doctor's working stretch on one date, as UTC instants, breaks cut out."""

    doctor_id: int
    day: date
    starts: datetime
    ends: datetime
    slot_minutes: int
    capacity: int
    room_id: int | None
    breaks: list[tuple[datetime, datetime]] = field(default_factory=list)

    def slots(self) -> list[tuple[datetime, datetime]]:
        """The shift's slots in real time, none overlapping a break."""
        step = timedelta(minutes=self.slot_minutes)
        out, start = [], self.starts
        while start + step <= self.ends:
            end = start + step
            clash = next((b for b in self.breaks if start < b[1] and b[0] < end), None)
            if clash is not None:
                start = clash[1]  # the grid starts again after the break
                continue
            out.append((start, end))
            start = end
        return out

    def length_for(self, minutes: int) -> timedelta:
        """Whole slots long enough for ``minutes`` of services (one slot for none)."""
        slot = self.slot_minutes
        return timedelta(minutes=-(-(minutes or slot) // slot) * slot)

    def covers(self, starts: datetime, ends: datetime) -> bool:
        """Whether [starts, ends) is inside the working time (not over a break)."""
        if not (self.starts <= starts and ends <= self.ends):
            return False
        return not any(starts < b[1] and b[0] < ends for b in self.breaks)


def shifts(
    hours: list[WorkingHours],
    exceptions: list[ScheduleException],
    first_day: date,
    last_day: date,
    tz: ZoneInfo,
) -> list[Shift]:
    """Every shift of these template rows from ``first_day`` to ``last_day`` (clinic dates),
    leaving out the days an exception covers. A doctor's rows of a single date replace his
    week's on that date."""
    by_weekday: dict[int, list[WorkingHours]] = {}
    by_date: dict[date, list[WorkingHours]] = {}
    for row in hours:
        if row.day is None:
            by_weekday.setdefault(row.weekday, []).append(row)
        else:
            by_date.setdefault(row.day, []).append(row)
    out = []
    day = first_day
    while day <= last_day:
        dated = by_date.get(day, [])
        own = {r.doctor_id for r in dated}
        week = [r for r in by_weekday.get(day.weekday(), ()) if r.doctor_id not in own]
        for row in week + dated:
            if away_on(exceptions, row.doctor_id, day):
                continue
            out.append(
                Shift(
                    doctor_id=row.doctor_id,
                    day=day,
                    starts=local_instant(day, row.starts, tz),
                    ends=_wall(day, row.ends, tz),
                    slot_minutes=row.slot_minutes,
                    capacity=row.capacity,
                    room_id=row.room_id,
                    breaks=[
                        (
                            local_instant(day, time.fromisoformat(a), tz),
                            local_instant(day, time.fromisoformat(b), tz),
                        )
                        for a, b in (row.breaks or [])
                    ],
                )
            )
        day += timedelta(days=1)
    return out


def in_hours(
    hours: list[WorkingHours], doctor_id: int, starts: datetime, ends: datetime, tz: ZoneInfo
) -> bool:
    """Whether a shift of the doctor's ``hours`` (his week's, or the date's own) covers
    [starts, ends): a visit booked inside them is left outside when they are cut short."""
    day = starts.astimezone(tz).date()
    own = [row for row in hours if row.doctor_id == doctor_id]
    return any(shift.covers(starts, ends) for shift in shifts(own, [], day, day, tz))


def working_rooms(session: Session, room_ids) -> set[int]:
    """Those of ``room_ids`` still in use (not deactivated)."""
    ids = {i for i in room_ids if i is not None}
    if not ids:
        return set()
    return set(session.scalars(select(Room.id).where(Room.id.in_(ids), Room.active.is_(True))))


def visit_room(shift: Shift, doctor: Doctor, working: set[int]) -> int | None:
    """The room a visit of ``shift`` is booked into: the shift's, else the doctor's own, else
    none. A room deactivated after the week was saved is passed over: the patient would be
    sent to a closed door (``working``: :func:`working_rooms` of both)."""
    for room_id in (shift.room_id, doctor.room_id):
        if room_id in working:
            return room_id
    return None


def hours_for(session: Session, doctor_ids) -> list[WorkingHours]:
    return list(
        session.scalars(select(WorkingHours).where(WorkingHours.doctor_id.in_(list(doctor_ids))))
    )


def check_range(first_day: date, last_day: date) -> None:
    if first_day > last_day:
        raise ValidationFailed("the range is empty", errors={"to": ["on or after from"]})
    if (last_day - first_day).days >= MAX_RANGE_DAYS:
        raise ValidationFailed(
            "the range is too long", errors={"to": [f"at most {MAX_RANGE_DAYS} days after from"]}
        )
