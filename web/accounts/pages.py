"""Administration pages: users (roles, disable, reset password, unlock), tokens, audit log.

Each form posts back to a small view that calls the same services as the JSON API and
redirects with a message; a refused change is shown on the page, nothing half-done.
"""

from __future__ import annotations

import json
from datetime import datetime, time

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from clinic.accounts import audit
from clinic.accounts import refusals as R
from clinic.accounts import tokens, users
from clinic.accounts.permissions import ROLES, stands_open
from clinic.errors import DomainError
from clinic.reference import directory as reference
from clinic.text import whole_number
from web import db
from web.auth import audit as audit_status
from web.auth.identity import current_identity
from web.auth.views import password_refusals
from web.permissions import requires, signed_in

bp = Blueprint("admin", __name__)

AUDIT_PAGE_SIZE = 100
# The audit page's filters typed as text (its days, since and until, are read as days).
AUDIT_TEXT_FILTERS = ("username", "action", "object_type", "object_id")


def refusal_texts() -> dict[str, str]:
    """The accounts module's refusals by their codes (clinic/accounts/refusals.py), as the
    page's language says them: the domain words them in English for the API and the logs."""
    return {
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


def _fail(exc: DomainError) -> None:
    texts = refusal_texts()
    reasons = [reason for listed in exc.reasons.values() for reason in listed]
    if reasons and all(reason in texts for reason in reasons):
        flash(" ".join(texts[reason] for reason in reasons), "error")
    else:
        details = "; ".join(f"{field}: {', '.join(msgs)}" for field, msgs in exc.errors.items())
        flash(f"{exc.detail}{' (' + details + ')' if details else ''}", "error")
    audit_status.refused(exc.code or exc.title.lower().replace(" ", "_"), exc.detail)


@bp.get("/admin/users")
@requires("users.manage")
def users_page():
    session = db.session()
    return render_template(
        "admin/users.html",
        users=[users.user_as_dict(u) for u in users.list_users(session)],
        roles=sorted(ROLES),
        role_names=_role_names(),
        doctors=reference.active_doctors(session),
    )


def _int_or_none(value: str | None) -> int | None:
    return whole_number(value)


@bp.post("/admin/users")
@requires("users.manage")
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
        _fail(exc)
    return redirect(url_for("admin.users_page"))


@bp.post("/admin/users/<int:user_id>/<string:action>")
@requires("users.manage")
def user_action_form(user_id: int, action: str):
    """roles, disable, enable, password, unlock: one form each on the users page."""
    audit_status.names_object("users", user_id)
    session = db.session()
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
        _fail(exc)
    return redirect(url_for("admin.users_page"))


def _tokens_page(template: str, owner_id: int | None, created: dict | None = None):
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
    return render_template(template, tokens=rows, created=created)


@bp.get("/account/tokens")
@signed_in
def my_tokens_page():
    return _tokens_page("admin/tokens.html", current_identity().user_id)


@bp.post("/account/tokens")
@signed_in
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
        audit_status.answer_status(200)  # the new token is shown on the answer, not redirected
        session.commit()
    except DomainError as exc:
        session.rollback()
        _fail(exc)
        return redirect(url_for("admin.my_tokens_page"))
    # Shown in this answer only (no cache may keep it); it is not stored anywhere but as a hash.
    page = _tokens_page(
        "admin/tokens.html",
        current_identity().user_id,
        {**tokens.token_as_dict(token), "token": plain},
    )
    return page, 200, {"Cache-Control": "no-store"}


@bp.post("/account/tokens/<int:token_id>/revoke")
@signed_in
def revoke_token_form(token_id: int):
    audit_status.names_object("api_tokens", token_id)
    session = db.session()
    identity = current_identity()
    try:
        token = tokens.get_token(session, token_id)
        if not tokens.may_manage(
            token.user_id, acting_user_id=identity.user_id, permissions=identity.permissions
        ):
            raise DomainError("no such token")
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


def _day(value: str | None, *, end: bool = False) -> datetime | None:
    """A date typed in the filter, as the start (or end) of that day in clinic time; none
    when the field is left empty. A day that does not exist (2026-02-30) is refused rather
    than dropped, which would show every day as if the filter were not there."""
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        abort(
            400,
            description=_("No such day: %(day)s. A day is written as YYYY-MM-DD.", day=value),
        )
    tz = db.runtime().settings.tz
    return datetime.combine(day, time.max if end else time.min, tzinfo=tz)


def _as_json(value) -> str:
    """A row's summary as its reader sees it on the page: what was sent, what changed and
    why a refusal was refused (masked as in the API for a reader who may not read patients)."""
    return json.dumps(value, ensure_ascii=False, indent=1)


@bp.get("/admin/audit")
@requires("audit.read")
def audit_page():
    args = request.args
    page = _int_or_none(args.get("page")) or 1
    f = audit.AuditFilter(
        username=(args.get("username") or None),
        action=(args.get("action") or None),
        object_type=(args.get("object_type") or None),
        object_id=(args.get("object_id") or None),
        since=_day(args.get("since")),
        until=_day(args.get("until"), end=True),
    )
    rows, total = audit.search(db.session(), f, page=min(page, 100_000), page_size=AUDIT_PAGE_SIZE)
    # The filter as typed, its days written YYYY-MM-DD: the CSV link exports what the page
    # shows, the export reading the days in clinic time as the page does (a moment written
    # out would carry that day's offset of the zone, such as Tashkent's +04:37:11 before
    # 1924, which no instant is written with).
    typed = {k: v for k, v in args.items() if k in AUDIT_TEXT_FILTERS and v}
    typed.update(
        {k: v.date().isoformat() for k, v in (("since", f.since), ("until", f.until)) if v}
    )
    tz = db.runtime().settings.tz
    personal = audit.reads_personal_data(current_identity())
    pages = max(1, -(-total // AUDIT_PAGE_SIZE))
    return render_template(
        "admin/audit.html",
        # The other pages of the same filter.
        prev_url=(
            url_for("admin.audit_page", **typed, page=min(page - 1, pages)) if page > 1 else None
        ),
        next_url=url_for("admin.audit_page", **typed, page=page + 1) if page < pages else None,
        # Read by the clinic's staff: the clinic's wall-clock time, the zone named on the page.
        entries=[
            {
                **audit.entry_as_dict(r, personal=personal),
                "at_clinic": f"{r.at.astimezone(tz):%Y-%m-%d %H:%M:%S}",
            }
            for r in rows
        ],
        as_json=_as_json,
        zone=tz.key,
        total=total,
        page=page,
        pages=pages,
        filters=args,
        csv_url=url_for("audit.export_entries", **typed),
    )
