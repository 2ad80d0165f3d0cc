"""Who is asking, read on every request in one statement: the facts of a user that decide his
rights (roles, active, lock, session version), as plain values rather than ORM objects to
build, track and expire."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from clinic.accounts.models import User, UserRole

COLUMNS = (
    User.id,
    User.username,
    User.full_name,
    User.doctor_id,
    User.session_version,
    User.active,
    User.locked_until,
    User.language,
)


@dataclass(frozen=True)
class Holder:
    """A user as an identity needs him (see web/auth/identity.py)."""

    id: int
    username: str
    full_name: str
    roles: tuple[str, ...]
    doctor_id: int | None
    session_version: int
    active: bool
    locked_until: datetime | None
    # The interface language he chose (ru, uz, en), or None: the computer's choice then.
    language: str | None = None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


def with_roles(query: Select) -> Select:
    """``query`` (over the user's columns and others) with one row per role of the user."""
    return query.add_columns(UserRole.role).outerjoin(UserRole, UserRole.user_id == User.id)


def holder_of(rows) -> Holder | None:
    """The holder in ``rows`` of a :func:`with_roles` query (all of one user), or None."""
    if not rows:
        return None
    first = rows[0]
    return Holder(
        id=first.id,
        username=first.username,
        full_name=first.full_name,
        roles=tuple(sorted({row.role for row in rows if row.role is not None})),
        doctor_id=first.doctor_id,
        session_version=first.session_version,
        active=first.active,
        locked_until=first.locked_until,
        language=first.language,
    )


_BY_ID = with_roles(select(*COLUMNS)).where(User.id == bindparam("user_id"))


def holder_by_id(session: Session, user_id: int) -> Holder | None:
    """The user ``user_id`` with his roles, or None when there is no such user."""
    return holder_of(session.connection().execute(_BY_ID, {"user_id": user_id}).all())
