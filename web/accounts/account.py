"""The signed-in user's own account, and API tokens."""

from __future__ import annotations

from functools import wraps

from flask_smorest import abort
from flask_wtf.csrf import generate_csrf

from clinic.accounts import tokens, users
from clinic.accounts.permissions import stands_open
from clinic.errors import ValidationFailed
from web import db
from web.accounts.schemas import (
    CsrfSchema,
    MeSchema,
    NewTokenSchema,
    PasswordChangeSchema,
    SignedInSchema,
    SignInSchema,
    TokenCreateSchema,
    TokenQuery,
    TokenSchema,
)
from web.api.blueprint import Blueprint
from web.api.schemas import ProblemSchema
from web.auth.audit import answer_status, audit_object
from web.auth.identity import current_identity
from web.auth.limits import sign_in_budget
from web.auth.views import (
    FAILED,
    attempt_sign_in,
    keep_signed_in,
    refuse_token_sign_out,
    sign_out_session,
)
from web.errors import problem
from web.permissions import public, signed_in

blp = Blueprint("account", __name__, url_prefix="/api/v1", description="Your account and tokens")


@blp.route("/session/csrf")
@public
@blp.response(200, CsrfSchema)
def csrf_token():
    """A CSRF token for the session this request carries (pages and the JSON sign-in)."""
    return {"csrf_token": generate_csrf()}


@blp.route("/session", methods=["POST"])
@public
@sign_in_budget
@blp.arguments(SignInSchema)
@blp.response(200, SignedInSchema)
@blp.alt_response(401, schema=ProblemSchema, description="Always the same answer.")
def sign_in(data):
    """Sign in with a username and password. An unknown user, a wrong password and a locked
    or disabled account all get the same 401."""
    identity = attempt_sign_in(data["username"], data["password"])
    if identity is None:
        return problem(401, "Sign-in failed", FAILED)
    return {
        "id": identity.user_id,
        "username": identity.username,
        "roles": list(identity.roles),
        "csrf_token": generate_csrf(),
    }


@blp.route("/session", methods=["DELETE"])
@signed_in
@blp.response(204)
@blp.alt_response(403, schema=ProblemSchema, description="Asked with a bearer token.")
def sign_out():
    """Sign out: the session ends and its id is never used again. A bearer token is not
    signed out (it would go on working after a 204): it is revoked."""
    refuse_token_sign_out()
    sign_out_session()


@blp.route("/me")
@signed_in
@blp.response(200, MeSchema)
def me():
    """Who you are, what you may do, and, when you ask with the session, the CSRF token for
    the calls made with it. A caller with a bearer token needs none, and gets no session."""
    identity = current_identity()
    answer = {
        "id": identity.user_id,
        "username": identity.username,
        "full_name": identity.full_name,
        "roles": list(identity.roles),
        "permissions": sorted(identity.permissions),
        "doctor_id": identity.doctor_id,
    }
    if identity.via == "session":
        answer["csrf_token"] = generate_csrf()
    return answer


@blp.route("/me/password", methods=["POST"])
@signed_in
@blp.arguments(PasswordChangeSchema)
@blp.response(204)
@blp.alt_response(422, schema=ProblemSchema)
def change_password(data):
    """Change your own password; every other session of yours ends, and every token."""
    identity = current_identity()
    session = db.session()
    user = users.get_user(session, identity.user_id)
    try:
        users.change_own_password(session, user, data["current_password"], data["new_password"])
    except ValidationFailed:
        answer_status(422)  # a wrong current password is counted: kept, with its answer
        session.commit()
        raise
    session.commit()
    if identity.via == "session":
        keep_signed_in(user)


def _may_manage(owner_id: int) -> bool:
    identity = current_identity()
    return tokens.may_manage(
        owner_id, acting_user_id=identity.user_id, permissions=identity.permissions
    )


@blp.route("/tokens")
@signed_in
@blp.arguments(TokenQuery, location="query")
@blp.response(200, TokenSchema(many=True))
@blp.alt_response(
    403, schema=ProblemSchema, description="Another user's tokens, asked without tokens.manage."
)
def list_tokens(query):
    """Your tokens; with tokens.manage, everyone's (or one user's)."""
    identity = current_identity()
    user_id = query["user_id"]
    if not identity.can("tokens.manage"):
        if user_id not in (None, identity.user_id):
            abort(403, message="you may list only your own tokens")
        user_id = identity.user_id
    return [tokens.token_as_dict(t) for t in tokens.list_tokens(db.session(), user_id=user_id)]


def _from_a_session(view):
    """Refused (403) to bearer tokens before the body is read: a token makes no tokens."""

    @wraps(view)
    def guarded(*args, **kwargs):
        if not tokens.may_create(current_identity().via):
            abort(403, message="tokens are made from a signed-in session, not with a token")
        if stands_open(current_identity().roles):
            abort(403, message=tokens.KIOSK_MAKES_NO_TOKENS)
        return view(*args, **kwargs)

    return guarded


@blp.route("/tokens", methods=["POST"])
@signed_in
@_from_a_session
@blp.arguments(TokenCreateSchema)
@blp.response(201, NewTokenSchema)
@blp.alt_response(403, schema=ProblemSchema)
def create_token(data):
    """A new token, shown in this answer only. Made from a signed-in session only: a token
    cannot make tokens (they would outlive it). Made by its owner only, administrators
    included: a token acts in its owner's name."""
    session = db.session()
    owner_id = current_identity().user_id
    if not tokens.may_create_for(data["user_id"] or owner_id, acting_user_id=owner_id):
        abort(
            403,
            message="user_id: a token is made by its owner only, from his own signed-in session",
        )
    owner = users.get_user(session, owner_id)
    token, plain = tokens.create_token(session, owner, name=data["name"], days=data["days"])
    session.commit()
    # The plain token is in this answer only: no cache on the way may keep it.
    return {**tokens.token_as_dict(token), "token": plain}, {"Cache-Control": "no-store"}


@blp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@signed_in
@audit_object("api_tokens", "token_id")
@blp.response(200, TokenSchema)
@blp.alt_response(404, schema=ProblemSchema)
def revoke_token(token_id: int):
    """Revoke a token at once; it answers 401 from now on."""
    session = db.session()
    token = tokens.get_token(session, token_id)
    if not _may_manage(token.user_id):
        abort(404, message=f"token {token_id} does not exist")
    tokens.revoke_token(session, token)
    session.commit()
    return tokens.token_as_dict(token)
