"""Administration pages: users (roles, disable, reset password, unlock) and tokens; the audit
log's page is in web/accounts/audit_page.py, on this blueprint.

Each form posts back to a small view that calls the same services as the JSON API and
redirects with a message; a refused change is shown on the page, nothing half-done: a field
refused, at that field of the form drawn again as it was sent.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request
from flask import session as http_session
from flask import url_for
from flask_babel import gettext as _

from clinic.accounts import passwords
from clinic.accounts import refusals as R
from clinic.accounts import tokens, users
from clinic.accounts.permissions import ROLES, stands_open
from clinic.errors import DomainError, NotFound
from clinic.reference import directory as reference
from clinic.text import whole_number
from web import db
from web.auth import audit as audit_status
from web.auth.identity import current_identity
from web.auth.views import password_refusals
from web.permissions import requires, signed_in

bp = Blueprint("admin", __name__)


def refusal_texts(*, about_another: bool = False) -> dict[str, str]:
    """The accounts module's refusals by their codes (clinic/accounts/refusals.py), as the
    page's language says them: the domain words them in English for the API and the logs.
    ``about_another``: the password refused is another user's (one made or reset by an
    administrator), so it is not "your" user name it may not contain."""
    texts = {
        R.USERNAME_FORMAT: _(
            "The user name has 2 to 64 characters: Latin letters, digits, dot, dash and "
            "underscore."
        ),
        R.FULL_NAME_TOO_LONG: _(
            "The full name has at most %(n)s characters.", n=users.FULL_NAME_MAX
        ),
        R.FULL_NAME_ONE_LINE: _("The full name is one line, without tabs or hidden characters."),
        R.USERNAME_TAKEN: _("This user name is already taken."),
        R.ROLES_REQUIRED: _("Choose at least one role."),
        R.UNKNOWN_ROLE: _("There is no such role."),
        R.DOCTOR_REQUIRED: _("A doctor's account needs the doctor it belongs to."),
        R.UNKNOWN_DOCTOR: _("No such doctor."),
        R.DOCTOR_WITHOUT_ROLE: _("Only a user with the doctor role is linked to a doctor."),
        R.LAST_ADMINISTRATOR: _("At least one active administrator must remain."),
        R.TOKEN_NAME: _("The token's name has 1 to %(n)s characters.", n=tokens.NAME_MAX),
        R.TOKEN_NAME_ONE_LINE: _(
            "The token's name is one line, without tabs or hidden characters."
        ),
        R.TOKEN_DAYS: _(
            "The token lasts a whole number of days, from 1 to %(n)s.", n=tokens.MAX_DAYS
        ),
        **password_refusals(),
    }
    if about_another:
        texts[passwords.CONTAINS_USERNAME] = _("The password must not contain the user name.")
    return texts


def _role_names() -> dict[str, str]:
    """The roles as the page's language names them; the forms still send the codes."""
    return {
        "admin": _("Administrator"),
        "cashier": _("Cashier"),
        "display": _("Display board"),
        "doctor": _("Doctor"),
        "kiosk": _("Kiosk"),
        "manager": _("Manager"),
        "registrar": _("Registrar"),
    }


def _about(username: str | None, said: str) -> str:
    """A refusal of a form in a user's row, saying whose it is: the page lists every user."""
    if not username:
        return said
    return _("User %(username)s: %(reason)s", username=username, reason=said)


def _note_refusal(exc: DomainError) -> None:
    audit_status.refused(exc.code or exc.title.lower().replace(" ", "_"), exc.detail)


def _fail(exc: DomainError, *, username: str | None = None) -> None:
    texts = refusal_texts()
    reasons = [reason for listed in exc.reasons.values() for reason in listed]
    if reasons and all(reason in texts for reason in reasons):
        flash(_about(username, " ".join(texts[reason] for reason in reasons)), "error")
    elif isinstance(exc, NotFound):
        # A row of a page drawn earlier, gone since (removed at another screen), or never
        # this user's to see: said in the page's language, not in the domain's English.
        gone = _(
            "This is no longer there: it may have been removed at another screen. "
            "Reload the page."
        )
        flash(gone, "error")
    else:
        details = "; ".join(f"{field}: {', '.join(msgs)}" for field, msgs in exc.errors.items())
        flash(_about(username, f"{exc.detail}{' (' + details + ')' if details else ''}"), "error")
    _note_refusal(exc)


def _field_refusals(
    exc: DomainError, fields: tuple[str, ...], *, about_another: bool = False
) -> dict[str, str]:
    """The refusal's messages for each of ``fields`` it names, in the page's language (by
    their reasons' codes; a reason without words here as the domain wrote it)."""
    texts = refusal_texts(about_another=about_another)
    said = {}
    for field in fields:
        messages = exc.errors.get(field) or []
        reasons = exc.reasons.get(field, [])
        said_here = [
            texts.get(reasons[i], message) if i < len(reasons) else message
            for i, message in enumerate(messages)
        ]
        if said_here:
            said[field] = " ".join(said_here)
    return said


def _form_again(fields: tuple[str, ...], said: dict[str, str], sent: dict, **where) -> dict:
    """A refused form drawn again: what was sent (never a password), each refused field's
    message, and the first refused field, which gets the focus."""
    return {
        **where,
        "sent": sent,
        "errors": said,
        "focus": next(field for field in fields if field in said),
    }


def _users_page(refused: dict | None = None):
    session = db.session()
    return render_template(
        "admin/users.html",
        users=[users.user_as_dict(u) for u in users.list_users(session)],
        roles=sorted(ROLES),
        role_names=_role_names(),
        doctors=reference.active_doctors(session),
        refused=refused,
    )


@bp.get("/admin/users")
@requires("users.manage")
def users_page():
    return _users_page()


def _int_or_none(value: str | None) -> int | None:
    return whole_number(value)


NEW_USER_FIELDS = ("username", "full_name", "password", "doctor_id", "roles")


@bp.post("/admin/users")
@requires("users.manage")
@audit_status.audit_object("users")
def create_user_form():
    session = db.session()
    try:
        users.create_user(
            session,
            # Whole, never cut: a name or password longer than allowed is refused, not
            # quietly made into a shorter one the administrator did not type.
            username=request.form.get("username", ""),
            password=request.form.get("password", ""),
            full_name=request.form.get("full_name", ""),
            roles=request.form.getlist("roles"),
            doctor_id=_int_or_none(request.form.get("doctor_id")),
        )
        session.commit()
        flash(_("The user has been created."))
    except DomainError as exc:
        session.rollback()
        said = _field_refusals(exc, NEW_USER_FIELDS, about_another=True)
        if not said:
            _fail(exc)
            return redirect(url_for("admin.users_page"))
        # The form again, as typed but for the password, said at the field refused: a
        # redirect would lose everything the administrator typed.
        _note_refusal(exc)
        sent = {
            "username": request.form.get("username", ""),
            "full_name": request.form.get("full_name", ""),
            "roles": request.form.getlist("roles"),
            "doctor_id": _int_or_none(request.form.get("doctor_id")),
        }
        page = _users_page(_form_again(NEW_USER_FIELDS, said, sent, form="new"))
        return page, exc.status
    return redirect(url_for("admin.users_page"))


# The fields of each form in a user's row whose refusals are said at the field.
ROW_FIELDS = {"roles": ("roles", "doctor_id"), "password": ("password",)}


def _row_form_again(exc: DomainError, user, action: str):
    """The users page again with the refused form of the user's row as it was sent (never a
    password), the refusal said at its field and naming the user; None when the refusal
    names no field of that form."""
    fields = ROW_FIELDS.get(action, ())
    about_another = user.id != current_identity().user_id
    said = _field_refusals(exc, fields, about_another=about_another)
    if not said:
        return None
    _note_refusal(exc)
    said = {field: _about(user.username, message) for field, message in said.items()}
    sent = {
        "roles": request.form.getlist("roles"),
        "doctor_id": _int_or_none(request.form.get("doctor_id")),
    }
    refused = _form_again(fields, said, sent, form=action, user_id=user.id)
    return _users_page(refused), exc.status


@bp.post("/admin/users/<int:user_id>/<string:action>")
@requires("users.manage")
@audit_status.audit_object("users", "user_id")
def user_action_form(user_id: int, action: str):
    """roles, disable, enable, password, unlock: one form each on the users page."""
    session = db.session()
    user = None
    try:
        user = users.get_user(session, user_id)
        before = users.audited_state(user)
        if action == "roles":
            roles = request.form.getlist("roles")
            # The form sends the current link back; its empty choice keeps the doctor of a
            # user who stays a doctor, and a user who is no longer one is no longer linked.
            # Another doctor chosen without the role ticked is refused, not quietly dropped.
            chosen = _int_or_none(request.form.get("doctor_id"))
            doctor_id = chosen if "doctor" in roles or chosen != user.doctor_id else None
            users.set_roles(session, user, roles, doctor_id=doctor_id or users.KEEP)
        elif action in ("disable", "enable"):
            if user.id == current_identity().user_id and action == "disable":
                flash(_("You cannot disable yourself."), "error")
                audit_status.refused("self_disable", "you cannot disable yourself")
                return redirect(url_for("admin.users_page"))
            users.set_active(session, user, action == "enable", by=current_identity().user_id)
        elif action == "password":
            users.set_password(session, user, request.form.get("password", ""))
        elif action == "unlock":
            users.unlock(session, user)
        else:
            flash(_("Unknown action."), "error")
            audit_status.refused("unknown_action", f"no such action on a user: {action}")
            return redirect(url_for("admin.users_page"))
        audit_status.note_change(before, users.audited_state(user))
        session.commit()
        flash(_("Saved."))
    except DomainError as exc:
        session.rollback()
        again = _row_form_again(exc, user, action) if user is not None else None
        if again is not None:
            return again
        _fail(exc, username=user.username if user is not None else None)
    return redirect(url_for("admin.users_page"))


def _tokens_page(
    template: str, owner_id: int | None, created: dict | None = None, refused: dict | None = None
):
    session = db.session()
    tz = db.runtime().settings.tz
    # Read by the clinic's staff: the day and time on the clinic's clock, not the UTC instant.
    rows = [
        {
            **tokens.token_as_dict(t),
            "expires_clinic": f"{t.expires_at.astimezone(tz):%Y-%m-%d}",
            "last_used_clinic": (
                f"{t.last_used_at.astimezone(tz):%Y-%m-%d %H:%M}" if t.last_used_at else None
            ),
        }
        for t in tokens.list_tokens(session, user_id=owner_id)
    ]
    return render_template(
        template,
        tokens=rows,
        created=created,
        refused=refused,
        # The kiosk's account makes no tokens: the page says why instead of offering a form
        # that would be refused.
        kiosk=stands_open(current_identity().roles),
    )


# The session's key for a token just made, until the page redirected to shows it.
NEW_TOKEN_KEY = "admin.new_token"  # nosec B105 - a name, not a token
TOKEN_FIELDS = ("name", "days")


@bp.get("/account/tokens")
@signed_in
def my_tokens_page():
    # A token just made is shown once, on the page its form redirected to: taken out of the
    # (server-side) session as it is shown, so a reload of this page shows it no more.
    created = http_session.pop(NEW_TOKEN_KEY, None)
    owner_id = current_identity().user_id
    if created is not None and created.get("user_id") != owner_id:
        created = None  # another user's, left in this browser's session: not his to see
    page = _tokens_page("admin/tokens.html", owner_id, created)
    if created is None:
        return page
    # No cache may keep the page that holds it; it is not stored anywhere but as a hash.
    return page, 200, {"Cache-Control": "no-store"}


@bp.post("/account/tokens")
@signed_in
@audit_status.audit_object("api_tokens")
def create_my_token_form():
    if not tokens.may_create(current_identity().via):
        abort(403, description="tokens are made from a signed-in session, not with a token")
    if stands_open(current_identity().roles):
        abort(403, description=tokens.KIOSK_MAKES_NO_TOKENS)
    session = db.session()
    try:
        days = _int_or_none(request.form.get("days", "90")) or 0
        user = users.get_user(session, current_identity().user_id)
        token, plain = tokens.create_token(
            session, user, name=request.form.get("name", ""), days=days
        )
        audit_status.answer_status(303)
        session.commit()
    except DomainError as exc:
        session.rollback()
        said = _field_refusals(exc, TOKEN_FIELDS)
        if not said:
            _fail(exc)
            return redirect(url_for("admin.my_tokens_page"))
        # The form again as typed, said at the field refused.
        _note_refusal(exc)
        sent = {field: request.form.get(field, "") for field in TOKEN_FIELDS}
        refused = _form_again(TOKEN_FIELDS, said, sent)
        page = _tokens_page("admin/tokens.html", current_identity().user_id, refused=refused)
        return page, exc.status
    # Post/redirect/get: the page shows the token, and reloading it sends no second form
    # (a second token, while the first, never copied, would stay valid).
    http_session[NEW_TOKEN_KEY] = {"user_id": user.id, "token": plain}
    return redirect(url_for("admin.my_tokens_page"), code=303)


@bp.post("/account/tokens/<int:token_id>/revoke")
@signed_in
@audit_status.audit_object("api_tokens", "token_id")
def revoke_token_form(token_id: int):
    session = db.session()
    identity = current_identity()
    try:
        token = tokens.get_token(session, token_id)
        if not tokens.may_manage(
            token.user_id, acting_user_id=identity.user_id, permissions=identity.permissions
        ):
            raise NotFound("no such token")
        tokens.revoke_token(session, token)
        session.commit()
        flash(_("The token has been revoked."))
    except DomainError as exc:
        session.rollback()
        _fail(exc)
    target = (
        "admin.all_tokens_page"
        if identity.can("tokens.manage") and request.form.get("from") == "all"
        else "admin.my_tokens_page"
    )
    return redirect(url_for(target))


@bp.get("/admin/tokens")
@requires("tokens.manage")
def all_tokens_page():
    return _tokens_page("admin/tokens.html", None)
