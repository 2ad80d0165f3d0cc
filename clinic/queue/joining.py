"""A patient joins a queue from his phone: within the queue's online window and its daily
limit of online places, one active ticket per phone per day. The same phone asking again is
refused (409 ``already_joined``) and given nothing of the ticket: a phone number is no secret,
and the ticket's link reads it and gives up its place. A patient who lost his link is helped
at the desk, which finds his ticket by the phone and prints it again. And he leaves the queue
from his ticket's own page, whoever issued the ticket."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clinic.base import clock_text, utcnow
from clinic.errors import ValidationFailed
from clinic.queue import calls, numbering
from clinic.queue.issued_once import issued_for, request_key_of
from clinic.queue.models import QueueDay, Ticket, TicketSource
from clinic.queue.models import TicketStatus as S
from clinic.queue.rejoined import active_online_ticket
from clinic.queue.tickets import (
    QueueRefused,
    check_open,
    clinic_day,
    find_day,
    followed,
    get_queue,
    issue_ticket,
    local_time,
)
from clinic.text import NotAPhone, normalize_phone


class AlreadyJoined(QueueRefused):
    """The phone holds a ticket of the queue's day already: said without naming it."""

    def __init__(self) -> None:
        said = "this phone already has a ticket in this queue today; the desk prints it again"
        super().__init__(said, code="already_joined", errors={"phone": [said]})


def held_online_ticket(session: Session, queue_day_id: int, phone: str) -> Ticket | None:
    """The phone's online ticket of the day that he still holds: active, or sent on (to the
    laboratory, or back from it) to a ticket he holds now, which its page follows."""
    active = active_online_ticket(session, queue_day_id, phone)
    if active is not None:
        return active
    sent_on = session.scalars(
        select(Ticket)
        .where(
            Ticket.queue_day_id == queue_day_id,
            Ticket.phone == phone,
            Ticket.source == TicketSource.ONLINE,
            Ticket.status == S.TRANSFERRED,
        )
        .order_by(Ticket.id.desc())
    )
    return next((t for t in sent_on if followed(session, t).status in S.ACTIVE), None)


def join_online_once(
    session: Session,
    queue_id: int,
    phone: str,
    *,
    tz: ZoneInfo,
    idempotency_key: str | None,
    now: datetime | None = None,
) -> Ticket:
    """:func:`join_online`, committed, and made once per ``idempotency_key``: the same key
    and phone again (the network lost the first answer) get the ticket the first made, its
    secret with it, where a join without the key is refused as :class:`AlreadyJoined`. Only
    the page that sent the key knows it, and it is answered with the same phone only."""
    if idempotency_key is None:
        ticket = join_online(session, queue_id, phone, tz=tz, now=now)
        session.commit()
        return ticket
    request_key = request_key_of("online", idempotency_key)
    try:
        phone = normalize_phone(phone)
    except NotAPhone as exc:
        raise ValidationFailed(str(exc), errors={"phone": [str(exc)]}) from exc
    first = issued_for(session, request_key, queue_id, phone)
    if first is not None:
        return first
    try:
        ticket = join_online(session, queue_id, phone, tz=tz, now=now)
        ticket.request_key = request_key  # written with the join, at its commit
        session.commit()
    except (AlreadyJoined, IntegrityError):
        # The same key's join at the same moment took the phone's place (or the key) first:
        # its ticket stands, and this transaction's number and place went back with it.
        session.rollback()
        first = issued_for(session, request_key, queue_id, phone)
        if first is None:
            raise
        return first
    return ticket


def join_online(
    session: Session, queue_id: int, phone: str, *, tz: ZoneInfo, now: datetime | None = None
) -> Ticket:
    """A patient joins from his phone: his new ticket, whose secret only this answer gives.

    A phone that holds a ticket of the day already (waiting, with the doctor, or sent on to
    the laboratory and not back yet) is refused with :class:`AlreadyJoined`, whatever the
    window or the places left (the duplicate is checked first), and is told nothing of that
    ticket: whoever types a patient's number would otherwise get his ticket's link.
    """
    now = now or utcnow()
    try:
        phone = normalize_phone(phone)
    except NotAPhone as exc:
        raise ValidationFailed(str(exc), errors={"phone": [str(exc)]}) from exc
    queue = get_queue(session, queue_id)
    day = clinic_day(now, tz)
    existing_day = find_day(session, queue.id, day)
    if existing_day is not None:
        # Sent on to the laboratory, he is still in the queue: a second place here would be
        # called for nobody.
        if held_online_ticket(session, existing_day.id, phone) is not None:
            raise AlreadyJoined()
    if not queue.active:
        # Switched off for now, as the desk is told: not "never takes online joining".
        raise QueueRefused("the queue is not active", code="queue_inactive")
    check_open(queue, now, tz)
    if not queue.online_from or not queue.online_until or not queue.online_daily_limit:
        # A window without places (the daily limit left at 0) takes nobody either: said so,
        # rather than "today's places are taken" to a patient who would try again tomorrow.
        raise QueueRefused("this queue does not take online joining", code="online_disabled")
    local = local_time(now, tz)
    if local < queue.online_from:
        raise QueueRefused(
            f"online joining opens at {clock_text(queue.online_from)}", code="window_not_open"
        )
    # A window until 24:00 ends at the day's last instant (clinic.base.END_OF_DAY): a join at
    # 23:59:30 is inside it.
    if local >= queue.online_until:
        raise QueueRefused(
            f"online joining closed at {clock_text(queue.online_until)}", code="window_closed"
        )
    numbering.ensure_day(session, queue, day)
    try:
        with session.begin_nested():
            counted = session.execute(
                update(QueueDay)
                .where(
                    QueueDay.queue_id == queue.id,
                    QueueDay.day == day,
                    QueueDay.online_issued < queue.online_daily_limit,
                )
                .values(online_issued=QueueDay.online_issued + 1)
                .execution_options(synchronize_session=False)
            )
            if counted.rowcount != 1:
                # The same phone's join at the same instant may have taken the last place
                # while this one waited for the day's row: that is the reason, not the places.
                if held_online_ticket(session, find_day(session, queue.id, day).id, phone):
                    raise AlreadyJoined()
                if find_day(session, queue.id, day).closed_at is not None:
                    # Closed for the day: that is the reason, whatever places are left.
                    raise QueueRefused("the queue is closed for today", code="queue_closed")
                raise QueueRefused("today's online places are taken", code="online_limit_reached")
            ticket = issue_ticket(
                session,
                queue.id,
                tz=tz,
                source=TicketSource.ONLINE,
                phone=phone,
                now=now,
                actor=f"online:{phone}",
            )
    except IntegrityError:
        # The same phone joined at the same instant from another request: theirs stands.
        winner = active_online_ticket(session, find_day(session, queue.id, day).id, phone)
        if winner is None:  # pragma: no cover - not the same phone's race: raised as it came
            raise
        raise AlreadyJoined() from None
    return ticket


# A patient leaves while he waits, is called or is postponed; with the doctor, he is the
# doctor's to finish.
LEAVABLE = (S.WAITING, S.CALLED, S.POSTPONED)


def leave(session: Session, ticket: Ticket, *, now: datetime | None = None) -> Ticket:
    """The patient gives up his place from his own page (he changed his mind, or cannot
    come): the ticket is cancelled, by the patient, and the queue moves on without calling
    him. A ticket no longer leavable is a 409 ``wrong_status``."""
    return calls.cancel(
        session, ticket, actor="patient", reason="left the queue", now=now, allowed=LEAVABLE
    )
