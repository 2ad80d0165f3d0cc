"""Who is making the request: a signed-in user (session cookie) or a bearer token's owner."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, has_request_context
from flask_login import UserMixin

from clinic.accounts.audit import Actor
from clinic.accounts.models import User
from clinic.accounts.permissions import Staff
from clinic.accounts.users import user_permissions


@dataclass(frozen=True)
class Identity(UserMixin):
    user_id: int
    username: str
    full_name: str
    roles: tuple[str, ...]
    permissions: frozenset[str]
    doctor_id: int | None
    session_version: int
    via: str  # "session" or "token"
    # The interface language he chose (web/i18n.py), or None.
    language: str | None = None

    @classmethod
    def of(cls, user: User, via: str) -> "Identity":
        return cls(
            user_id=user.id,
            username=user.username,
            full_name=user.full_name,
            roles=tuple(user.roles),
            permissions=user_permissions(user),
            doctor_id=user.doctor_id,
            session_version=user.session_version,
            via=via,
            language=getattr(user, "language", None),
        )

    def get_id(self) -> str:
        # The version makes a password change or a disable end every older session.
        return f"{self.user_id}:{self.session_version}"

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    @property
    def staff(self) -> Staff:
        """This user as the domain's rules see him (see clinic/queue/access.py)."""
        return Staff(self.permissions, self.doctor_id)

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, self.username, self.roles)


def current_identity() -> Identity | None:
    if not has_request_context():
        return None
    return g.get("identity")


def current_username() -> str:
    """The user name of who asks, as a change's audit names its actor ("" for nobody)."""
    identity = current_identity()
    return identity.username if identity else ""
