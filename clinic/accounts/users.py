"""Users: creating them, their roles and passwords, signing in, locks after failures."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clinic.accounts import passwords, tokens
from clinic.accounts.access import access_changed
from clinic.accounts.models import User, UserRole
from clinic.accounts.permissions import ROLES, permissions_of
from clinic.base import is_id, iso, utcnow
from clinic.errors import Conflict, NotFound, ValidationFailed
from clinic.reference.models import Doctor

USERNAME_MAX = 64
USERNAME_RE = re.compile(rf"^[a-z0-9][a-z0-9._-]{{1,{USERNAME_MAX - 1}}}$")

# After this many wrong passwords in a row (from any address) the account locks; each new
# lock lasts twice as long as the previous one, up to a day.
LOCK_AFTER_FAILURES = 5
FIRST_LOCK = timedelta(minutes=15)
LONGEST_LOCK = timedelta(hours=24)


def _check_roles(roles) -> list[str]:
    roles = sorted(set(roles or []))
    unknown = [r for r in roles if r not in ROLES]
    if not roles:
        raise ValidationFailed("a user needs at least one role", errors={"roles": ["required"]})
    if unknown:
        raise ValidationFailed(
            "unknown role", errors={"roles": [f"unknown role: {', '.join(unknown)}"]}
        )
    return roles


def _check_password(password: str, username: str) -> None:
    problems = passwords.policy_errors(password, username=username)
    if problems:
        raise ValidationFailed(
            "the password does not meet the policy",
            errors={"password": [f"password {p}" for p in problems]},
        )


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id) if is_id(user_id) else None
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


def find_user(session: Session, username: str) -> User | None:
    if not isinstance(username, str) or len(username) > USERNAME_MAX:
        return None
    return session.scalar(select(User).where(func.lower(User.username) == username.lower()))


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    roles,
    full_name: str = "",
    doctor_id: int | None = None,
) -> User:
    username = (username or "").strip().lower()
    if not USERNAME_RE.match(username):
        raise ValidationFailed(
            "bad username",
            errors={"username": ["2-64 characters: Latin letters, digits, dot, dash, underscore"]},
        )
    roles = _check_roles(roles)
    _check_password(password, username)
    if find_user(session, username) is not None:
        raise Conflict("username taken", errors={"username": ["is already taken"]})
    _check_doctor(session, roles, doctor_id)
    user = User(
        username=username,
        full_name=full_name.strip(),
        password_hash=passwords.hash_password(password),
        doctor_id=doctor_id,
        created_at=utcnow(),
        password_changed_at=utcnow(),
    )
    user.role_rows = [UserRole(role=r) for r in roles]
    session.add(user)
    session.flush()
    return user


def _check_doctor(session: Session, roles, doctor_id) -> None:
    if "doctor" in roles and doctor_id is None:
        raise ValidationFailed(
            "a doctor user is linked to a doctor", errors={"doctor_id": ["required for a doctor"]}
        )
    if doctor_id is not None and (not is_id(doctor_id) or session.get(Doctor, doctor_id) is None):
        raise ValidationFailed("unknown doctor", errors={"doctor_id": ["no such doctor"]})


def _keep_an_administrator(session: Session, user: User, *, admin: bool, active: bool) -> None:
    """Refuse a change that would leave no active administrator (nobody could undo it).

    The active administrators' rows are locked first, so two administrators demoting each
    other at the same moment cannot both pass the count.
    """
    if admin and active:
        return
    if not (user.active and "admin" in user.roles):
        return
    others = session.scalars(
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "admin", User.active.is_(True), User.id != user.id)
        .with_for_update(of=User)
    ).all()
    if not others:
        raise Conflict(
            "the last active administrator must stay one",
            errors={"roles" if not admin else "active": ["keep at least one active administrator"]},
        )


def set_roles(session: Session, user: User, roles, *, doctor_id=None) -> User:
    roles = _check_roles(roles)
    _keep_an_administrator(session, user, admin="admin" in roles, active=user.active)
    doctor_id = doctor_id if doctor_id is not None else user.doctor_id
    _check_doctor(session, roles, doctor_id)
    # Change only what differs: replacing every row would insert before deleting and
    # trip the (user, role) unique constraint.
    for row in [r for r in user.role_rows if r.role not in roles]:
        user.role_rows.remove(row)
    held = set(user.roles)
    user.role_rows.extend(UserRole(role=r) for r in roles if r not in held)
    user.doctor_id = doctor_id
    user.session_version += 1
    session.flush()
    access_changed(session, user.id)
    return user


def set_password(session: Session, user: User, new_password: str) -> None:
    """A new password (checked against the policy); every existing session and API token of
    the user ends: whoever knew the old password may have made them."""
    _check_password(new_password, user.username)
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = utcnow()
    user.session_version += 1
    session.flush()
    tokens.revoke_all(session, user)


def change_own_password(session: Session, user: User, current: str, new_password: str) -> None:
    if not passwords.verify_password(user.password_hash, current):
        raise ValidationFailed(
            "the current password is wrong", errors={"current_password": ["is wrong"]}
        )
    set_password(session, user, new_password)


def set_active(session: Session, user: User, active: bool) -> None:
    """Disable or enable; a disable ends every session and revokes every token for good (an
    enable brings neither back)."""
    _keep_an_administrator(session, user, admin="admin" in user.roles, active=active)
    user.active = active
    user.session_version += 1
    session.flush()
    if not active:
        tokens.revoke_all(session, user)
    access_changed(session, user.id)


def unlock(session: Session, user: User) -> None:
    user.locked_until = None
    user.failed_logins = 0
    session.flush()


def is_locked(user: User, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return user.locked_until is not None and user.locked_until > now


def list_users(session: Session, *, locked_only: bool = False) -> list[User]:
    query = select(User).order_by(User.username)
    if locked_only:
        query = query.where(User.locked_until > utcnow())
    return list(session.scalars(query))


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt. ``reason`` is for the audit log, never the client."""

    user: User | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.reason == "ok"


def sign_in(session: Session, username: str, password: str) -> SignIn:
    """Check a username and password, counting failures and locking the account after too
    many. The caller commits whatever the outcome (the counters are part of it)."""
    now = utcnow()
    user = find_user(session, username)
    if user is None:
        passwords.verify_password(None, password)
        return SignIn(None, "unknown user")
    matches = passwords.verify_password(user.password_hash, password)
    if not user.active:
        return SignIn(user, "disabled")
    if is_locked(user, now):
        return SignIn(user, "locked")
    if not matches:
        user.failed_logins += 1
        if user.failed_logins >= LOCK_AFTER_FAILURES:
            length = min(FIRST_LOCK * (2**user.lock_count), LONGEST_LOCK)
            user.locked_until = now + length
            user.lock_count += 1
            user.failed_logins = 0
            session.flush()
            access_changed(session, user.id)
            return SignIn(user, "wrong password; account locked")
        session.flush()
        return SignIn(user, "wrong password")
    user.failed_logins = 0
    user.lock_count = 0
    user.last_login_at = now
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    session.flush()
    return SignIn(user, "ok")


def user_permissions(user: User) -> frozenset[str]:
    return permissions_of(user.roles) if user.active else frozenset()


def user_as_dict(user: User) -> dict:
    return {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "roles": user.roles,
        "doctor_id": user.doctor_id,
        "active": user.active,
        "locked": is_locked(user),
        "locked_until": iso(user.locked_until) if is_locked(user) else None,
        "last_login_at": iso(user.last_login_at),
        "created_at": iso(user.created_at),
    }
