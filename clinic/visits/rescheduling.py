"""Rescheduling: a move is requested (a row and a job) and carried out by a worker, once.

The request is a :class:`VisitMove` row, unique per job: whatever number of times the job's
message is delivered (a redelivery after a crash, the sweeper's re-dispatch), the move is
done in one transaction that also marks the row done, so a second run finds it done and
only returns its outcome. The move is checked like a booking and held by the same
constraints, so two moves into one slot cannot both succeed.
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic import jobs
from clinic.base import iso, utcnow
from clinic.errors import DomainError, ValidationFailed
from clinic.reference.models import Room, Service
from clinic.visits import booking, checkin, notify, schedules
from clinic.visits import visits as v
from clinic.visits.events import RESCHEDULE_JOB, RESCHEDULE_TASK, VISIT_RESCHEDULED
from clinic.visits.events import Conflicts as C
from clinic.visits.events import MoveStatus, NoticeKind, VisitStatus
from clinic.visits.models import Visit, VisitMove
from clinic.visits.reminders import ROOM
from clinic.visits.told_last import tell_calendars

QUEUE = "visits"
# A move's outcome names the visit, its times and doctors: for those who may move visits, as
# a bulk move's.
jobs.followed_with(RESCHEDULE_JOB, "visits.reschedule")


def request_move(
    session: Session,
    visit_id: int,
    *,
    starts_at: datetime,
    reason: str,
    doctor_id: int | None = None,
    actor: str = "",
) -> jobs.Job:
    """Ask for the visit to move to ``starts_at`` (and ``doctor_id``); dispatch the returned
    job after commit. Only what cannot change by then is checked here (the visit's status,
    a time that has passed, the doctor); the worker checks the rest."""
    visit = v.get_visit(session, visit_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("say why", errors={"reason": ["required"]})
    if starts_at.tzinfo is None:
        raise ValidationFailed("give the time zone", errors={"starts_at": ["with an offset"]})
    starts_at = starts_at.astimezone(timezone.utc)  # kept and answered as every instant is
    # What no worker could change is refused now, at its field, rather than as a job that
    # fails: a visit over or cancelled stays so, and a time that has passed stays passed.
    if visit.status not in VisitStatus.MOVABLE:
        raise booking.refusal(C.NOT_MOVABLE, f"the visit is {visit.status} and cannot be moved")
    if starts_at <= utcnow():
        raise booking.refusal(C.IN_PAST, "this time has passed")
    here = starts_at == visit.starts_at and doctor_id in (None, visit.doctor_id)
    if here and _waiting(session, visit.id) is None:
        # Not a move: it would count against the patient's limit and mail him his own time.
        # (With a move of it still waiting, it keeps the visit here: the last asked wins.)
        raise ValidationFailed(
            "the visit is already at this time",
            errors={"starts_at": ["the visit is already at this time"]},
        )
    if not schedules.get_doctor(session, doctor_id or visit.doctor_id).active:
        # As in booking: an inactive doctor takes no visit, moved or new.
        raise booking.inactive_doctor()
    job = jobs.create_job(
        session, kind=RESCHEDULE_JOB, task_name=RESCHEDULE_TASK, queue=QUEUE, created_by=actor
    )
    session.add(
        VisitMove(
            job_id=job.id,
            visit_id=visit.id,
            to_doctor_id=doctor_id,
            to_starts_at=starts_at,
            reason=reason[:500],
            actor=(actor or "")[:64],
            status=MoveStatus.PENDING,
            requested_at=utcnow(),
        )
    )
    session.flush()
    return job


def _waiting(session: Session, visit_id: int) -> int | None:
    """A move of the visit asked for and not yet carried out, if any."""
    return session.scalar(
        select(VisitMove.id)
        .where(VisitMove.visit_id == visit_id, VisitMove.status == MoveStatus.PENDING)
        .limit(1)
    )


def _carried_out_since(session: Session, move: VisitMove) -> str | None:
    """The job of a move of the same visit asked for after ``move`` and already carried out:
    the visit is where that one, the last asked, put it (or found it)."""
    return session.scalar(
        select(VisitMove.job_id)
        .where(
            VisitMove.visit_id == move.visit_id,
            VisitMove.id > move.id,
            VisitMove.status == MoveStatus.DONE,
        )
        .order_by(VisitMove.id.desc())
        .limit(1)
    )


def move_for_job(session: Session, job_id: str) -> VisitMove | None:
    return session.scalar(select(VisitMove).where(VisitMove.job_id == job_id))


def _local(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%d.%m.%Y %H:%M")


def move_visit(
    session: Session,
    visit: Visit,
    *,
    starts_at: datetime,
    doctor_id: int | None,
    tz: ZoneInfo,
    max_moves: int | None,
    actor: str,
    reason: str,
    now: datetime,
    data: dict | None = None,
) -> dict:
    """Move one visit (locked by the caller) or raise the typed refusal; returns from/to.

    ``max_moves`` None is the clinic's own move (its doctor away): the patient's limit
    neither refuses nor counts it."""
    if visit.status not in VisitStatus.MOVABLE:
        raise booking.refusal(C.NOT_MOVABLE, f"the visit is {visit.status} and cannot be moved")
    if max_moves is not None and visit.moves >= max_moves:
        raise booking.refusal(C.TOO_MANY_MOVES, f"the visit was moved {visit.moves} times")
    doctor = schedules.get_doctor(session, doctor_id or visit.doctor_id)
    if not doctor.active:
        # Asked while he worked here, carried out after he left (a worker that ran late): the
        # job fails with the code the calendar words.
        raise booking.inactive_doctor()
    service_ids = [s.service_id for s in visit.services]
    services = list(session.scalars(select(Service).where(Service.id.in_(service_ids))))
    placement = booking.place(
        session,
        doctor=doctor,
        patient_id=visit.patient_id,
        starts_at=starts_at,
        services=services,
        tz=tz,
        now=now,
        exclude_visit_id=visit.id,
    )
    before = {
        "starts_at": iso(visit.starts_at),
        "ends_at": iso(visit.ends_at),
        "doctor_id": visit.doctor_id,
    }
    old_doctor_id, old_department_id = visit.doctor_id, visit.department_id
    was_at = visit.starts_at
    moves = visit.moves + (max_moves is not None)

    def put(seat: int) -> None:
        visit.doctor_id = doctor.id
        visit.department_id = doctor.department_id
        visit.room_id = placement.room_id
        visit.starts_at = starts_at
        visit.ends_at = placement.ends_at
        visit.seat = seat
        visit.moves = moves
        visit.updated_at = now

    booking.take_seat(session, placement.free_seats, put, undo=lambda: session.refresh(visit))
    visit.doctor = doctor
    after = {
        "starts_at": iso(visit.starts_at),
        "ends_at": iso(visit.ends_at),
        "doctor_id": doctor.id,
    }
    ticket = checkin.carry_ticket(session, visit, tz=tz, actor=actor, now=now, was_at=was_at)
    notify.drop_unsent_reminders(session, visit)
    record = {"from": before, "to": after, "reason": reason, "ticket": ticket, **(data or {})}
    v.record_history(session, visit, "rescheduled", visit.status, actor, now, record)
    extra = {"from_starts_at": before["starts_at"], "from_doctor_id": before["doctor_id"]}
    v.announce(session, visit, VISIT_RESCHEDULED, extra)
    # The calendars it leaves must free the slot too; they see the same small view. Its
    # department changes with another doctor's, or with its own doctor's move to another
    # department since it was booked.
    data_out = {**v.calendar_view(visit), **extra}
    left = []
    if old_doctor_id != doctor.id:
        left.append((v.doctor_channel(old_doctor_id), VISIT_RESCHEDULED, data_out))
    if old_department_id != doctor.department_id:
        left.append((v.department_channel(old_department_id), VISIT_RESCHEDULED, data_out))
    tell_calendars(session, left)
    return record


def carry_out(
    session: Session, job_id: str, *, tz: ZoneInfo, max_moves: int, now: datetime | None = None
) -> dict:
    """Carry out the job's move, once, and return its outcome. Its notice (if the patient
    gave an address) is keyed :func:`notice_key`; send it after commit.

    A refusal raises the typed :class:`DomainError`; the caller records it with
    :func:`refuse` in a new transaction.
    """
    now = now or utcnow()
    move = move_for_job(session, job_id)
    if move is None:
        raise ValidationFailed(f"job {job_id} moves no visit")
    if move.status != MoveStatus.PENDING:
        return move.outcome or {}
    visit = v.get_visit(session, move.visit_id, lock=True)
    later = _carried_out_since(session, move)
    if later is not None or _already_there(visit, move):
        # The same move asked twice (a double click, a client's retry), the first one done;
        # or one asked for later is done (two workers, or this one's died and it was sent
        # again): nothing moves, counts against the patient's limit or is mailed to him
        # again, and the visit stays where it was asked to go last.
        at = {"starts_at": iso(visit.starts_at), "ends_at": iso(visit.ends_at),
              "doctor_id": visit.doctor_id}  # fmt: skip
        outcome = {"visit_id": visit.id, "moved": False, "from": at, "to": at,
                   "reason": move.reason, "ticket": None}  # fmt: skip
        if later is not None:
            outcome["superseded_by"] = later
        move.from_starts_at, move.from_doctor_id = visit.starts_at, visit.doctor_id
        move.status, move.done_at, move.outcome = MoveStatus.DONE, now, outcome
        session.flush()
        return outcome
    record = move_visit(
        session,
        visit,
        starts_at=move.to_starts_at,
        doctor_id=move.to_doctor_id,
        tz=tz,
        max_moves=max_moves,
        actor=move.actor,
        reason=move.reason,
        now=now,
        data={"job_id": job_id},
    )
    move.from_starts_at = datetime.fromisoformat(record["from"]["starts_at"])
    move.from_doctor_id = record["from"]["doctor_id"]
    move.status = MoveStatus.DONE
    move.done_at = now
    outcome = {"visit_id": visit.id, "moved": True, **record}
    move.outcome = outcome
    write_moved_notice(session, visit, key=notice_key(job_id), tz=tz)
    session.flush()
    return outcome


def _already_there(visit: Visit, move: VisitMove) -> bool:
    """Whether the visit is where the move would take it, and may still be moved at all."""
    return (
        visit.status in VisitStatus.MOVABLE
        and visit.starts_at == move.to_starts_at
        and move.to_doctor_id in (None, visit.doctor_id)
    )


def refuse(session: Session, job_id: str, exc: DomainError) -> dict:
    """Record a refused move and fail its job with the typed problem."""
    problem = {
        "status": exc.status,
        "title": exc.title,
        "detail": exc.detail,
        "code": exc.code,
        "errors": exc.errors,
    }
    move = move_for_job(session, job_id)
    if move is not None and move.status == MoveStatus.PENDING:
        move.status = MoveStatus.REFUSED
        move.outcome = {"moved": False, **problem}
        move.done_at = utcnow()
    jobs.fail_job(session, job_id, problem)
    return problem


def _rooms(session: Session, visit: Visit) -> tuple[str, str, str]:
    """ ", каб. 12" in each language, as the reminder says it; empty without a room. Read by
    the visit's room id: a move has just changed it."""
    room = session.get(Room, visit.room_id) if visit.room_id is not None else None
    return tuple(f", {word} {room.number}" if room else "" for word in ROOM)


def write_moved_notice(session: Session, visit: Visit, *, key: str, tz: ZoneInfo):
    """The patient's notice of the visit's new time, doctor and room (None without an
    address or if written)."""
    when, doctor = _local(visit.starts_at, tz), visit.doctor.full_name
    ru, uz, en = _rooms(session, visit)
    return notify.write_notice(
        session,
        visit,
        key=key,
        kind=NoticeKind.RESCHEDULED,
        subject="Ваш приём перенесён / Qabulingiz ko'chirildi / Your visit has been moved",
        body=(
            f"{visit.patient.full_name},\n\n"
            f"ваш приём перенесён на {when} (врач: {doctor}{ru}).\n"
            f"qabulingiz {when} ga ko'chirildi (shifokor: {doctor}{uz}).\n"
            f"Your visit has been moved to {when} (doctor: {doctor}{en}).\n"
        ),
    )


def write_moves_notice(session: Session, moves: list[tuple[Visit, datetime]], *, key: str, tz):
    """One notice of a patient's visits the clinic moved at once (each with the time it had
    before), to the first one's address; a single visit is told as any move is. None
    without an address or if written."""
    if len(moves) == 1:
        return write_moved_notice(session, moves[0][0], key=key, tz=tz)

    rooms = {visit.id: _rooms(session, visit) for visit, _ in moves}

    def lines(doctor: str, language: int) -> str:
        return "".join(
            f"  {_local(was, tz)} → {_local(visit.starts_at, tz)}"
            f" ({doctor}: {visit.doctor.full_name}{rooms[visit.id][language]})\n"
            for visit, was in moves
        )

    return notify.write_notice(
        session,
        moves[0][0],
        key=key,
        kind=NoticeKind.RESCHEDULED,
        subject="Ваши приёмы перенесены / Qabullaringiz ko'chirildi / Your visits have been moved",
        body=(
            f"{moves[0][0].patient.full_name},\n\n"
            f"ваши приёмы перенесены:\n{lines('врач', 0)}\n"
            f"qabullaringiz ko'chirildi:\n{lines('shifokor', 1)}\n"
            f"Your visits have been moved:\n{lines('doctor', 2)}"
        ),
    )


def notice_key(job_id: str) -> str:
    return f"moved:{job_id}"
