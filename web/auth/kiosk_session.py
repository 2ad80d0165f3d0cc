"""The self-service kiosk's session stands open in the hall all day and is touched only when
a patient takes a ticket. The idle limit that signs a member of staff out of a desk left
alone (``CLINIC_SESSION_IDLE_MINUTES``) would sign the kiosk out between two patients, and
the next one would meet the sign-in page. A session signed in by an account whose only role
is ``kiosk`` (it holds ``queue.kiosk`` alone: plain tickets, nothing about anybody) is kept
for :data:`KIOSK_IDLE` without a request instead. Everything else that ends a session ends
it as any other: signing out, a new password, other roles, the account disabled, closing
the browser."""

from __future__ import annotations

from datetime import timedelta

from clinic.accounts.permissions import stands_open

KIOSK_IDLE = timedelta(days=7)
MARK = "_stands_open"


def mark(http_session, roles) -> None:
    """At sign-in: the session is a kiosk's, or it is not (a browser signed in again)."""
    if stands_open(roles):
        http_session[MARK] = True
    else:
        http_session.pop(MARK, None)


def lifetime(session, idle: timedelta) -> timedelta:
    """How long ``session`` is stored without a request: :data:`KIOSK_IDLE` for a kiosk's,
    ``idle`` (the staff's idle limit) for every other."""
    return KIOSK_IDLE if session.get(MARK) else idle
