"""What other modules show of a reference entity follows its changes: each listener is told,
in the changing transaction, which fields of which entity changed (the queue module's screens
show a department's names, a doctor's name and a room's number in their queues' names; the
visits module's, whom a booked patient waits for)."""

from __future__ import annotations

from typing import Callable

from sqlalchemy.orm import Session

ChangeListener = Callable[[Session, str, object, frozenset], None]
_listeners: list[ChangeListener] = []


def on_change(fn: ChangeListener) -> ChangeListener:
    """Register ``fn(session, kind_name, entity, changed_fields)``: called for every entity
    changed by :func:`clinic.reference.editing.change`, and for one switched off or on again
    by :func:`clinic.reference.editing.set_active` (``{"active"}``)."""
    _listeners.append(fn)
    return fn


def tell_changed(session: Session, kind: str, entity, changed: frozenset) -> None:
    for listener in _listeners:
        listener(session, kind, entity, changed)
