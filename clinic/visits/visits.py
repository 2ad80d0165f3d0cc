"""Visits: reading them, their history, their channels and their status transitions (their
cancelling, and the no-shows: :mod:`clinic.visits.cancelling`).

Every transition is a guarded change of one row plus a history row with actor and time;
events go to the doctor's and the department's calendar channels. Those events carry ids,
times and statuses, never a name or a phone: a calendar asks the API for details, and the
API checks the reader's permissions.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session, aliased

from clinic.base import is_id, iso, utcnow
from clinic.errors import Conflict, NotFound, ValidationFailed
from clinic.events.models import RecordedEvent
from clinic.events.outbox import on_recorded
from clinic.queue import calls, followers, returns
from clinic.queue.models import Queue, Ticket, TicketStatus
from clinic.queue.tickets import followed
from clinic.reference.models import Department, Patient
from clinic.visits import events as ev
from clinic.visits import notify
from clinic.visits.events import VisitStatus
from clinic.visits.history import record_history
from clinic.visits.models import Visit, VisitEvent
from clinic.visits.schedules import day_bounds, get_doctor
from clinic.visits.told_last import tell_calendars


def doctor_channel(doctor_id: int) -> str:
    return f"visits_doctor:{doctor_id}"


def department_channel(department_id: int) -> str:
    return f"visits_department:{department_id}"


def get_visit(session: Session, visit_id, *, lock: bool = False) -> Visit:
    visit = None
    if is_id(visit_id):
        query = select(Visit).where(Visit.id == visit_id)
        if lock:
            query = query.with_for_update(of=Visit)
        visit = session.scalars(query.execution_options(populate_existing=True)).first()
    if visit is None:
        raise NotFound(f"visit {visit_id} does not exist", errors={"visit_id": ["no such visit"]})
    return visit


def calendar_view(visit: Visit) -> dict:
    """What a calendar channel carries: the slot and its state, the patient only by id."""
    return {
        "id": visit.id,
        "doctor_id": visit.doctor_id,
        "department_id": visit.department_id,
        "room_id": visit.room_id,
        "patient_id": visit.patient_id,
        "starts_at": iso(visit.starts_at),
        "ends_at": iso(visit.ends_at),
        "seat": visit.seat,
        "kind": visit.kind,
        "status": visit.status,
    }


def visit_as_dict(visit: Visit) -> dict:
    """The staff view: the calendar's fields, the patient's name and phone, the services."""
    return {
        **calendar_view(visit),
        "patient_name": visit.patient.full_name,
        "patient_phone": visit.patient.phone,
        "doctor_name": visit.doctor.full_name,
        "room": visit.room.number if visit.room else None,
        "services": [{"service_id": s.service_id, "price": s.price} for s in visit.services],
        "moves": visit.moves,
        "comment": visit.comment,
        "notify_email": visit.notify_email,
        "cancelled_by": visit.cancelled_by,
        "cancel_reason": visit.cancel_reason,
        "late_cancellation": visit.late_cancellation,
        "ticket_id": visit.ticket_id,
        "created_by": visit.created_by,
        "created_at": iso(visit.created_at),
    }


def announce(session: Session, visit: Visit, type_: str, extra: dict | None = None) -> None:
    """Record ``type_`` on the visit's doctor's and department's calendar channels."""
    session.flush()
    data = {**calendar_view(visit), **(extra or {})}
    tell_calendars(
        session,
        [
            (doctor_channel(visit.doctor_id), type_, data),
            (department_channel(visit.department_id), type_, data),
        ],
    )


def history(session: Session, visit: Visit) -> list[dict]:
    rows = session.scalars(
        select(VisitEvent).where(VisitEvent.visit_id == visit.id).order_by(VisitEvent.id)
    )
    return [
        {
            "at": iso(r.at),
            "action": r.action,
            "from_status": r.from_status,
            "to_status": r.to_status,
            "actor": r.actor,
            "data": r.data,
        }
        for r in rows
    ]


def set_status(
    session: Session,
    visit: Visit,
    to: str,
    actor: str,
    now: datetime,
    action: str,
    data=None,
    *,
    announced: bool = True,
) -> None:
    """Move the visit from its current status to ``to``, guarded against a concurrent change.
    ``announced=False``: the caller announces it later in the transaction, once its queue
    work is done (see check-in)."""
    before = visit.status
    if to not in VisitStatus.NEXT.get(before, ()):
        raise Conflict(
            f"the visit is {before} and cannot become {to}",
            code="status_changed",
            errors={"visit_id": [f"the visit is {before}"]},
        )
    changed = session.execute(
        update(Visit)
        .where(Visit.id == visit.id, Visit.status == before)
        .values(status=to, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        gone = "the visit changed meanwhile; reload it"
        raise Conflict(gone, code="status_changed", errors={"visit_id": [gone]})
    session.refresh(visit)
    record_history(session, visit, action, before, actor, now, data)
    if announced:
        type_ = ev.VISIT_CANCELLED if to == VisitStatus.CANCELLED else ev.VISIT_CHANGED
        announce(session, visit, type_, {"action": action})


EDITABLE = ("comment", "notify_email")  # the registrar's note, and where the notices go


def edit_details(
    session: Session, visit: Visit, changes: dict, *, actor: str = "", now=None
) -> Visit:
    """Correct the visit's comment or the address its reminders and notices go to (None: no
    e-mails), while it is still ahead (booked, or arrived and waiting): a typo at booking, or
    an address the patient gives later; what is not mailed yet goes to the address as it is
    now. A visit begun, over or cancelled keeps its record. The history keeps what each
    field said before."""
    now = now or utcnow()
    if visit.status not in VisitStatus.MOVABLE:
        raise Conflict(
            f"the visit is {visit.status} and keeps its details",
            code="status_changed",
            errors={"visit_id": [f"the visit is {visit.status}"]},
        )
    changed = {k: changes[k] for k in EDITABLE if k in changes and changes[k] != getattr(visit, k)}
    if not changed:
        return visit
    before = {k: getattr(visit, k) for k in changed}
    for key, value in changed.items():
        setattr(visit, key, value)
    visit.updated_at = now
    if "notify_email" in changed:
        notify.readdress_unsent(session, visit)
    record_history(
        session, visit, "details_changed", visit.status, actor, now, {"before": before, **changed}
    )
    announce(session, visit, ev.VISIT_CHANGED, {"action": "details_changed"})
    return visit


def start(session: Session, visit: Visit, *, tz: ZoneInfo, actor: str = "", now=None) -> Visit:
    """The doctor begins; the patient's queue ticket, once called, is in service too."""
    now = now or utcnow()
    # Its calendars are told after the ticket's step (see check-in): the queue's rows and
    # counters first, as every step of the queue takes them.
    set_status(session, visit, VisitStatus.IN_PROGRESS, actor, now, "started", announced=False)
    ticket = _ticket_of(session, visit)
    if ticket is not None and ticket.status == TicketStatus.CALLED:
        calls.start_service(session, ticket, actor=actor, now=now)
    announce(session, visit, ev.VISIT_CHANGED, {"action": "started"})
    return visit


def complete(session: Session, visit: Visit, *, tz: ZoneInfo, actor: str = "", now=None) -> Visit:
    """The doctor is done; so is the patient's queue ticket, and the room is free for the
    next call (a ticket the doctor never called stays in the queue)."""
    now = now or utcnow()
    # Its calendars are told after the ticket's step, as on start.
    set_status(session, visit, VisitStatus.COMPLETED, actor, now, "completed", announced=False)
    ticket = _ticket_of(session, visit)
    if ticket is not None and ticket.status in (TicketStatus.CALLED, TicketStatus.IN_SERVICE):
        calls.finish_service(session, ticket, tz=tz, actor=actor, now=now)
    elif visit.ticket_id is not None:
        # Sent to the laboratory to come back: the laboratory still serves him, but he does
        # not come back to a visit that is over (a colleague would call him for nothing).
        returns.call_off(session, session.get(Ticket, visit.ticket_id))
    announce(session, visit, ev.VISIT_CHANGED, {"action": "completed"})
    return visit


def _ticket_of(session: Session, visit: Visit) -> Ticket | None:
    """The visit's ticket, for the doctor's steps on the calendar to move; None once the
    patient was sent on to another doctor's queue: that doctor calls and serves him there."""
    ticket = (
        session.get(Ticket, visit.ticket_id, populate_existing=True) if visit.ticket_id else None
    )
    return ticket if ticket is not None and serves(ticket.queue, visit) else None


def serves(queue: Queue, visit: Visit) -> bool:
    """Whether ``queue`` calls patients for the visit's doctor: his own, or his department's
    shared one (closed since, perhaps: the ticket stays where he would call it)."""
    if queue.doctor_id is not None:
        return queue.doctor_id == visit.doctor_id
    # The department the visit was booked in, or the doctor's now (his check-in queue's).
    return queue.department_id in (visit.department_id, visit.doctor.department_id)


def day_visits(
    session: Session,
    day: date | None,
    tz: ZoneInfo,
    *,
    doctor_id: int | None = None,
    department_id: int | None = None,
    patient_id: int | None = None,
    include_cancelled: bool = False,
    limit: int | None = None,
    offset: int = 0,
) -> list[Visit]:
    """One clinic day's visits (``day`` None: every day's) of a doctor, a department or a
    patient, in time order, the ``limit`` of them from ``offset``; an unknown doctor,
    department or patient is 404 naming its field, as the slots say. A no-show stays on the
    list (the calendar shows who did not come); a cancelled visit only with
    ``include_cancelled``."""
    if doctor_id is not None:
        get_doctor(session, doctor_id)
    if patient_id is not None and session.get(Patient, patient_id) is None:
        raise NotFound(f"patient {patient_id} does not exist", errors={"patient_id": ["unknown"]})
    if department_id is not None and not is_id(department_id):
        raise ValidationFailed("no such department", errors={"department_id": ["unknown"]})
    if department_id is not None and session.get(Department, department_id) is None:
        raise NotFound(
            f"department {department_id} does not exist", errors={"department_id": ["unknown"]}
        )
    query = select(Visit)
    if day is not None:
        first, after = day_bounds(day, tz)
        query = query.where(Visit.starts_at >= first, Visit.starts_at < after)
    if doctor_id is not None:
        query = query.where(Visit.doctor_id == doctor_id)
    if department_id is not None:
        query = query.where(Visit.department_id == department_id)
    if patient_id is not None:
        query = query.where(Visit.patient_id == patient_id)
    if not include_cancelled:
        query = query.where(Visit.status != VisitStatus.CANCELLED)
    query = query.order_by(Visit.starts_at, Visit.doctor_id, Visit.seat, Visit.id)
    return list(session.scalars(query.offset(offset).limit(limit)))


# The tickets once more, as those a transfer opened from a ticket of the chain.
_ONWARD = aliased(Ticket)


def held_ticket_statuses(session: Session, visits: list[Visit]) -> dict[int, str]:
    """Per visit id, the status of the ticket its patient holds now: the visit's ticket, or
    the one a transfer took him on to from it (sent to the laboratory to come back, the
    laboratory's; sent back, the one he came back with), as check-in reads it to check him in
    again (:func:`clinic.queue.tickets.followed`). One statement however many visits; a visit
    without a ticket is left out."""
    starts = {visit.id: visit.ticket_id for visit in visits if visit.ticket_id is not None}
    if not starts:
        return {}
    chain = (
        select(
            Ticket.id.label("start_id"), Ticket.id.label("ticket_id"), Ticket.status.label("status")
        )
        .where(Ticket.id.in_(set(starts.values())))
        .cte("chain", recursive=True)
    )
    first_onward = (
        select(func.min(_ONWARD.id))
        .where(_ONWARD.transferred_from_id == chain.c.ticket_id)
        .scalar_subquery()
    )
    onward = select(chain.c.start_id, Ticket.id, Ticket.status).join(
        Ticket, Ticket.id == first_onward
    )
    chain = chain.union_all(onward)
    # The end of each chain: the ticket no transfer has left.
    held = select(chain.c.start_id, chain.c.status).where(
        ~exists().where(_ONWARD.transferred_from_id == chain.c.ticket_id)
    )
    status_of = dict(session.execute(held).all())
    return {visit: status_of[start] for visit, start in starts.items() if start in status_of}


def standing_between(
    session: Session, first_day: date, last_day: date, tz: ZoneInfo, *, doctor_id=None
) -> list[int]:
    """The ids of the visits still to happen (scheduled or arrived) on those clinic days, of
    one doctor or of all: what an absence or a holiday declared over them leaves to move."""
    first, _ = day_bounds(first_day, tz)
    _, after = day_bounds(last_day, tz)
    query = select(Visit.id).where(
        Visit.starts_at >= first, Visit.starts_at < after, Visit.status.in_(VisitStatus.MOVABLE)
    )
    if doctor_id is not None:
        query = query.where(Visit.doctor_id == doctor_id)
    return list(session.scalars(query.order_by(Visit.starts_at, Visit.id)))


# -- a checked-in visit follows its queue ticket ---------------------------------------------
# The doctor who starts, serves or marks a no-show from the queue moves the visit too, in the
# same transaction. The queue knows nothing of visits (visits depend on the queue): this
# listens to the ticket events it records, whose staff channel's carry the ticket's visit id.
# A visit already where the ticket leads, or moved on meanwhile, is left as it is: the queue's
# step never fails for it.

# The ticket's step, and the visit's steps it brings (each from the status before it).
_FOLLOWS = {
    "ticket.started": ((VisitStatus.ARRIVED, VisitStatus.IN_PROGRESS, "started"),),
    "ticket.served": (
        (VisitStatus.ARRIVED, VisitStatus.IN_PROGRESS, "started"),
        (VisitStatus.IN_PROGRESS, VisitStatus.COMPLETED, "completed"),
    ),
    "ticket.no_show": ((VisitStatus.ARRIVED, VisitStatus.NO_SHOW, "no_show"),),
}


def _follow_tickets(session: Session, events: list[RecordedEvent]) -> None:
    for event in events:
        if event.type == "ticket.issued" and event.data.get("transferred_from_id") is not None:
            # Sent back to his doctor's queue (from the laboratory): the visit's ticket is now
            # this one, which the doctor's next steps (or the calendar's) move.
            _follow_to(session, event.data.get("visit_id"), event.data["id"])
            continue
        if event.type == "ticket.cancelled" or (
            event.type == "ticket.day_closed" and event.data.get("status") == TicketStatus.CANCELLED
        ):
            _ticket_left(session, event.data.get("visit_id"), event.data.get("id"))
            continue
        steps = _FOLLOWS.get(event.type)
        if event.type == "ticket.day_closed" and event.data.get("status") == TicketStatus.NO_SHOW:
            steps = _FOLLOWS["ticket.no_show"]  # the day closed on a patient who never came in
        visit_id = event.data.get("visit_id") if steps else None
        if visit_id is not None:
            _follow(session, visit_id, steps, ticket_id=event.data.get("id"))


def _follow_to(session: Session, visit_id: int | None, ticket_id: int) -> None:
    visit = session.get(Visit, visit_id) if visit_id is not None else None
    if visit is not None and visit.status in (VisitStatus.ARRIVED, VisitStatus.IN_PROGRESS):
        visit.ticket_id = ticket_id


def _ticket_left(session: Session, visit_id: int | None, ticket_id: int | None) -> None:
    """An arrived patient's ticket was cancelled (at the desk, by mistake; he left the
    laboratory's queue he was sent to; the day closed on it): the visit stays arrived, and
    its calendars hear it (``visit.changed``, action ``ticket_cancelled``), so that they offer
    to check him in again, as check-in now would (:mod:`clinic.visits.checkin`)."""
    visit = session.get(Visit, visit_id) if visit_id is not None else None
    if visit is None or visit.status != VisitStatus.ARRIVED or visit.ticket_id is None:
        return
    ticket = session.get(Ticket, visit.ticket_id)
    if ticket is None or followed(session, ticket).id != ticket_id:
        return  # not the ticket he holds now (sent on from it, he holds another)
    announce(session, visit, ev.VISIT_CHANGED, {"action": "ticket_cancelled"})


def _follow(session: Session, visit_id: int, steps, *, ticket_id) -> None:
    visit = session.get(Visit, visit_id, populate_existing=True)
    if visit is None:
        return
    now = utcnow()
    for before, to, action in steps:
        if visit.status != before:
            continue
        try:
            with session.begin_nested():
                set_status(session, visit, to, "queue", now, action, {"ticket_id": ticket_id})
        except Conflict:  # changed meanwhile: it has a step of its own
            return


on_recorded(_follow_tickets)


@followers.on_lock
def _lock_visits(session: Session, visit_ids: list[int]) -> None:
    # The order the calendar takes them in: a visit, then its ticket (see clinic.queue.followers).
    session.execute(
        select(Visit.id).where(Visit.id.in_(visit_ids)).order_by(Visit.id).with_for_update()
    )
