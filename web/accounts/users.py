"""Users: create, roles, disable, reset password, unlock (users.manage)."""

from __future__ import annotations

from flask import url_for

from clinic.accounts import users
from web import db
from web.accounts.schemas import (
    PasswordResetSchema,
    UserCreateSchema,
    UserQuery,
    UserSchema,
    UserUpdateSchema,
)
from web.api.blueprint import Blueprint
from web.api.schemas import ProblemSchema
from web.auth.audit import note_change
from web.auth.identity import current_identity
from web.permissions import requires

blp = Blueprint("users", __name__, url_prefix="/api/v1/users", description="Users and roles")


@blp.route("")
@requires("users.manage")
@blp.arguments(UserQuery, location="query")
@blp.response(200, UserSchema(many=True))
def list_users(query):
    """Every user; ``?locked=true`` for the locked ones only."""
    return [
        users.user_as_dict(u) for u in users.list_users(db.session(), locked_only=query["locked"])
    ]


@blp.route("", methods=["POST"])
@requires("users.manage")
@blp.arguments(UserCreateSchema)
@blp.response(201, UserSchema)
@blp.alt_response(409, schema=ProblemSchema)
@blp.alt_response(422, schema=ProblemSchema)
def create_user(data):
    session = db.session()
    user = users.create_user(session, **data)
    session.commit()
    return users.user_as_dict(user), 201, {"Location": url_for("users.get_user", user_id=user.id)}


@blp.route("/<int:user_id>")
@requires("users.manage")
@blp.response(200, UserSchema)
@blp.alt_response(404, schema=ProblemSchema)
def get_user(user_id: int):
    return users.user_as_dict(users.get_user(db.session(), user_id))


@blp.route("/<int:user_id>", methods=["PATCH"])
@requires("users.manage")
@blp.arguments(UserUpdateSchema)
@blp.response(200, UserSchema)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema)
@blp.alt_response(422, schema=ProblemSchema)
def update_user(data, user_id: int):
    """Change name, roles (and the linked doctor) or disable/enable; sessions of the user end
    when roles or the active flag change."""
    session = db.session()
    user = users.get_user(session, user_id)
    before = users.audited_state(user)
    if "full_name" in data:
        user.full_name = users.checked_full_name(data["full_name"])
    if "roles" in data or "doctor_id" in data:
        users.set_roles(
            session,
            user,
            data.get("roles", user.roles),
            doctor_id=data["doctor_id"] if "doctor_id" in data else users.KEEP,
        )
    if "active" in data:
        users.set_active(session, user, data["active"], by=current_identity().user_id)
    note_change(before, users.audited_state(user))
    session.commit()
    return users.user_as_dict(user)


@blp.route("/<int:user_id>/password", methods=["POST"])
@requires("users.manage")
@blp.arguments(PasswordResetSchema)
@blp.response(204)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(422, schema=ProblemSchema)
def reset_password(data, user_id: int):
    session = db.session()
    user = users.get_user(session, user_id)
    before = users.audited_state(user)
    users.set_password(session, user, data["password"])
    note_change(before, users.audited_state(user))  # a lock it ended
    session.commit()


@blp.route("/<int:user_id>/unlock", methods=["POST"])
@requires("users.manage")
@blp.response(200, UserSchema)
@blp.alt_response(404, schema=ProblemSchema)
def unlock_user(user_id: int):
    """Lift a sign-in lock at once."""
    session = db.session()
    user = users.get_user(session, user_id)
    before = users.audited_state(user)
    users.unlock(session, user)
    note_change(before, users.audited_state(user))
    session.commit()
    return users.user_as_dict(user)
