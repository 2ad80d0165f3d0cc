"""Signing in and out: the form for people, the JSON endpoint for scripts and pages.

Both answer an unknown user, a wrong password, a disabled and a locked account alike, so
the answer tells an attacker nothing about which accounts exist.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request
from flask import session as http_session
from flask import url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from marshmallow import ValidationError

from clinic.accounts import access
from clinic.accounts import audit as audit_log
from clinic.accounts import passwords, refusals, users
from clinic.errors import DomainError, ValidationFailed
from web import db
from web.auth import csrf_token_only, devices, kiosk_session
from web.auth.audit import answer_status, mark_audited, request_id
from web.auth.identity import Identity, current_identity
from web.auth.limits import sign_in_budget
from web.auth.schemas import PasswordChangeSchema
from web.errors import flatten_messages, problem
from web.permissions import public, signed_in

bp = Blueprint("auth", __name__)

FAILED = "Wrong username or password, or the account is temporarily locked."


def _regenerate_session() -> None:
    """A new session id at every sign-in and sign-out (no session fixation)."""
    current_app.session_interface.regenerate(http_session)


def _new_csrf_token() -> None:
    """The signed-in session gets a CSRF token of its own: one read before the sign-in (on a
    page left open at a shared desk, or planted with a session) forges nothing after it."""
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    http_session.pop(field, None)
    g.pop(field, None)  # the request's cached copy, or generate_csrf would hand it out again


def attempt_sign_in(username: str, password: str) -> Identity | None:
    """Check the credentials, count a failure, write the audit row; sign in on success.

    The form here and the JSON endpoint (web/api/account.py) both come through this.
    """
    session = db.session()
    outcome = users.sign_in(session, username, password, known_device=devices.known_for_user)
    user = outcome.user
    audit_log.record(
        session,
        # Only a successful sign-in has an actor; a failure is anonymous, whoever it names.
        actor=audit_log.Actor(user.id, user.username, tuple(user.roles)) if outcome.ok else None,
        action="auth.sign_in" if outcome.ok else audit_log.SIGN_IN_FAILED,
        object_type="users",
        object_id=str(user.id) if user else "",
        summary={"username": username[:64], "outcome": outcome.reason},
        status=200 if outcome.ok else 401,
        ip=request.remote_addr or "",
        user_agent=request.headers.get("User-Agent", ""),
        request_id=request_id(),
    )
    mark_audited()
    session.commit()
    if not outcome.ok:
        return None
    identity = Identity.of(user, "session")
    before = current_identity()  # another signed in here before, at a shared desk
    login_user(identity)
    _regenerate_session()
    _new_csrf_token()
    if before is not None:
        # His session ended with the new id: his sockets made with it close now, as at a
        # sign-out, not at their next periodic check.
        access.publish(db.runtime().bus, before.user_id)
    kiosk_session.mark(http_session, identity.roles)
    devices.remember(user)
    return identity


def keep_signed_in(user) -> None:
    """After the user changed his own password: this session goes on under the new session
    version, with a new id; every other session of his has ended."""
    login_user(Identity.of(user, "session"))
    _regenerate_session()


def sign_out_session() -> None:
    """End the session: forget the user and everything else, and never reuse its id.

    The user's open WebSockets are rechecked: the one made with this session closes."""
    identity = current_identity()
    # A new id first, while the session still holds the user: that drops the stored session
    # now, before the notice below makes the hub check its sockets (the answer's own save
    # comes later).
    _regenerate_session()
    logout_user()
    http_session.clear()
    if identity is not None:
        access.publish(db.runtime().bus, identity.user_id)


def refuse_token_sign_out() -> None:
    """A request made with a bearer token has no session to end: answered as a sign-out, a
    script would take its token for ended while it goes on working until revoked."""
    if current_identity().via != "session":
        abort(
            problem(
                403,
                "Forbidden",
                "a token is not signed out: revoke it (POST /api/v1/tokens/<id>/revoke)",
            )
        )


def _safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would help phishing.

    A browser reads ``//host``, ``/\\host`` and ``/<tab>/host`` (it drops tabs and line
    breaks) as another site, so the target must be one absolute path whose second character
    starts no authority, with no control characters, spaces or backslashes anywhere.
    """
    if (
        isinstance(target, str)
        and 0 < len(target) <= 2000
        and target.startswith("/")
        and target[1:2] not in ("/", "\\")
        and not any(ch.isspace() or ord(ch) < 0x20 or ch in "\\\x7f" for ch in target)
    ):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("pages.index")


@bp.get("/login")
@public
def login_page():
    if current_identity() is not None:
        return redirect(_safe_next(request.args.get("next")))
    notice = _("You have signed out.") if request.args.get("signed_out") == "1" else None
    return render_template(
        "auth/login.html", next=request.args.get("next", ""), error=None, notice=notice
    )


@bp.post("/login")
@public
@sign_in_budget
def login_form():
    # Cut one past the longest name and password there can be: the work stays bounded, and a
    # longer one stays longer than any, so it is refused rather than read as its beginning.
    username = request.form.get("username", "")[: users.USERNAME_MAX + 1]
    password = request.form.get("password", "")[: passwords.MAX_LENGTH + 1]
    if attempt_sign_in(username, password) is None:
        page = render_template(
            "auth/login.html",
            next=request.form.get("next", ""),
            error=_("Wrong username or password, or the account is temporarily locked."),
            username=username,
        )
        return page, 401
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
@signed_in
@csrf_token_only  # the Sign out form of every page, those that send no Referer too
def logout():
    refuse_token_sign_out()
    sign_out_session()
    # Said by the sign-in page itself, in its language (this computer's), not in the one of
    # the person who has just left it.
    return redirect(url_for("auth.login_page", signed_out=1))


def password_refusals() -> dict[str, str]:
    """The account's refusals of a new or current password by their codes
    (clinic/accounts/refusals.py), in the page's language: the domain words them in English
    for the API and the logs."""
    shortest, longest = passwords.MIN_LENGTH, passwords.MAX_LENGTH
    return {
        passwords.NOT_TEXT: _("The password must be text."),
        passwords.TOO_SHORT: _("The password must be at least %(n)s characters long.", n=shortest),
        passwords.TOO_LONG: _("The password must be at most %(n)s characters long.", n=longest),
        passwords.TOO_COMMON: _("This password is too common."),
        passwords.TOO_FEW_CHARACTERS: _(
            "The password must use at least four different characters."
        ),
        passwords.CONTAINS_USERNAME: _("The password must not contain your user name."),
        refusals.WRONG_PASSWORD: _("The current password is wrong."),
        refusals.ACCOUNT_LOCKED: _("The account is locked for now: wait, or ask an administrator."),
    }


def _in_page_language(exc: DomainError) -> dict:
    """Each refused field's messages said by their reasons' codes; one the page has no words
    for stays as the domain wrote it."""
    texts = password_refusals()
    said = {}
    for field, messages in exc.errors.items():
        reasons = exc.reasons.get(field, [])
        said[field] = [
            texts.get(reasons[i], message) if i < len(reasons) else message
            for i, message in enumerate(messages)
        ]
    return said


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
def password_page():
    errors = {}
    if request.method == "POST":
        try:
            data = PasswordChangeSchema().load(
                {k: request.form.get(k, "") for k in ("current_password", "new_password")}
            )
        except ValidationError as exc:
            errors = flatten_messages(exc.messages)
        else:
            session = db.session()
            user = users.get_user(session, current_identity().user_id)
            try:
                users.change_own_password(
                    session, user, data["current_password"], data["new_password"]
                )
            except ValidationFailed as exc:
                errors = _in_page_language(exc)
                answer_status(422)  # a wrong current password is counted: kept, with its answer
                session.commit()
            else:
                session.commit()
                keep_signed_in(user)
                flash(_("Your password has been changed."))
                return redirect(url_for("pages.index"))
    return render_template("auth/password.html", errors=errors), (422 if errors else 200)
