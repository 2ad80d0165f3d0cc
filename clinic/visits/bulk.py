"""Bulk move: the doctor is away for some days, and a job moves every visit he had then.

Each visit goes to the free slot nearest its old time: the same doctor's first (outside the
days he is away), then a colleague's of the same department who offers the visit's
services. The search covers the away days and ``search_days`` after them. Visits are moved
in batches, each one transaction that also saves the job's progress, so a job picked up
again after a crash goes on from the last committed batch. Every move is checked and held
like a booking (the exclusion constraints decide); a visit that fits nowhere stays where it
is and is listed for the registrar to call the patient.
"""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clinic import jobs
from clinic.base import is_id, iso, utcnow
from clinic.errors import Conflict, DomainError, NotFound, ValidationFailed
from clinic.jobs.models import Job, JobStatus
from clinic.reference.models import Doctor, Service
from clinic.visits import notify, schedules, slots
from clinic.visits import visits as v
from clinic.visits.booking import inactive_doctor
from clinic.visits.bulk_notices import write_notices, write_unplaced_notices
from clinic.visits.events import Conflicts as Codes
from clinic.visits.events import VisitStatus
from clinic.visits.models import ScheduleException, Visit
from clinic.visits.rescheduling import QUEUE, move_visit
from clinic.visits.schedules import MAX_RANGE_DAYS
from clinic.visits.told_last import calendars_told_last

TASK_NAME = "visits.bulk_move"
JOB_KIND = "visits.bulk_move"
# A doctor's absence moves many patients' visits: for those who may move visits.
jobs.followed_with(JOB_KIND, "visits.reschedule")
MAX_SEARCH_DAYS = 31


def start_bulk_move(
    session: Session,
    doctor_id: int,
    *,
    kind: str,
    first_day: date,
    last_day: date,
    note: str = "",
    search_days: int = 14,
    to_doctor_id: int | None = None,
    actor: str = "",
    today: date | None = None,
) -> tuple[ScheduleException, jobs.Job]:
    """Mark the doctor away and create the job that moves his visits (dispatch after
    commit): to the colleague covering for him (``to_doctor_id``), or to the nearest free
    slots."""
    if not is_id(doctor_id) or session.get(Doctor, doctor_id) is None:
        # Before any statement names it: an id no column holds is no doctor, not a value
        # the database refuses.
        raise NotFound(
            f"doctor {doctor_id} does not exist", errors={"doctor_id": ["no such doctor"]}
        )
    if to_doctor_id is not None:
        _check_covering(session, doctor_id, to_doctor_id)
    if not 0 <= search_days <= MAX_SEARCH_DAYS:
        raise ValidationFailed(
            "search_days", errors={"search_days": [f"from 0 to {MAX_SEARCH_DAYS}"]}
        )
    if first_day <= last_day and (last_day - first_day).days + search_days >= MAX_RANGE_DAYS:
        # The job searches the away days and search_days after them in one free-slot search.
        raise ValidationFailed(
            "the search is too long",
            errors={
                "last_day": [f"the away days and search_days cover at most {MAX_RANGE_DAYS} days"]
            },
        )
    # Days over (refused by add_exception, at last_day) have no visit left to move.
    over = today is not None and last_day < today
    away = None if over else _declared(session, doctor_id, kind, first_day, last_day)
    if away is None:
        away = schedules.add_exception(
            session,
            kind=kind,
            first_day=first_day,
            last_day=last_day,
            doctor_id=doctor_id,
            note=note,
            actor=actor,
            today=today,
        )
    else:
        _refuse_a_second_move(session, away)
    job = jobs.create_job(
        session, kind=JOB_KIND, task_name=TASK_NAME, queue=QUEUE, created_by=actor or None
    )
    job.state = {
        "exception_id": away.id,
        "doctor_id": doctor_id,
        "first_day": first_day.isoformat(),
        "last_day": last_day.isoformat(),
        "search_days": search_days,
        "to_doctor_id": to_doctor_id,
        # The history says who moved the visits and why, whoever declared the days.
        "actor": actor,
        "reason": f"{kind}: {note or away.note}".strip(": "),
        "moved": [],
        "unplaced": [],
        "total": None,
    }
    session.flush()
    return away, job


def _check_covering(session: Session, doctor_id: int, to_doctor_id) -> None:
    covering = session.get(Doctor, to_doctor_id) if is_id(to_doctor_id) else None
    if covering is None:
        raise NotFound("no such doctor", errors={"to_doctor_id": ["no such doctor"]})
    if covering.id == doctor_id:
        raise ValidationFailed(
            "the doctor away covers for nobody",
            errors={"to_doctor_id": ["another doctor than the one away"]},
        )
    if not covering.active:
        raise inactive_doctor("to_doctor_id")


def _declared(
    session: Session, doctor_id: int, kind: str, first_day: date, last_day: date
) -> ScheduleException | None:
    """The doctor's absence already declared over all these days (of this kind first), locked:
    a sick day the registrar entered before the visits are moved is the one they move off."""
    if first_day > last_day:
        return None  # refused by add_exception, field by field
    rows = session.scalars(
        select(ScheduleException)
        .where(
            ScheduleException.doctor_id == doctor_id,
            ScheduleException.first_day <= first_day,
            ScheduleException.last_day >= last_day,
        )
        .order_by(ScheduleException.id)
        .with_for_update()
    ).all()
    return min(rows, key=lambda row: row.kind != kind, default=None)


def _refuse_a_second_move(session: Session, away: ScheduleException) -> None:
    """One bulk move at a time per absence (the row is locked): two would move one visit
    twice and tell its patient twice. A finished one leaves the way open (more search days)."""
    for job in session.scalars(
        select(Job).where(Job.kind == JOB_KIND, Job.status.not_in(JobStatus.FINISHED))
    ):
        if (job.state or {}).get("exception_id") == away.id:
            detail = f"the visits of these days are being moved already (job {job.id})"
            raise Conflict(detail, code="already_moving", errors={"first_day": [detail]})


def _days(state: dict, away: ScheduleException) -> tuple[date, date]:
    """The days the job moves visits off: those asked for, which an absence declared before
    may outlast (a job started before they were kept: the absence's)."""
    if "first_day" not in state:
        return away.first_day, away.last_day
    return date.fromisoformat(state["first_day"]), date.fromisoformat(state["last_day"])


def _affected(
    session: Session, state: dict, away: ScheduleException, tz: ZoneInfo, skip: set[int],
    now: datetime, only: int | None = None,
) -> list[Visit]:  # fmt: skip
    # From the start of today, not from now: a patient already waiting for him (arrived), or
    # late for a visit of this morning, is moved too, not left in the queue of a doctor who
    # has gone home. Days already over stay as they were.
    first_day, last_day = _days(state, away)
    first = schedules.day_bounds(max(first_day, now.astimezone(tz).date()), tz)[0]
    after = schedules.day_bounds(last_day, tz)[1]
    rows = session.scalars(
        select(Visit)
        .where(
            Visit.doctor_id == away.doctor_id,
            Visit.status.in_(VisitStatus.MOVABLE),
            Visit.starts_at >= first,
            Visit.starts_at < after,
            *([Visit.id == only] if only is not None else []),
        )
        .order_by(Visit.starts_at, Visit.id)
    ).all()
    return [visit for visit in rows if visit.id not in skip]


class SlotPool:
    """The free slots of a batch's search, used up as visits are placed into them."""

    def __init__(self, found: list[dict]) -> None:
        self.slots = [dict(s) for s in found]
        self.at = {(s["doctor_id"], s["starts_at"]): s for s in self.slots}

    def run(self, slot: dict, minutes: int) -> list[dict] | None:
        """The slots a visit of ``minutes`` starting at ``slot`` takes (one for none), when
        every one of them is free: a visit longer than a slot needs the next ones too."""
        step = slot["ends_at"] - slot["starts_at"]
        count = _length_at(slot, minutes) // step
        run = [self.at.get((slot["doctor_id"], slot["starts_at"] + i * step)) for i in range(count)]
        return run if all(s is not None and s["free"] > 0 for s in run) else None

    def nearest(self, to: datetime, accept, minutes: int = 0) -> list[dict]:
        ranked = [s for s in self.slots if accept(s) and self.run(s, minutes)]
        return sorted(ranked, key=lambda s: (abs(s["starts_at"] - to), s["starts_at"]))

    def take(self, slot: dict, minutes: int = 0) -> None:
        for taken in self.run(slot, minutes) or [slot]:
            taken["free"] -= 1


def _length_at(slot: dict, minutes: int) -> timedelta:
    """How long a visit of ``minutes`` of services lasts from ``slot``: whole slots of that
    doctor's grid (one for none), as the move makes it, not the length it has now."""
    step = slot["ends_at"] - slot["starts_at"]
    return max(1, -(-timedelta(minutes=minutes) // step)) * step


def _move_one(
    session, visit, candidates, minutes, *, tz, actor, reason, now, job_id, seen
) -> dict | None:
    """Into the first of ``candidates`` (nearest first) the move takes, trying each in turn:
    the nearest few may all fall at times the patient is elsewhere, and a visit left unplaced
    while a free slot was there is a patient the registrar calls for nothing. ``seen``
    counts the candidates and those the patient is elsewhere at (why it stays unplaced)."""
    elsewhere = session.execute(
        select(Visit.starts_at, Visit.ends_at).where(
            Visit.patient_id == visit.patient_id,
            Visit.id != visit.id,
            Visit.status.in_(VisitStatus.HOLDING),
        )
    ).all()
    for slot in candidates:
        start = slot["starts_at"]
        seen["free"] += 1
        # A colleague's grid may make it shorter (or longer) than it is now: a 30-minute
        # visit in a 15-minute slot ends when his other visit begins.
        ends = start + _length_at(slot, minutes)
        if any(start < end and begins < ends for begins, end in elsewhere):
            seen["patient_busy"] += 1
            continue  # the patient is at another visit then: not worth a try
        try:
            with session.begin_nested():
                record = move_visit(
                    session,
                    visit,
                    starts_at=start,
                    doctor_id=slot["doctor_id"],
                    tz=tz,
                    # The clinic moves these visits, not the patient: they do not count
                    # against his limit.
                    max_moves=None,
                    actor=actor,
                    reason=reason,
                    now=now,
                    data={"job_id": job_id},
                )
        except DomainError as exc:
            session.refresh(visit)
            if exc.code == Codes.NOT_MOVABLE:
                return None  # no slot would take it
            if exc.code == Codes.PATIENT_BUSY:
                seen["patient_busy"] += 1  # he was booked then meanwhile
            continue  # it was taken meanwhile, or the patient booked then: the next one
        return {**record, "slot": slot}
    return None


def _unplaced_reason(seen: dict) -> str:
    """Why a visit stayed where it was, for the registrar who calls its patient: no free slot
    of the search fits it (a longer search may), the patient is at another visit at every
    one that does, or they were taken (or refused it) while the job ran."""
    if not seen["free"]:
        return "no_free_slot"
    return "patient_busy" if seen["patient_busy"] == seen["free"] else "taken"


def run_bulk_move(
    sessions: sessionmaker,
    job_id: str,
    *,
    tz: ZoneInfo,
    batch_size: int = 20,
    notifier: notify.Notifier | None = None,
    lease_seconds: int = 30,
    now: datetime | None = None,
) -> dict:
    """Move the affected visits batch by batch; returns the job's result. Once they are all
    moved (or the absence is taken back), each moved patient's notice is written, one listing
    all his visits the job moved, and sent through ``notifier``."""
    while True:
        with sessions() as session, session.begin():
            job = jobs.get_job(session, job_id)
            # A deep copy: the JSON column is saved only when its value compares different.
            state = copy.deepcopy(job.state or {})
            away = session.get(ScheduleException, state["exception_id"])
            if away is None:
                # The absence was taken back (declared by mistake) before the job was done:
                # what is moved stays moved, nothing more moves.
                result = _result(state, withdrawn=True)
            else:
                state.setdefault("doctor_id", away.doctor_id)  # a job started before it was kept
                moment = now or utcnow()
                done_ids = {m["visit_id"] for m in state["moved"]} | {
                    u["visit_id"] for u in state["unplaced"]
                }
                pending = _affected(session, state, away, tz, done_ids, moment)
                if state["total"] is None:
                    state["total"] = len(pending)
                result = None if pending else _result(state)
            if result is not None:
                # Written once (unique keys) however often the job runs; sent after commit.
                keys = write_notices(session, job_id, state["moved"], tz=tz)
                if not result["withdrawn"]:
                    keys += write_unplaced_notices(session, job_id, state["unplaced"], tz=tz)
            else:
                _move_batch(session, away, pending[:batch_size], state, tz=tz, now=moment,
                            job_id=job_id)  # fmt: skip
                done = len(state["moved"]) + len(state["unplaced"])
                jobs.save_progress(session, job, done=done, total=state["total"], state=state)
        if result is not None:
            if keys and notifier is not None:
                notify.send_notices(
                    sessions, notifier, keys=keys, lease_seconds=lease_seconds, tz=tz
                )
            return result


def _result(state: dict, *, withdrawn: bool = False) -> dict:
    done = len(state["moved"]) + len(state["unplaced"])
    return {
        "doctor_id": state.get("doctor_id"),
        "to_doctor_id": state.get("to_doctor_id"),
        "exception_id": state["exception_id"],
        # What the job moved or left: a visit the desk cancelled or moved meanwhile is not
        # among them (nor, withdrawn, those it never reached).
        "total": done,
        "moved": state["moved"],
        "unplaced": state["unplaced"],
        "withdrawn": withdrawn,
    }


def _search_order(visit, same, colleagues, offers, service_ids, today, tz) -> list:
    """The pools a visit's new slot is looked for in, each with what it accepts: his own
    doctor's slots (outside the days away, or the covering colleague's), then his department's
    colleagues'. A patient already waiting in the clinic (arrived) is seen by a colleague
    today first: sent home to come back on his doctor's next day only when nobody of the
    department has a slot for him today. His own doctor too is asked whether he offers the
    services: one who no longer does would refuse every one of his slots, each a try."""

    def offered(slot, ids=service_ids) -> bool:
        return offers(slot, ids)

    def offered_today(slot, ids=service_ids) -> bool:
        return slot["starts_at"].astimezone(tz).date() == today and offers(slot, ids)

    order = [(same, offered), (colleagues, offered)]
    if visit.status == VisitStatus.ARRIVED:
        order.insert(0, (colleagues, offered_today))
    return order


def _move_batch(session, away, batch, state, *, tz, now, job_id) -> None:
    doctor = schedules.get_doctor(session, away.doctor_id)
    today = now.astimezone(tz).date()
    first_day, last_day = _days(state, away)
    first = max(today, first_day)
    last = last_day + timedelta(days=state["search_days"])
    covering = state.get("to_doctor_id")
    # The colleague covering for him takes the visits, and nobody else; without one, his own
    # slots after he is back, else his department's colleagues'. Every free slot of the
    # search, not the first 5,000 an API answer holds: a long leave in a large department
    # has more, and the visits of its last days belong at their own times.
    same = SlotPool(slots.free_slots(session, tz=tz, first_day=first, last_day=last,
                                     doctor_id=covering or doctor.id, now=now,
                                     limit=None))  # fmt: skip
    colleagues = SlotPool(
        []
        if covering
        else [
            s
            for s in slots.free_slots(
                session, tz=tz, first_day=first, last_day=last,
                department_id=doctor.department_id, now=now, limit=None,
            )  # fmt: skip
            if s["doctor_id"] != doctor.id
        ]
    )
    offered: dict[tuple[int, tuple[int, ...]], bool] = {}

    def offers(slot: dict, service_ids: tuple[int, ...]) -> bool:
        key = (slot["doctor_id"], service_ids)
        if key not in offered:
            colleague = schedules.get_doctor(session, slot["doctor_id"])
            offered[key] = not slots.offers(session, colleague, list(service_ids), booked=True)
        return offered[key]

    reason = state.get("reason") or f"{away.kind}: {away.note}".strip(": ")
    actor = state.get("actor") or away.created_by or "system"
    # The calendars hear the batch's moves once all of them are done: a visit moved (its
    # calendars told) and then the next one's ticket carried would hold the calendars' event
    # counters while it waits for a queue day's row, which a step of that queue holds while
    # it waits for them (the queue takes the day's row first, the calendars' last).
    with calendars_told_last(session):
        for listed in batch:
            # Locked and read again: the desk may have cancelled or moved it since the batch was
            # listed. Then it is left as the desk left it, and is not this job's to count.
            visit = v.get_visit(session, listed.id, lock=True)
            if not _affected(session, state, away, tz, set(), now, only=visit.id):
                state["total"] -= 1
                continue
            original = {"starts_at": iso(visit.starts_at), "doctor_id": visit.doctor_id}
            service_ids = tuple(s.service_id for s in visit.services)
            minutes = sum(
                session.scalars(select(Service.duration_minutes).where(Service.id.in_(service_ids)))
            )
            placed, seen = None, {"free": 0, "patient_busy": 0}
            for pool, accept in _search_order(
                visit, same, colleagues, offers, service_ids, today, tz
            ):
                placed = _move_one(
                    session, visit, pool.nearest(visit.starts_at, accept, minutes), minutes, tz=tz,
                    actor=actor, reason=reason, now=now, job_id=job_id, seen=seen,
                )  # fmt: skip
                if placed is not None:
                    pool.take(placed.pop("slot"), minutes)
                    break
            if placed is None:
                state["unplaced"].append(
                    {"visit_id": visit.id, "patient_id": visit.patient_id, **original,
                     "reason": _unplaced_reason(seen)}
                )  # fmt: skip
                continue
            state["moved"].append({"visit_id": visit.id, "from": original, "to": placed["to"]})
