"""The calendars told last. A step of the queue takes the queue day's row, then records its
events (the queue's counters), then those of the visit following its ticket (the calendars'
counters). A change that records a visit's calendar events and then takes a queue's rows
(another visit's ticket, in a bulk move) would hold the calendars' counters while it waits
for a day's row a step holds while it waits for them: PostgreSQL fails one of the two with a
deadlock. So a change over many visits holds its calendar events back to its end."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy.event import listens_for
from sqlalchemy.orm import Session, SessionTransaction

from clinic.events import record_event, record_events

# The session's events held back, each with the transaction (or savepoint) it was made in.
_HELD = "visits.calendar_events_held"


def tell_calendars(session: Session, events: list[tuple[str, str, dict]]) -> None:
    """Record ``events`` on calendar channels, or hold them back for the end of
    :func:`calendars_told_last` when the session is inside it."""
    held = session.info.get(_HELD)
    if held is None:
        for channel, type_, data in events:
            record_event(session, channel, type_, data)
        return
    transaction = session.get_nested_transaction() or session.get_transaction()
    held.extend((transaction, one) for one in events)


@contextmanager
def calendars_told_last(session: Session):
    """The calendars' events recorded within are recorded on leaving it, in one batch, after
    the queue's rows and counters all that was done within took: a change over many visits
    (a bulk move carrying their tickets) takes them in the order a step of the queue does.
    Those of a savepoint rolled back within are never recorded; none, if it raises."""
    if _HELD in session.info:  # within one already: that one records them
        yield
        return
    held: list[tuple[SessionTransaction, tuple[str, str, dict]]] = []
    session.info[_HELD] = held
    try:
        yield
    finally:
        session.info.pop(_HELD, None)
    if held:
        record_events(session, [one for _transaction, one in held])


@listens_for(Session, "after_soft_rollback")
def _forget_held(session: Session, previous: SessionTransaction) -> None:
    held = session.info.get(_HELD)
    if held and previous.nested:
        held[:] = [(t, one) for t, one in held if not _within(t, previous)]


def _within(transaction: SessionTransaction | None, savepoint: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is savepoint:
            return True
        transaction = transaction.parent
    return False
