"""Check-in and the visit's place in the queue.

An arriving patient's visit issues his ticket in the doctor's queue (the doctor's own, or his
department's shared one) with the appointment source and a priority above walk-ins and
privileged patients (that of a patient who comes back), below urgent. When the visit moves,
the ticket follows: the same queue keeps it as it is, another doctor's queue gets a
transferred ticket (queue time kept), and another day cancels it (the patient checks in again
on the new day). An arrived patient without a ticket (his doctor worked without a queue),
moved within his day to a doctor whose queue takes tickets, gets the one check-in gives.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.base import utcnow
from clinic.errors import Conflict
from clinic.events.models import RecordedEvent
from clinic.events.outbox import on_recorded
from clinic.queue import calls, returns
from clinic.queue import tickets as q
from clinic.queue.models import Priority, Queue, Ticket, TicketSource, TicketStatus
from clinic.reference.models import Doctor
from clinic.visits import calling  # noqa: F401 - registers whose patient a ticket is
from clinic.visits import events as ev
from clinic.visits import visits as v
from clinic.visits.events import Conflicts, VisitStatus
from clinic.visits.models import Visit
from clinic.visits.schedules import away_on, exceptions_between

APPOINTMENT_PRIORITY = Priority.RETURNED

# fn(session, visit, ticket, actor, now), run when a check-in has issued the visit's ticket,
# and when a move has carried it to another doctor's queue.
CheckedIn = Callable[[Session, Visit, Ticket, str, datetime], None]
_checked_in: list[CheckedIn] = []


def on_check_in(fn: CheckedIn) -> CheckedIn:
    """Register ``fn``, run in the check-in's transaction once the visit has its ticket, in
    a move's when the ticket is transferred to another doctor's queue, and in a transfer's
    that takes the visit along (the doctor sends the patient on to a colleague, or the
    laboratory sends him back): what another module keeps for the visit follows the patient
    into the queue (an invoice made for the appointment, paid or not). Registered where that
    module's domain is imported (visits cannot import the modules that import it)."""
    _checked_in.append(fn)
    return fn


def _follow_sent_on(session: Session, events: list[RecordedEvent]) -> None:
    """A ticket issued by a transfer that carries the visit into a queue of the visit's
    department (sent on to a colleague, or back from the laboratory) is the visit's ticket
    now, as a move's transferred one is: what follows a check-in follows it (a paid
    appointment is a paid ticket there, so a "pay before the doctor" queue calls him without
    a second payment). Another department's queue (sent on for good to the laboratory) is
    paid for what it does there: the appointment's invoices stay behind."""
    for event in events:
        if event.type != "ticket.issued" or event.data.get("transferred_from_id") is None:
            continue
        visit_id = event.data.get("visit_id")
        visit = session.get(Visit, visit_id) if visit_id is not None else None
        if visit is None or visit.status not in (VisitStatus.ARRIVED, VisitStatus.IN_PROGRESS):
            continue
        ticket = session.get(Ticket, event.data["id"])
        if ticket.queue.department_id not in (visit.department_id, visit.doctor.department_id):
            continue
        for checked_in in _checked_in:
            checked_in(session, visit, ticket, "queue", utcnow())


on_recorded(_follow_sent_on)


def queue_for(session: Session, doctor: Doctor) -> Queue | None:
    """The doctor's own active queue, else his department's shared one."""
    own = session.scalar(
        select(Queue).where(Queue.doctor_id == doctor.id, Queue.active.is_(True)).order_by(Queue.id)
    )
    if own is not None:
        return own
    return session.scalar(
        select(Queue)
        .where(
            Queue.department_id == doctor.department_id,
            Queue.doctor_id.is_(None),
            Queue.active.is_(True),
        )
        .order_by(Queue.id)
    )


def check_in(
    session: Session, visit: Visit, *, tz: ZoneInfo, actor: str = "", now=None
) -> Ticket | None:
    """The patient has arrived: the visit becomes arrived and gets its queue ticket (none when
    the doctor has no queue working, or it has closed for the day). Refused (``not_today``,
    ``doctor_away``: away today, or left the clinic) when nobody would see him today, and
    (``patient_inactive``) when his record has been deactivated since the booking."""
    now = now or utcnow()
    if q.clinic_day(visit.starts_at, tz) != q.clinic_day(now, tz):
        raise Conflict(
            "the visit is on another day", code="not_today", errors={"visit_id": ["not today"]}
        )
    day = visit.starts_at.astimezone(tz).date()
    away = away_on(exceptions_between(session, [visit.doctor_id], day, day), visit.doctor_id, day)
    # A ticket would leave him waiting in the queue of a doctor who is not here today, or
    # who has left the clinic (his visits wait there to be moved to a colleague).
    gone = f"is away today ({away.kind})" if away is not None else None
    gone = gone or (None if visit.doctor.active else "no longer works here")
    if gone is not None:
        detail = f"the doctor {gone}: move the visit or cancel it"
        raise Conflict(detail, code=Conflicts.DOCTOR_AWAY, errors={"visit_id": [detail]})
    if not visit.patient.active:
        # His record was deactivated since the booking: it is chosen for nothing new, a
        # ticket no more than a visit, so he is not checked in with or without a queue.
        detail = "the patient's record is deactivated"
        raise Conflict(detail, code=Conflicts.PATIENT_INACTIVE, errors={"visit_id": [detail]})
    again = _checks_in_again(session, visit)
    if again:
        # His ticket was cancelled (at the desk, by mistake; or the day's closing) while he
        # is still here: the registrar checks him in again and he gets a new ticket.
        v.record_history(session, visit, "checked_in_again", visit.status, actor, now)
    else:
        # Announced once his ticket is issued: the calendars' event counters are taken after
        # the queue day's row, in the order every step of the queue takes them (a doctor
        # starting, finishing or cancelling another patient's ticket of the same day records
        # the day's, then the calendars'), so that neither waits for the other's.
        v.set_status(session, visit, VisitStatus.ARRIVED, actor, now, "arrived", announced=False)
    ticket = _issue(session, visit, tz=tz, actor=actor, now=now)
    if ticket is None:
        return _no_ticket(session, visit, again)
    _announce_arrival(session, visit, again)
    return ticket


def _issue(
    session: Session, visit: Visit, *, tz: ZoneInfo, actor: str, now: datetime
) -> Ticket | None:
    """The arrived visit's appointment ticket in its doctor's queue, and what follows a
    check-in done; None when he has no queue working or it has closed for the day."""
    queue = queue_for(session, visit.doctor)
    if queue is None:
        # A doctor without a queue sees his patients by the calendar alone.
        return None
    try:
        with session.begin_nested():
            ticket = q.issue_ticket(
                session,
                queue.id,
                tz=tz,
                source=TicketSource.APPOINTMENT,
                priority=APPOINTMENT_PRIORITY,
                patient_id=visit.patient_id,
                comment=f"visit {visit.id}",
                actor=actor,
                now=now,
                # Issued as the visit's: the desks hear it so (no "attach" on its row).
                visit_id=visit.id,
            )
    except q.QueueRefused:
        # His queue has closed for the day (the doctor works later than it calls): he has
        # come all the same, and the doctor sees him by the calendar, as a switched-off queue
        # leaves him. Refused, he would be made a no-show for a visit he came to.
        return None
    visit.ticket_id = ticket.id
    session.flush()
    for checked_in in _checked_in:
        checked_in(session, visit, ticket, actor, now)
    return ticket


def _announce_arrival(session: Session, visit: Visit, again: bool) -> None:
    action = "checked_in_again" if again else "arrived"
    v.announce(session, visit, ev.VISIT_CHANGED, {"action": action})


def _no_ticket(session: Session, visit: Visit, again: bool) -> None:
    """Checked in with no queue to take him: the doctor sees him by the calendar. Checked in
    again so (his queue closed for the day since his ticket was cancelled), the cancelled
    ticket is his place no longer: the visit lets go of it, and is not offered to be checked
    in again for ever, each press another row of its history."""
    if again:
        visit.ticket_id = None
        session.flush()
    _announce_arrival(session, visit, again)
    return None


def _checks_in_again(session: Session, visit: Visit) -> bool:
    """Whether an arrived visit's ticket was cancelled before he was seen (the visit is his
    still: a no-show, a transfer or a service would have moved it on); or, sent to the
    laboratory to come back, the ticket he holds there was (he left that queue, or the desk
    cancelled it): nothing brings him back to his doctor then."""
    if visit.status != VisitStatus.ARRIVED or visit.ticket_id is None:
        return False
    ticket = session.get(Ticket, visit.ticket_id)
    if ticket is None:
        return False
    return q.followed(session, ticket).status == TicketStatus.CANCELLED


def _back_to_scheduled(session: Session, visit: Visit, *, actor: str, now: datetime) -> None:
    """An arrival counts for its day: moved to another, the patient checks in again."""
    before = visit.status
    if before == VisitStatus.ARRIVED:
        visit.status = VisitStatus.SCHEDULED
        v.record_history(session, visit, "back_to_scheduled", before, actor, now)


def _return_moved(session: Session, visit: Visit, ticket: Ticket, *, tz: ZoneInfo) -> dict | None:
    """After a move: the patient his doctor sent away to come back (to the laboratory, with
    ``ticket``) comes back to the visit's doctor now, to that doctor's queue; to none when
    the visit is on another day or its doctor works without a queue (served there, he
    leaves). Returns what happened, or None when he is not away to come back."""
    chain = returns.onward_of(session, ticket)
    if not chain or chain[-1].status not in TicketStatus.ACTIVE:
        return None
    # The returns to his doctor's queue, not those between the queues he was sent on to (the
    # laboratory sent him to the X-ray to come back to the laboratory).
    inner = {t.queue_id for t in chain}
    returning = [t for t in chain if t.return_to_queue_id not in (None, *inner)]
    queue = None
    if q.clinic_day(visit.starts_at, tz) == q.clinic_day(ticket.created_at, tz):
        queue = queue_for(session, visit.doctor)
    to = queue.id if queue is not None else None
    if all(t.return_to_queue_id == to for t in returning):
        return None  # none, or to the same (shared) queue: he comes back where he was to
    for sent in returning:
        sent.return_to_queue_id = to
    session.flush()
    away = chain[-1]
    q.announce(session, away, "visit_moved")
    return {"ticket": away.id, "action": "return_moved", "return_to_queue_id": to}


def _ticket_on_arrival(
    session: Session, visit: Visit, *, tz: ZoneInfo, actor: str, now: datetime
) -> dict | None:
    """An arrived patient without a ticket (checked in to a doctor without a queue, or whose
    queue had closed), moved within his day: the ticket his check-in would have given him
    with his doctor now, ahead of that doctor's walk-ins, so that doctor's queue calls him.
    None when that doctor has no queue taking tickets now either: he waits arrived, seen by
    the calendar. A record deactivated since he came is given nothing new, as at check-in."""
    if visit.status != VisitStatus.ARRIVED or not visit.patient.active:
        return None
    if q.clinic_day(visit.starts_at, tz) != q.clinic_day(now, tz):
        return None  # an arrival counts for its day only
    ticket = _issue(session, visit, tz=tz, actor=actor, now=now)
    if ticket is None:
        return None
    return {"ticket": ticket.id, "action": "issued", "code": ticket.code}


def carry_ticket(
    session: Session,
    visit: Visit,
    *,
    tz: ZoneInfo,
    actor: str,
    now: datetime,
    was_at: datetime | None = None,
) -> dict | None:
    """After a move (from ``was_at``): keep, transfer or cancel the visit's active ticket,
    or issue one to an arrived patient who had none (his doctor worked without a queue).
    Returns what happened (for the move's record), or None when the visit had no active
    ticket and got none; an arrived visit moved to another day is scheduled again either
    way."""
    ticket = session.get(Ticket, visit.ticket_id) if visit.ticket_id else None
    if ticket is None or ticket.status not in TicketStatus.ACTIVE:
        moved = _return_moved(session, visit, ticket, tz=tz) if ticket is not None else None
        if was_at is not None and q.clinic_day(visit.starts_at, tz) != q.clinic_day(was_at, tz):
            _back_to_scheduled(session, visit, actor=actor, now=now)
        elif visit.ticket_id is None:
            moved = _ticket_on_arrival(session, visit, tz=tz, actor=actor, now=now)
        return moved
    if q.clinic_day(visit.starts_at, tz) != q.clinic_day(ticket.created_at, tz):
        calls.cancel(session, ticket, actor=actor, reason=f"visit {visit.id} moved", now=now)
        visit.ticket_id = None
        _back_to_scheduled(session, visit, actor=actor, now=now)
        return {"ticket": ticket.id, "action": "cancelled"}
    queue = queue_for(session, visit.doctor)
    if queue is not None and queue.id == ticket.queue_id:
        if queue.doctor_id is None:
            # A department's shared queue: he may wait for another of its doctors now.
            q.announce(session, ticket, "visit_moved")
        return {"ticket": ticket.id, "action": "kept"}
    new = None
    if queue is not None:
        try:
            with session.begin_nested():
                # His appointment is the new doctor's now: ahead of that doctor's walk-ins,
                # as a check-in for him would have put him.
                new = calls.transfer(
                    session, ticket, queue.id, tz=tz, comment=f"visit {visit.id} moved",
                    actor=actor, now=now, priority_at_least=APPOINTMENT_PRIORITY,
                )  # fmt: skip
        except q.QueueRefused:
            # His queue has closed for the day: the doctor sees him by the calendar. The
            # ticket is read again as the refused transfer left it: still in its queue.
            session.refresh(ticket)
    if new is None and not v.serves(session.get(Queue, ticket.queue_id), visit):
        # Moved to a doctor who works without a queue, or whose queue has closed for the day:
        # the one it is in would call the patient for a doctor he no longer sees. He stays
        # arrived; the calendar shows him waiting.
        calls.cancel(session, ticket, actor=actor, reason=f"visit {visit.id} moved", now=now)
        visit.ticket_id = None
        return {"ticket": ticket.id, "action": "cancelled"}
    if new is None:
        return {"ticket": ticket.id, "action": "kept"}
    new.visit_id = visit.id
    visit.ticket_id = new.id
    session.flush()
    for follow in _checked_in:  # a paid appointment's new ticket is paid too
        follow(session, visit, new, actor, now)
    return {"ticket": ticket.id, "action": "transferred", "new_ticket": new.id, "code": new.code}
