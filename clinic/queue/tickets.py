"""The electronic queue's rules: issuing tickets (joining online is in
:mod:`clinic.queue.joining`, calling and serving in :mod:`clinic.queue.calls`).

Numbers are counted per queue per clinic day (the day starts at 00:00 in the clinic's time
zone, whatever the server's clock zone) by one atomic ``UPDATE ... RETURNING`` on the day's
counter row, so concurrent desks never share a number. Every change records events on the
queue's staff channel, its board channel (numbers and rooms only: no names, no phones) and
the ticket's own channel.

A ticket issued once per request key (the kiosk's, a joining phone's): clinic.queue.issued_once.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from clinic.base import clock_text, is_id, utcnow
from clinic.db import note_written, sends_with_commit
from clinic.errors import Conflict, NotFound, ValidationFailed
from clinic.events import record_events
from clinic.queue import events as queue_events
from clinic.queue import numbering, reserved
from clinic.queue.limits import COMMENT_MAX
from clinic.queue.models import Priority, Queue, QueueDay, Ticket, TicketEvent, TicketSource
from clinic.queue.models import TicketStatus as S
from clinic.queue.one_place import PatientInQueue, patient_and_held
from clinic.queue.ticket_views import board_view, ticket_as_dict

PRINT_CHANNEL = "printing:tickets"


class QueueRefused(Conflict):
    """The queue will not take this ticket now; ``code`` says why."""


def clinic_day(now: datetime, tz: ZoneInfo) -> date:
    """The clinic's calendar day at ``now``: counted in its own time zone, not the server's."""
    return now.astimezone(tz).date()


def staff_channel(queue_id: int) -> str:
    return f"queue:{queue_id}"


def board_channel(queue_id: int) -> str:
    return f"board:{queue_id}"


def ticket_channel(ticket_id: int) -> str:
    return f"ticket:{ticket_id}"


def _unknown_queue(queue_id) -> NotFound:
    return NotFound(f"queue {queue_id} does not exist", errors={"queue_id": ["unknown queue"]})


def get_queue(session: Session, queue_id: int) -> Queue:
    queue = session.get(Queue, queue_id) if is_id(queue_id) else None
    if queue is None:
        raise _unknown_queue(queue_id)
    return queue


def get_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id) if is_id(ticket_id) else None
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} does not exist")
    return ticket


def ticket_by_token(session: Session, token: str) -> Ticket | None:
    if not isinstance(token, str) or not 20 <= len(token) <= 43:
        return None
    return session.scalar(select(Ticket).where(Ticket.token == token))


_ONWARD = (
    select(Ticket).where(Ticket.transferred_from_id == bindparam("from_id")).order_by(Ticket.id)
)


def followed(session: Session, ticket: Ticket) -> Ticket:
    """The ticket the holder of ``ticket`` holds now: the one a transfer opened from it, and
    the one he was sent back with after that service, and so on; ``ticket`` itself when he
    was never sent on. (Each is newer than the one it came from: the chain has an end.)"""
    while (onward := session.scalar(_ONWARD, {"from_id": ticket.id})) is not None:
        ticket = onward
    return ticket


def find_day(session: Session, queue_id: int, day: date) -> QueueDay | None:
    return session.scalar(
        select(QueueDay).where(QueueDay.queue_id == queue_id, QueueDay.day == day)
    )


def waiting_count(session: Session, queue_day_id: int) -> int:
    """How many wait in the day: its kept count, one row, however long the day."""
    return session.scalar(select(QueueDay.waiting).where(QueueDay.id == queue_day_id)) or 0


def change_waiting(session: Session, queue_day_id: int, by: int) -> int:
    """Count tickets joining (``by`` > 0) or leaving the day's waiting list; answers the new
    count. Locks the day's row until commit, as issuing and calling do."""
    return session.execute(
        update(QueueDay)
        .where(QueueDay.id == queue_day_id)
        .values(waiting=QueueDay.waiting + by)
        .returning(QueueDay.waiting)
        .execution_options(synchronize_session=False)
    ).scalar_one()


def waiting_today(session: Session, queue_id: int, *, tz: ZoneInfo, now=None) -> int:
    """How many wait in the queue on today's clinic day (0 before its first ticket)."""
    return waiting_today_by_queue(session, [queue_id], tz=tz, now=now).get(queue_id, 0)


_WAITING_BY_QUEUE = select(QueueDay.queue_id, QueueDay.waiting).where(
    QueueDay.queue_id.in_(bindparam("queue_ids", expanding=True)),
    QueueDay.day == bindparam("on_day"),
)


def waiting_today_by_queue(
    session: Session, queue_ids: list[int], *, tz: ZoneInfo, now=None
) -> dict[int, int]:
    """Today's waiting count of each of ``queue_ids``, in one statement (absent: none wait)."""
    rows = session.execute(
        _WAITING_BY_QUEUE,
        {"queue_ids": list(queue_ids), "on_day": clinic_day(now or utcnow(), tz)},
    )
    return {queue_id: count for queue_id, count in rows}


def set_paid(
    session: Session, ticket_id: int, paid_at: datetime | None, *, actor: str, now, data: dict
) -> None:
    """The ticket paid at ``paid_at`` (a "pay before the doctor" queue may call it), or unpaid
    again (``None``: its invoice was refunded in full) while it has not been called yet; once
    each way, with its history row and events (``ticket.paid``, ``ticket.refunded``)."""
    if paid_at is not None:
        action, only = "paid", (Ticket.paid_at.is_(None),)
    else:
        action = "refunded"
        only = (Ticket.paid_at.is_not(None), Ticket.status.in_((S.WAITING, S.POSTPONED)))
    changed = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, *only)
        .values(paid_at=paid_at)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount == 1:
        ticket = session.get(Ticket, ticket_id)
        session.refresh(ticket)
        record_history(session, ticket, action, ticket.status, actor, now, data)
        announce(session, ticket, action)


def announce(
    session: Session,
    ticket: Ticket,
    action: str,
    *,
    also=(),
    waiting: int | None = None,
    with_commit: bool = False,
    lead=None,
    day: date | None = None,
) -> None:
    """Record ``ticket.<action>`` on the staff, board and ticket channels (part of the
    transaction of the change), with any further ``(channel, type, data)`` events in ``also``:
    all of them in one batch. ``waiting``: the day's count when the caller has it;
    ``with_commit``, ``lead``: the change's last events, and the statement they follow (see
    :func:`clinic.events.outbox.record_events`). ``day``: the ticket's day, when the caller
    has it (the staff screens keep each day's tickets apart)."""
    session.flush()
    if waiting is None:
        waiting = waiting_count(session, ticket.queue_day_id)
    day = day or session.get(QueueDay, ticket.queue_day_id).day
    # Each audience gets the fields its shape in the catalogue names (clinic/queue/events.py).
    event = queue_events.TICKET_EVENTS[action]
    everything = {**ticket_as_dict(ticket), **board_view(ticket), "waiting": waiting}
    everything.update(reserved.fields(session, ticket))  # no statement for a walk-in's
    everything["day"] = day.isoformat()
    channels = (
        staff_channel(ticket.queue_id),
        board_channel(ticket.queue_id),
        ticket_channel(ticket.id),
    )
    record_events(
        session,
        [(channel, event.name, event.data_for(channel, everything)) for channel in channels]
        + list(also),
        with_commit=with_commit,
        lead=lead,
    )


def record_history(
    session: Session, ticket: Ticket, action: str, before: str | None, actor: str, now, data=None
) -> None:
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            at=now,
            action=action,
            from_status=before,
            to_status=ticket.status,
            actor=actor[:64],
            data=data,
        )
    )


# -- issuing --------------------------------------------------------------------------------


def issue_ticket(
    session: Session,
    queue_id: int,
    *,
    tz: ZoneInfo,
    source: str = TicketSource.DESK,
    priority: int = Priority.NORMAL,
    patient_id: int | None = None,
    phone: str | None = None,
    comment: str = "",
    actor: str = "",
    now: datetime | None = None,
    queued_at: datetime | None = None,
    transferred_from_id: int | None = None,
    return_to_queue_id: int | None = None,
    paid_at: datetime | None = None,
    visit_id: int | None = None,
    commit: bool = False,
    read_along: numbering.ReadAlong | None = None,
    request_key: str | None = None,
    one_per_patient: bool = False,
) -> Ticket:
    """A new waiting ticket with the queue's next number for the clinic day of ``now``.

    ``read_along`` reads more of the queue with the statement that reads it for issuing, and
    is given its row before anything is checked.

    ``commit``: the ticket is the transaction's last change (at the desk or the kiosk), and
    the transaction is committed here. On PostgreSQL the number, the ticket, its history and
    its events then go to the server in one message with the ``COMMIT`` (and with what else
    goes with it: the request's audit row), so that the day's counter row is locked for no
    round trip at all; a day closed since it was read is refused then.

    ``request_key``: kept on the ticket, in the insert that writes it (see
    clinic.queue.issued_once).

    ``one_per_patient``: a patient who holds a ticket of the queue's day still in the queue
    (waiting, called, with the doctor or postponed) is refused with :class:`PatientInQueue`
    (on PostgreSQL his row is taken first, then his tickets read: a statement more). The
    desk's issuing asks it; a check-in, a transfer and a return do not: the ticket each
    opens is the patient's place by his appointment or by where a doctor sent him, under
    rules of their own."""
    now = now or utcnow()
    day = clinic_day(now, tz)
    with_commit = commit and sends_with_commit(session)
    statement = numbering.ISSUING_QUEUE_AND_DAY if with_commit else numbering.ISSUING_QUEUE
    if read_along is not None:
        statement = read_along.statement(statement)
    queue = (
        session.execute(statement, {"queue_id": queue_id, "on_day": day}).first()
        if is_id(queue_id)
        else None
    )
    if queue is None:
        raise _unknown_queue(queue_id)
    if read_along is not None:
        read_along.take(queue)
    # What was asked is checked first (a 422 naming the field, whatever the hour), then
    # whether the queue takes a ticket now.
    if source not in TicketSource.ALL:
        raise ValidationFailed("unknown source", errors={"source": [f"one of {TicketSource.ALL}"]})
    if priority not in Priority.NAMES.values():
        raise ValidationFailed("unknown priority", errors={"priority": [", ".join(Priority.NAMES)]})
    patient, held = patient_and_held(session, patient_id, queue.id, day, one_per_patient)
    if patient_id is not None and patient is None:
        raise ValidationFailed("unknown patient", errors={"patient_id": ["no such patient"]})
    if patient is not None and not patient.active and transferred_from_id is None:
        # A deactivated record is chosen for nothing new (as attaching and booking refuse
        # it); a patient already in the queue is still sent on and back with his ticket.
        raise ValidationFailed(
            "the patient's record is deactivated", errors={"patient_id": ["inactive patient"]}
        )
    if held is not None:
        # Said first, as online joining says ``already_joined``: he is in the queue, whatever
        # the hour, and the desk prints that ticket again.
        raise PatientInQueue(held)
    if not queue.active:
        raise QueueRefused("the queue is not active", code="queue_inactive")
    check_open(queue, now, tz)
    # Everything that can be read or checked is done above: from here to the commit the
    # day's counter row is locked, so only the writes of the ticket itself follow.
    values = {
        "queue_day_id": None,
        "queue_id": queue.id,
        "number": None,
        "code": None,
        "source": source,
        "priority": priority,
        "status": S.WAITING,
        "room_id": None,
        "patient_id": patient_id,
        "visit_id": visit_id,
        "phone": phone,
        "comment": (comment or "")[:COMMENT_MAX],
        "token": secrets.token_urlsafe(32),
        "queued_at": queued_at or now,
        "created_at": now,
        "called_at": None,
        "started_at": None,
        "finished_at": None,
        "recalls": 0,
        "paid_at": paid_at,
        "transferred_from_id": transferred_from_id,
        "return_to_queue_id": return_to_queue_id,
    }
    if request_key is not None:  # without one, written as before (numbering.write_ticket)
        values["request_key"] = request_key
    first = {
        "at": now,
        "action": "issued",
        "from_status": None,
        "to_status": S.WAITING,
        "actor": actor[:64],
        "data": {"source": source},
    }
    if with_commit:
        return _issue_with_commit(session, queue, day, values, first)
    # Plain statements while the counter row is locked: the ticket enters the session as a
    # loaded row, without a unit of work to flush.
    written = numbering.write_ticket(session, queue, day, values, first)
    if written is None:
        raise QueueRefused("the queue is closed for today", code="queue_closed")
    ticket_id, waiting = written
    ticket = _loaded(session, ticket_id, values)
    announce(session, ticket, "issued", also=_print_request(ticket), waiting=waiting, day=day)
    if commit:
        session.commit()
    return ticket


def _loaded(session: Session, ticket_id: int, values: dict) -> Ticket:
    """The ticket written by a plain insert, entered in the session as a loaded row."""
    # ``values`` name a request key only when the request sent one.
    ticket = Ticket(id=ticket_id, **{"request_key": None, **values})
    make_transient_to_detached(ticket)
    session.add(ticket)
    note_written(session, "tickets", ticket_id)
    return ticket


def _print_request(ticket: Ticket) -> list[tuple[str, str, dict]]:
    """The printing module prints from this; until then the ticket page prints in the browser.
    A patient joining from his phone is not at the desk: his ticket is not printed there,
    where the paper would lie with his page's secret."""
    if ticket.source == TicketSource.ONLINE:
        return []
    data = {"ticket_id": ticket.id, "code": ticket.code, "queue_id": ticket.queue_id}
    return [(PRINT_CHANNEL, queue_events.PRINT_REQUESTED.name, data)]


def _issue_with_commit(session: Session, queue, day: date, values: dict, first: dict) -> Ticket:
    """PostgreSQL: the ticket of ``values``, with its id taken, numbered by the statement that
    goes with the COMMIT; its events follow in the same statement (see
    :func:`clinic.queue.numbering.issuing_lead`), and the transaction is committed here."""
    day_id, closed_at = queue.day_id, queue.day_closed_at
    if day_id is None:  # the day's first ticket makes its row
        numbering.ensure_day(session, queue, day)
        made = find_day(session, queue.id, day)
        day_id, closed_at = made.id, made.closed_at
    if closed_at is not None:
        raise QueueRefused("the queue is closed for today", code="queue_closed")
    # Until the commit answers, the number and code are placeholders of their types.
    ticket = _loaded(
        session, queue.ticket_id, {**values, "queue_day_id": day_id, "number": 0, "code": ""}
    )

    def numbered(answered: dict) -> None:
        for name in ("number", "code"):
            set_committed_value(ticket, name, answered[name])

    lead = numbering.issuing_lead(
        day_id, queue.prefix, {**values, "id": ticket.id}, first, numbered
    )
    announce(session, ticket, "issued", also=_print_request(ticket), waiting=0, lead=lead, day=day)
    try:
        session.commit()
    except DBAPIError as exc:
        closed = numbering.refused_with_commit(exc) == "queue_closed"
        # A request key another ticket took at the same moment: the caller answers that one.
        key_taken = isinstance(exc, IntegrityError) and "request_key" in values
        if not closed and not key_taken:
            raise
        session.rollback()
        if ticket in session:  # never written: not a row of the session's to load again
            session.expunge(ticket)
        if key_taken:
            raise
        raise QueueRefused("the queue is closed for today", code="queue_closed") from exc
    return ticket


def local_time(now: datetime, tz: ZoneInfo):
    return now.astimezone(tz).time()


def check_open(queue: Queue, now: datetime, tz: ZoneInfo) -> None:
    """Refuse a ticket once the queue's closing time (clinic time) has passed today: the
    closing task would only turn it into a no-show minutes later."""
    if local_time(now, tz) >= queue.closes_at:
        raise QueueRefused(
            f"the queue closed at {clock_text(queue.closes_at)} today", code="queue_closed"
        )
