"""What follows a ticket's steps outside the queue, locked before the queue's own rows.

A checked-in patient's visit moves with his ticket (started, served, a no-show, sent on to
another queue, closed with the day), and the calendar moves the ticket with the visit. The
calendar locks the visit first, then the queue's rows (the day, the ticket); a step taken
from the queue takes them in the same order, the visit first, instead of holding the ticket
while it waits for the visit that the calendar holds while it waits for the ticket (a
deadlock: PostgreSQL would kill one of the two, and its user would get a 503).

The queue knows nothing of visits (visits depend on the queue): the visits module registers
how its rows are locked, with :func:`on_lock`.
"""

from __future__ import annotations

from typing import Callable

from sqlalchemy.orm import Session

from clinic.queue.models import Ticket

# fn(session, visit_ids): lock those visits' rows, in the order of their ids.
Locker = Callable[[Session, list[int]], None]
_lockers: list[Locker] = []


def on_lock(fn: Locker) -> Locker:
    """Register ``fn``, run before a ticket's step that its visit follows."""
    _lockers.append(fn)
    return fn


def visits_of(session: Session, ticket: Ticket) -> list[int]:
    """The visits a step of ``ticket`` may move: its own, and those of the tickets it was
    transferred from (a patient sent back from the laboratory comes back to the appointment
    of the ticket he was sent away from)."""
    found, current = set(), ticket
    while current is not None:
        if current.visit_id is not None:
            found.add(current.visit_id)
        current = (
            session.get(Ticket, current.transferred_from_id)
            if current.transferred_from_id is not None
            else None
        )
    return sorted(found)


def lock(session: Session, ticket: Ticket) -> None:
    """Lock what a step of ``ticket`` will change beyond the queue, before any of the queue's
    rows: call it first thing in a step its visit follows."""
    visit_ids = visits_of(session, ticket)
    if visit_ids:
        for locker in _lockers:
            locker(session, visit_ids)


def lock_for(session: Session, tickets) -> None:
    """Lock what steps of all ``tickets`` will change beyond the queue, in one order (the
    visits' ids), before any of the queue's rows: for a step over many tickets at once, such
    as a day's close, which then takes the day's row."""
    visit_ids = sorted({visit_id for ticket in tickets for visit_id in visits_of(session, ticket)})
    if visit_ids:
        for locker in _lockers:
            locker(session, visit_ids)
