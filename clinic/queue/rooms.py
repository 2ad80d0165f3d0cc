"""A room holds one patient at a time: the room a call sends the patient to, its turn, and
the ticket that holds it (called, or with the doctor). Used by :mod:`clinic.queue.calls`."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.base import is_id
from clinic.errors import Conflict, ValidationFailed
from clinic.queue.models import Queue, QueueDay, Ticket
from clinic.queue.models import TicketStatus as S
from clinic.reference.models import Room


def room_of_call(session: Session, room_id: int | None) -> Room | None:
    if room_id is None:
        return None
    room = session.get(Room, room_id) if is_id(room_id) else None
    if room is None:
        raise ValidationFailed("unknown room", errors={"room_id": ["no such room"]})
    if not room.active:
        # Taken out of use: nobody is called into it, whether the call names it or it is the
        # calling doctor's own room, which his record still names.
        raise ValidationFailed(
            f"room {room.number} is deactivated", errors={"room_id": ["the room is deactivated"]}
        )
    return room


class RoomBusy(Conflict):
    """The room already has its patient: called, or with the doctor."""


def lock_room(session: Session, room: Room | None) -> None:
    # Two queues may call into one room: the room's row, taken before any day's row, makes
    # their callers take turns over the room's one place.
    if room is not None and session.get_bind().dialect.name == "postgresql":
        session.execute(select(Room.id).where(Room.id == room.id).with_for_update())


def room_holder(session: Session, room_id: int | None, queue_id: int) -> Ticket | None:
    """The ticket that holds room ``room_id``: called or in service, of a day not closed yet.
    Without a room (a queue that calls nowhere in particular), the queue's own such ticket.

    Any day not closed yet, not only today's: a patient still with his doctor past midnight
    holds the room until he is finished, and the new day's first call waits for him."""
    busy = (
        select(Ticket)
        .join(QueueDay, QueueDay.id == Ticket.queue_day_id)
        .where(Ticket.status.in_((S.CALLED, S.IN_SERVICE)), QueueDay.closed_at.is_(None))
    )
    if room_id is None:
        busy = busy.where(QueueDay.queue_id == queue_id, Ticket.room_id.is_(None))
    else:
        busy = busy.where(Ticket.room_id == room_id)
    return session.scalar(busy.order_by(Ticket.called_at, Ticket.id).limit(1))


def holder_now(
    session: Session, queue: Queue, room_id: int | None, *, tz: ZoneInfo, now=None
) -> Ticket | None:
    """Who holds the room a call on ``queue`` would go to (the doctor's screen), as a call
    would find it: :func:`room_holder`. The clinic day of ``now`` (in ``tz``) does not narrow
    it, since a patient of the day before may still hold the room past midnight."""
    return room_holder(session, room_id, queue.id)


def check_room_free(session: Session, day: QueueDay, room: Room | None) -> None:
    holder = room_holder(session, room.id if room is not None else None, day.queue_id)
    if holder is not None:
        where = f"room {room.number}" if room is not None else "this queue"
        raise RoomBusy(
            f"{holder.code} is still {holder.status.replace('_', ' ')} in {where}: "
            "finish it, mark a no-show or postpone it first",
            code="room_busy",
            # Who holds it, by his ticket and its queue: the doctor's screen says whether he
            # is of the queue it shows (whose event may not have come yet) or of another one.
            errors={"room_id": [f"{holder.code} holds the room"]},
            values={"holder_code": holder.code, "holder_queue_id": holder.queue_id},
        )
