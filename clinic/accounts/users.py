"""Users: creating them, their roles and passwords, signing in, locks after failures."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from clinic.accounts import passwords
from clinic.accounts import refusals as R
from clinic.accounts import tokens
from clinic.accounts.access import access_changed
from clinic.accounts.models import User, UserRole
from clinic.accounts.permissions import ROLES, permissions_of, stands_open
from clinic.base import is_id, iso, utcnow
from clinic.errors import Conflict, NotFound, ValidationFailed
from clinic.settings import LANGUAGES
from clinic.text import NOT_ONE_LINE, ONE_LINE

USERNAME_MAX = 64
FULL_NAME_MAX = 160
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
        raise R.refusal(
            ValidationFailed,
            "a user needs at least one role",
            {"roles": [(R.ROLES_REQUIRED, "required")]},
        )
    if unknown:
        raise R.refusal(
            ValidationFailed,
            "unknown role",
            {"roles": [(R.UNKNOWN_ROLE, f"unknown role: {', '.join(unknown)}")]},
        )
    return roles


def _check_password(password: str, username: str) -> None:
    problems = passwords.policy_problems(password, username=username)
    if problems:
        raise R.refusal(
            ValidationFailed,
            "the password does not meet the policy",
            {"password": [(p, f"password {passwords.POLICY[p]}") for p in problems]},
        )


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id) if is_id(user_id) else None
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


def find_user(session: Session, username: str) -> User | None:
    """The user named ``username`` as a person types it: any case, spaces around ignored
    (names are stored trimmed and in lower case)."""
    if not isinstance(username, str):
        return None
    username = username.strip()
    if len(username) > USERNAME_MAX:
        return None
    return session.scalar(select(User).where(func.lower(User.username) == username.lower()))


def checked_full_name(full_name: str | None) -> str:
    """A user's full name as kept: stripped, at most ``FULL_NAME_MAX`` characters, one line
    (``clinic.text.NOT_ONE_LINE``: no line break, tab or invisible character)."""
    full_name = (full_name or "").strip()
    if len(full_name) > FULL_NAME_MAX:
        raise R.refusal(
            ValidationFailed,
            "full name too long",
            {"full_name": [(R.FULL_NAME_TOO_LONG, f"at most {FULL_NAME_MAX} characters")]},
        )
    if NOT_ONE_LINE.search(full_name):
        raise R.refusal(
            ValidationFailed,
            "full name not one line",
            {"full_name": [(R.FULL_NAME_ONE_LINE, ONE_LINE)]},
        )
    return full_name


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
        raise R.refusal(
            ValidationFailed,
            "bad username",
            {
                "username": [
                    (
                        R.USERNAME_FORMAT,
                        "2-64 characters: Latin letters, digits, dot, dash, underscore",
                    )
                ]
            },
        )
    full_name = checked_full_name(full_name)
    roles = _check_roles(roles)
    _check_password(password, username)
    if find_user(session, username) is not None:
        raise R.refusal(
            Conflict, "username taken", {"username": [(R.USERNAME_TAKEN, "is already taken")]}
        )
    _check_doctor(session, roles, doctor_id)
    user = User(
        username=username,
        full_name=full_name,
        password_hash=passwords.hash_password(password),
        doctor_id=doctor_id,
        created_at=utcnow(),
        password_changed_at=utcnow(),
    )
    user.role_rows = [UserRole(role=r) for r in roles]
    session.add(user)
    session.flush()
    return user


def _doctor_exists(session: Session, doctor_id: int) -> bool:
    """Whether the doctor exists, read from the table the users' ``doctor_id`` refers to:
    the accounts know a doctor by his id only (the reference data, which writes the audit
    rows of its imports here, depends on this package, not the other way round)."""
    (key,) = User.__table__.c.doctor_id.foreign_keys
    doctors = key.column.table
    return session.scalar(select(doctors.c.id).where(doctors.c.id == doctor_id)) is not None


def _check_doctor(session: Session, roles, doctor_id) -> None:
    if "doctor" in roles and doctor_id is None:
        raise R.refusal(
            ValidationFailed,
            "a doctor user is linked to a doctor",
            {"doctor_id": [(R.DOCTOR_REQUIRED, "required for a doctor")]},
        )
    if doctor_id is not None and (not is_id(doctor_id) or not _doctor_exists(session, doctor_id)):
        raise R.refusal(
            ValidationFailed,
            "unknown doctor",
            {"doctor_id": [(R.UNKNOWN_DOCTOR, "no such doctor")]},
        )
    if doctor_id is not None and "doctor" not in roles:
        # The link narrows what the user sees to that doctor's queues and calendar.
        raise R.refusal(
            ValidationFailed,
            "only a doctor user is linked to a doctor",
            {"doctor_id": [(R.DOCTOR_WITHOUT_ROLE, "only for a user with the doctor role")]},
        )


def _keep_an_administrator(session: Session, user: User, *, admin: bool, active: bool) -> None:
    """Refuse a change that would leave no active administrator (nobody could undo it).

    The active administrators' rows are locked first, in one order, so two administrators
    demoting or disabling each other at the same moment wait for one another instead of
    deadlocking. The count is read after, by a statement of its own: it sees what the change
    that held the locks first committed (a locked row re-read in place would still show the
    admin role that change removed).
    """
    if admin and active:
        return
    if not (user.active and "admin" in user.roles):
        return
    admins = (
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "admin", User.active.is_(True))
    )
    session.scalars(admins.order_by(User.id).with_for_update(of=User)).all()
    others = session.scalars(admins.where(User.id != user.id)).all()
    if not others:
        field = "roles" if not admin else "active"
        raise R.refusal(
            Conflict,
            "the last active administrator must stay one",
            {field: [(R.LAST_ADMINISTRATOR, "keep at least one active administrator")]},
            code=R.LAST_ADMINISTRATOR,
        )


# ``set_roles(doctor_id=KEEP)``: the link to a doctor stays while the user is a doctor.
KEEP = object()


def set_roles(session: Session, user: User, roles, *, doctor_id=KEEP) -> User:
    """New roles, and the linked doctor: ``None`` unlinks him, ``KEEP`` keeps him for a user
    who stays a doctor. A user who is no longer a doctor is no longer linked to one (the link
    would go on narrowing what he sees to that doctor's queues and calendar)."""
    roles = _check_roles(roles)
    _keep_an_administrator(session, user, admin="admin" in roles, active=user.active)
    if doctor_id is KEEP:
        doctor_id = user.doctor_id if "doctor" in roles else None
    _check_doctor(session, roles, doctor_id)
    if set(roles) == set(user.roles) and doctor_id == user.doctor_id:
        return user  # sent back as they are: the user's sessions and sockets go on
    # Change only what differs: replacing every row would insert before deleting and
    # trip the (user, role) unique constraint.
    for row in [r for r in user.role_rows if r.role not in roles]:
        user.role_rows.remove(row)
    held = set(user.roles)
    user.role_rows.extend(UserRole(role=r) for r in roles if r not in held)
    user.doctor_id = doctor_id
    user.session_version += 1
    session.flush()
    if stands_open(roles):
        # Given to the kiosk: its account makes no tokens, nor keeps those made before.
        tokens.revoke_all(session, user)
    access_changed(session, user.id)
    return user


def set_password(session: Session, user: User, new_password: str) -> None:
    """A new password (checked against the policy); every existing session and API token of
    the user ends: whoever knew the old password may have made them. A sign-in lock ends too:
    it held off guesses at the old password, and the user locked out after forgetting it signs
    in with the new one the administrator gives him."""
    _check_password(new_password, user.username)
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = utcnow()
    user.session_version += 1
    unlock(session, user)
    tokens.revoke_all(session, user)


def change_own_password(session: Session, user: User, current: str, new_password: str) -> None:
    """A new password for a signed-in user who proves the current one.

    A wrong current password counts as a failed sign-in and locked accounts are refused: a
    session left open on a shared computer must not let anyone guess the password past the
    lock. The caller commits when this raises too (the count is part of the outcome).
    """
    now = utcnow()
    matches = passwords.verify_password(user.password_hash, current)
    if not matches and not is_locked(user, now):
        _count_failure(session, user, now)
    if is_locked(user, now):
        raise R.refusal(
            ValidationFailed,
            "the account is locked after wrong passwords",
            {
                "current_password": [
                    (R.ACCOUNT_LOCKED, "the account is locked for now: wait or ask an admin")
                ]
            },
        )
    if not matches:
        raise R.refusal(
            ValidationFailed,
            "the current password is wrong",
            {"current_password": [(R.WRONG_PASSWORD, "is wrong")]},
        )
    set_password(session, user, new_password)


def set_active(session: Session, user: User, active: bool, *, by: int | None = None) -> None:
    """Disable or enable; a disable ends every session and revokes every token for good (an
    enable brings neither back). Nobody disables himself (``by``: the acting user's id): one
    slip and he is locked out; another administrator does it."""
    if not active and by is not None and by == user.id:
        raise Conflict(
            "you cannot disable yourself",
            code="self_disable",
            errors={"active": ["you cannot disable yourself"]},
        )
    if user.active == active:
        return  # as it is: the user's sessions and sockets go on
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


def set_language(session: Session, user_id: int, language: str | None) -> None:
    """The interface language the user chose (``ru``, ``uz``, ``en``), his at any computer he
    signs in at; None gives the choice back to the computer."""
    if language is not None and language not in LANGUAGES:
        raise ValidationFailed("unknown language", errors={"language": [f"one of {LANGUAGES}"]})
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(language=language)
        .execution_options(synchronize_session=False)
    )


def is_locked(user: User, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return user.locked_until is not None and user.locked_until > now


def list_users(session: Session, *, locked_only: bool = False) -> list[User]:
    query = select(User).order_by(User.username)
    if locked_only:
        query = query.where(User.locked_until > utcnow())
    return list(session.scalars(query))


def _count_failure(session: Session, user: User, now: datetime) -> str:
    """One more wrong password in a row; at the limit the account locks. Returns the outcome.

    The user's row is read again and locked first: wrong passwords sent in parallel are
    counted one after another, none lost to another's stale count (the password check, the
    slow part, is done before, unlocked).
    """
    session.refresh(user, with_for_update=True)
    if is_locked(user, now):
        return "locked"  # a parallel failure has just locked it
    user.failed_logins += 1
    if user.failed_logins < LOCK_AFTER_FAILURES:
        session.flush()
        return "wrong password"
    # The doubling stops once past the longest lock: a timedelta overflows at 2**37.
    doublings = min(user.lock_count, 10)
    user.locked_until = now + min(FIRST_LOCK * (2**doublings), LONGEST_LOCK)
    user.lock_count += 1
    user.failed_logins = 0
    session.flush()
    access_changed(session, user.id)
    return "wrong password; account locked"


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt. ``reason`` is for the audit log, never the client."""

    user: User | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.reason == "ok"


# The outcome of a wrong password sent from a device the user has signed in on before.
WRONG_ON_KNOWN_DEVICE = "wrong password on a known device"


def sign_in(session: Session, username: str, password: str, *, known_device=None) -> SignIn:
    """Check a username and password, counting failures and locking the account after too
    many. The caller commits whatever the outcome (the counters are part of it).

    ``known_device(user)``: whether the request comes from a device that has signed in as
    ``user`` before and has not failed too often there lately (the caller counts its
    failures). Such a device is not held back by the account's lock, which guesses from
    elsewhere set, and its wrong passwords do not count towards that lock: whoever guesses
    at a user's password from outside cannot keep him from signing in at his own desk."""
    now = utcnow()
    user = find_user(session, username)
    if user is None:
        passwords.verify_password(None, password)
        return SignIn(None, "unknown user")
    matches = passwords.verify_password(user.password_hash, password)
    if not user.active:
        return SignIn(user, "disabled")
    known = bool(known_device and known_device(user))
    if is_locked(user, now) and not known:
        return SignIn(user, "locked")
    if not matches:
        if known:
            return SignIn(user, WRONG_ON_KNOWN_DEVICE)
        return SignIn(user, _count_failure(session, user, now))
    if not is_locked(user, now):  # a lock set by guesses elsewhere holds them off still
        user.failed_logins = 0
        user.lock_count = 0
    user.last_login_at = now
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    session.flush()
    return SignIn(user, "ok")


def audited_state(user: User) -> dict:
    """What the audit log keeps of a user before and after a change to him (never his
    password): who he is, what he may do, whether he may sign in."""
    return {
        "full_name": user.full_name,
        "roles": sorted(user.roles),
        "doctor_id": user.doctor_id,
        "active": user.active,
        # A lock run out is no lock: lifting it, or a new password, changes nothing there.
        "locked_until": iso(user.locked_until) if is_locked(user) else None,
    }


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
