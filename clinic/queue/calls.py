"""Calling and serving: call next, recall, start, finish, no-show, postpone, call back,
take back a no-show who came after all, cancel and transfer (each ticket's history is
:mod:`clinic.queue.history`). Where a transferred patient comes back to
once served, and the ticket that brings him there, are :mod:`clinic.queue.returns`.

"Call next" locks the queue's day row first, so concurrent doctors are served one after the
other, each the next ticket by priority then queue time. Every transition is a guarded update
(it happens only from the status it expects), leaves a history row with its actor, and
records events through :func:`clinic.queue.tickets.announce`.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from clinic.base import is_id, utcnow
from clinic.errors import Conflict, NotFound, ValidationFailed
from clinic.queue import elsewhere, followers, numbering, rejoined, reserved, returns, rooms
from clinic.queue.limits import CANCEL_REASON_MAX, COMMENT_MAX
from clinic.queue.models import Priority, Queue, QueueDay, Ticket, TicketSource
from clinic.queue.models import TicketStatus as S
from clinic.queue.one_place import refuse_a_second_place
from clinic.queue.rooms import RoomBusy, holder_now, room_holder  # noqa: F401 - their old home
from clinic.queue.tickets import (
    QueueRefused,
    announce,
    change_waiting,
    check_open,
    clinic_day,
    get_queue,
    issue_ticket,
    record_history,
)
from clinic.reference.models import Room


def _lock_day(session: Session, queue_id: int, day: date) -> QueueDay | None:
    query = select(QueueDay).where(QueueDay.queue_id == queue_id, QueueDay.day == day)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=QueueDay)
    return session.scalar(query)


def _lock_day_by_id(session: Session, queue_day_id: int) -> QueueDay:
    query = select(QueueDay).where(QueueDay.id == queue_day_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=QueueDay)
    return session.scalar(query.execution_options(populate_existing=True))


def _locked(session: Session, query):
    """``query`` taking the rows of the tickets it answers (PostgreSQL; SQLite serialises
    writers), as the call's update would: a ticket changed meanwhile by a transaction not
    committed yet (its invoice refunded in full: unpaid again) is read once that one has
    committed, and passed over when no longer to be called."""
    if session.get_bind().dialect.name == "postgresql":
        # NO KEY UPDATE, as the update takes: a ticket issued or an invoice made for him
        # meanwhile (their references to this row) does not wait for the call.
        query = query.with_for_update(of=Ticket, key_share=True)
    return query.execution_options(populate_existing=True)


def call_next(
    session: Session,
    queue_id: int,
    *,
    tz: ZoneInfo,
    room_id: int | None = None,
    actor: str = "",
    now: datetime | None = None,
    doctor_id: int | None = None,
) -> Ticket | None:
    """Call the next waiting ticket (priority first, then queue time), or None if nobody waits.
    A "pay before the doctor" queue passes over tickets whose invoice is not paid yet, and
    doctor ``doctor_id`` (the caller) over those booked with a colleague (:mod:`.reserved`).

    A room holds one patient at a time: while a ticket called to it is called or in service,
    the call is refused (409, ``room_busy``) until that one is finished, marked a no-show,
    postponed or transferred.

    The day's row is locked for the rest of the transaction: simultaneous callers take turns,
    so no ticket is handed to two doctors and none is passed over. The ticket's row is taken
    as it is picked, after the day's (a refund takes the invoice's, then the ticket's): a
    refund in full being committed at that moment is waited for, and its ticket, unpaid
    again, passed over in a pay-first queue; a refund that comes after the call finds the
    ticket called, and leaves it paid.
    """
    queue = get_queue(session, queue_id)
    room = rooms.room_of_call(session, room_id if room_id is not None else queue.room_id)
    rooms.lock_room(session, room)
    day = _lock_day(session, queue.id, clinic_day(now or utcnow(), tz))
    if day is None:
        return None
    rooms.check_room_free(session, day, room)
    # The call's time is read under the lock, so call times follow the order of the calls.
    now = now or utcnow()
    waiting = select(Ticket).where(Ticket.queue_day_id == day.id, Ticket.status == S.WAITING)
    if queue.pay_before_doctor:
        # "Pay before the doctor": an unpaid ticket waits, the next paid one is called.
        waiting = waiting.where(Ticket.paid_at.is_not(None))
    # A patient in two queues whom another doctor has now keeps his place here, and is
    # called once free (clinic/queue/elsewhere.py).
    waiting = elsewhere.free_now(waiting, day.day)
    waiting = reserved.not_for_others(waiting, queue, doctor_id)
    waiting = waiting.order_by(Ticket.priority.desc(), Ticket.queued_at, Ticket.id).limit(1)
    waiting = _locked(session, waiting)
    ticket = session.scalar(waiting)
    passed_over = []
    while ticket is not None and elsewhere.taken_elsewhere(session, ticket, day.day):
        passed_over.append(ticket.id)
        ticket = session.scalar(waiting.where(Ticket.id.not_in(passed_over)))
    if ticket is None:
        return None
    _move(session, ticket, (S.WAITING,), S.CALLED, "called", actor, now, room=room)
    return ticket


# What the refusal of a transition says the desk or the doctor tried to do.
_VERBS = {
    "called": "call it",
    "recalled": "recall it",
    "started": "start it",
    "served": "finish it",
    "no_show": "mark it as a no-show",
    "postponed": "postpone it",
    "called_back": "call it back",
    "came_back": "take it back",
    "cancelled": "cancel it",
    "transferred": "transfer it",
}


def _move(
    session: Session,
    ticket: Ticket,
    allowed: tuple[str, ...],
    to: str,
    action: str,
    actor: str,
    now: datetime,
    *,
    room: Room | None = None,
    data: dict | None = None,
    values: dict | None = None,
) -> None:
    """The guarded transition: it happens only from an expected status, or not at all."""
    before = ticket.status
    changes = {"status": to, **(values or {})}
    if to == S.CALLED:
        changes["called_at"] = now
        if room is not None:
            changes["room_id"] = room.id
    elif to == S.IN_SERVICE:
        changes["started_at"] = now
    elif to in S.FINAL:
        changes["finished_at"] = now
    # A ticket leaving the waiting list is counted out of its day first: the day's row is
    # locked before the ticket's, the order issuing and calling follow. The guard then holds
    # the ticket to the status the count assumed; on a refusal the rollback undoes the count.
    leaves_waiting = before == S.WAITING and to != S.WAITING
    waiting = change_waiting(session, ticket.queue_day_id, -1) if leaves_waiting else None
    expected = (S.WAITING,) if leaves_waiting else tuple(s for s in allowed if s != S.WAITING)
    result = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.status.in_(allowed), Ticket.status.in_(expected))
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.refresh(ticket)
        raise _wrong_status(ticket, action)
    session.refresh(ticket)
    record_history(session, ticket, action, before, actor, now, data)
    announce(session, ticket, action, waiting=waiting)


def _wrong_status(ticket: Ticket, action: str) -> Conflict:
    now_is, verb = ticket.status.replace("_", " "), _VERBS.get(action, action)
    return Conflict(f"ticket {ticket.code} is {now_is}; cannot {verb}", code="wrong_status")


def recall(session: Session, ticket: Ticket, *, actor: str = "", now=None) -> Ticket:
    """Announce a called ticket again."""
    now = now or utcnow()
    _move(
        session,
        ticket,
        (S.CALLED,),
        S.CALLED,
        "recalled",
        actor,
        now,
        # Counted by the database: two recalls at once are two recalls.
        values={"recalls": Ticket.recalls + 1, "called_at": now},
    )
    return ticket


def start_service(session: Session, ticket: Ticket, *, actor: str = "", now=None) -> Ticket:
    followers.lock(session, ticket)  # its visit starts too: the visit's row first
    _move(session, ticket, (S.CALLED,), S.IN_SERVICE, "started", actor, now or utcnow())
    return ticket


def finish_service(
    session: Session, ticket: Ticket, *, tz: ZoneInfo, actor: str = "", now=None
) -> Ticket | None:
    """Served. If the ticket came by a transfer that asked for it, the patient goes back to
    the first queue at a higher priority; returns that new ticket (or None).

    A first queue that takes no ticket any more (closed for the day, or switched off) does
    not keep the doctor from finishing: the patient is served and not sent back."""
    now = now or utcnow()
    followers.lock(session, ticket)  # its visit (and the one he returns to) first
    back_to = session.get(Queue, ticket.return_to_queue_id) if ticket.return_to_queue_id else None
    if back_to is not None:
        # Sent back, he takes a number in the first queue's day: both days' rows are taken
        # first, as a transfer takes them, so that a transfer the other way between the same
        # two queues waits for this one (or this one for it) instead of a deadlock.
        numbering.lock_days_in_order(session, ticket.queue_day_id, back_to, clinic_day(now, tz))
    _move(session, ticket, (S.IN_SERVICE, S.CALLED), S.SERVED, "served", actor, now)
    return returns.send_back(session, ticket, tz=tz, actor=actor, now=now)


def mark_no_show(session: Session, ticket: Ticket, *, actor: str = "", now=None) -> Ticket:
    followers.lock(session, ticket)
    _move(session, ticket, (S.CALLED,), S.NO_SHOW, "no_show", actor, now or utcnow())
    return ticket


def postpone(session: Session, ticket: Ticket, *, actor: str = "", now=None) -> Ticket:
    """Put a called (or waiting) ticket on the postponed list, to be called back later."""
    _move(session, ticket, (S.CALLED, S.WAITING), S.POSTPONED, "postponed", actor, now or utcnow())
    return ticket


def call_back(
    session: Session,
    ticket: Ticket,
    *,
    room_id: int | None = None,
    actor: str = "",
    now=None,
    doctor_id: int | None = None,
) -> Ticket:
    """Call a postponed ticket, when its room is free (as :func:`call_next`). A "pay before
    the doctor" queue calls back only a paid ticket, as call next calls only those: a patient
    postponed before paying, or refunded since, is called once he has paid (the ticket's
    row taken after the day's, as call next takes it: a refund in full being committed is
    waited for, and refuses the call). Doctor ``doctor_id`` (the caller) does not call back
    a colleague's booked patient (409)."""
    _refuse_unpaid(ticket)
    room = rooms.room_of_call(session, room_id if room_id is not None else ticket.queue.room_id)
    rooms.lock_room(session, room)
    day = _lock_day_by_id(session, ticket.queue_day_id)
    # As it is now that the room and the day are held, its row taken until the commit.
    session.scalar(_locked(session, select(Ticket).where(Ticket.id == ticket.id)))
    if ticket.status != S.POSTPONED:  # pressed twice: called already, not a busy room
        raise _wrong_status(ticket, "called_back")
    _refuse_unpaid(ticket)  # refunded in full meanwhile
    rooms.check_room_free(session, day, room)
    reserved.check_may_call(session, ticket, doctor_id)
    if elsewhere.taken_elsewhere(session, ticket, day.day):
        # Gone to the X-ray meanwhile: called here, he would not come.
        detail = f"{ticket.code}'s patient is with another doctor now: call him back once free"
        raise Conflict(detail, code="patient_elsewhere", errors={"ticket_id": [detail]})
    _move(
        session, ticket, (S.POSTPONED,), S.CALLED, "called_back", actor, now or utcnow(), room=room
    )
    return ticket


def _refuse_unpaid(ticket: Ticket) -> None:
    if ticket.status == S.POSTPONED and ticket.queue.pay_before_doctor and ticket.paid_at is None:
        detail = f"{ticket.code} is not paid yet: this queue calls only paid tickets"
        raise Conflict(detail, code="not_paid", errors={"ticket_id": ["not paid"]})


def came_back(session: Session, ticket: Ticket, *, tz: ZoneInfo, actor: str = "", now=None):
    """A patient marked a no-show who turns up after all (he did not hear the call), the same
    day while the queue still takes patients: back on the postponed list, for the doctor to
    call back once his room is free. Not a ticket checked in for an appointment: its visit was
    marked missed with it (409 ``visit_ticket``); nor a patient given another ticket of the
    queue's day since, still in the queue (409 ``patient_in_queue``, naming it)."""
    now = now or utcnow()
    if ticket.status == S.NO_SHOW and ticket.visit_id is not None:
        detail = f"{ticket.code} is for visit {ticket.visit_id}, marked missed with it"
        raise Conflict(detail, code="visit_ticket", errors={"ticket_id": [detail]})
    # The day's row first (the closing locks it too): a day closing now is closed for him.
    day = _lock_day_by_id(session, ticket.queue_day_id)
    if day.closed_at is not None or day.day != clinic_day(now, tz):
        raise QueueRefused(f"{ticket.code} is of a day already closed", code="queue_closed")
    check_open(ticket.queue, now, tz)
    rejoined.check_not_rejoined(session, ticket)
    # Given another ticket of the queue's day meanwhile (at the desk): he waits on that one.
    refuse_a_second_place(session, ticket, ticket.patient_id)
    values = {"finished_at": None}
    _move(session, ticket, (S.NO_SHOW,), S.POSTPONED, "came_back", actor, now, values=values)
    return ticket


def cancel(
    session: Session,
    ticket: Ticket,
    *,
    actor: str = "",
    reason: str = "",
    now=None,
    allowed: tuple[str, ...] = S.ACTIVE,
) -> Ticket:
    """Cancel the ticket. An online ticket gives its place back to the day's online places:
    another patient may join in it, and a phone that joins and leaves again and again holds
    one place at most. Only the ticket he joined with took a place: one a transfer opened
    (sent on, or back) holds none in its queue to give back. The day's row is locked first,
    as every step locks it; a refusal's rollback undoes the count."""
    if ticket.source == TicketSource.ONLINE and ticket.transferred_from_id is None:
        session.execute(
            update(QueueDay)
            .where(QueueDay.id == ticket.queue_day_id, QueueDay.online_issued > 0)
            .values(online_issued=QueueDay.online_issued - 1)
            .execution_options(synchronize_session=False)
        )
    _move(
        session,
        ticket,
        allowed,
        S.CANCELLED,
        "cancelled",
        actor,
        now or utcnow(),
        data={"reason": reason[:CANCEL_REASON_MAX]} if reason else None,
    )
    return ticket


def transfer(
    session: Session,
    ticket: Ticket,
    to_queue_id: int,
    *,
    tz: ZoneInfo,
    comment: str = "",
    return_after: bool = False,
    actor: str = "",
    now=None,
    priority_at_least: int | None = None,
) -> Ticket:
    """Close this ticket and open a linked one in another queue, keeping the queue time.

    With ``return_after``, serving the new ticket sends the patient back to this queue at a
    higher priority; without a return, the new ticket carries this one's visit. Sent by hand
    to the queue he was to come back to, he comes back as a return would bring him.
    ``priority_at_least``: the new ticket's lowest priority (an appointment moved to another
    doctor's queue is that doctor's appointment, ahead of his walk-ins).
    """
    now = now or utcnow()
    target = session.get(Queue, to_queue_id) if is_id(to_queue_id) else None
    if target is None:
        raise NotFound(
            f"queue {to_queue_id} does not exist", errors={"to_queue_id": ["unknown queue"]}
        )
    if target.id == ticket.queue_id:
        raise ValidationFailed("transfer to another queue", errors={"to_queue_id": ["same queue"]})
    # The visit the new ticket carries (his own, or the one he comes back to) is locked
    # before the days' rows, as the calendar locks it before moving its ticket.
    followers.lock(session, ticket)
    # Both days' rows next, the lower id first, whatever the ticket's status: the step is
    # recorded on this queue's event counters and the new ticket on the target's, so two
    # transfers crossing between the same two queues (called patients too) would each hold
    # one queue's counters and wait for the other's (a deadlock), instead of taking turns.
    numbering.lock_days_in_order(session, ticket.queue_day_id, target, clinic_day(now, tz))
    _move(
        session,
        ticket,
        S.ACTIVE,
        S.TRANSFERRED,
        "transferred",
        actor,
        now,
        data={"to_queue_id": target.id, "comment": comment[:COMMENT_MAX]},
    )
    held = returns.held_there(session, ticket, target.id)
    return_to = returns.returns_to(ticket, target.id, return_after, held)
    priority, visit_id, paid_at = ticket.priority, ticket.visit_id, None
    if held is not None:
        # Sent back by hand to the queue he was to come back to: as on a return, ahead of the
        # walk-ins, with his appointment and his payment there.
        priority = max(ticket.priority, Priority.RETURNED)
        visit_id, paid_at = held.visit_id, held.paid_at
    else:
        # Ahead of the walk-ins only where he comes back to: in any other queue he is its
        # own patient, by his queue time (an urgent one stays urgent, a privileged one too).
        if priority == Priority.RETURNED:
            priority = returns.priority_elsewhere(session, ticket)
        if return_to is not None:
            # One who is to come back finds his appointment again on his return; sent on
            # for good, he takes it along, and serving him there completes it.
            visit_id = None
    if priority_at_least is not None:
        priority = max(priority, priority_at_least)
    try:
        new = issue_ticket(
            session,
            target.id,
            tz=tz,
            source=ticket.source,
            priority=priority,
            patient_id=ticket.patient_id,
            phone=rejoined.phone_carried(session, ticket, target.id, clinic_day(now, tz)),
            # The desk's note (an allergy) follows the patient unless the sender writes another.
            comment=comment or ticket.comment,
            actor=actor,
            now=now,
            queued_at=ticket.queued_at,
            transferred_from_id=ticket.id,
            visit_id=visit_id,
            paid_at=paid_at,
            return_to_queue_id=return_to,
        )
    except QueueRefused as refused:
        # The queue sent to refuses (closed, switched off): said of that queue, not the
        # sender's own. The caller's rollback undoes the transfer.
        raise QueueRefused(
            f"queue {target.code}: {refused.detail}",
            code=refused.code,
            errors={"to_queue_id": [refused.detail]},
        ) from refused
    return new
