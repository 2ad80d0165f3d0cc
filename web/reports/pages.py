"""The report page (form, progress, figures, chart, downloads), the manager's dashboard,
and the public page behind the unsubscribe link of report e-mails."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select, true

from clinic.base import FIRST_DAY, LAST_DAY, utcnow
from clinic.money import money_style
from clinic.queue import admin as queue_admin
from clinic.reference.models import Department, Doctor
from clinic.reports import refusals as R
from clinic.reports import subscriptions
from clinic.reports.building import FORMATS
from clinic.reports.params import GROUPINGS, MAX_DAYS
from web import db
from web.auth import csrf_exempt
from web.auth.audit import answer_status
from web.auth.identity import current_identity
from web.i18n import LANGUAGE_NAMES, current_language, visit_status_names
from web.permissions import public, requires
from web.queue.cards import queue_names

bp = Blueprint("reports_pages", __name__)


def refusal_texts() -> dict[str, str]:
    """The reports module's refusals by their codes (clinic/reports/refusals.py), as the
    page's language says them: the domain words them in English for the API and the logs."""
    return {
        R.UNKNOWN_REPORT: _("Choose a report from the list."),
        R.UNKNOWN_GROUPING: _("Choose a grouping from the list."),
        R.UNKNOWN_LANGUAGE: _("The files are written in Russian, Uzbek or English."),
        R.START_FORMAT: _("Give the first day of the period."),
        R.END_FORMAT: _("Give the last day of the period."),
        R.DAY_OUT_OF_RANGE: _("A day from %(first)s to %(last)s.", first=FIRST_DAY, last=LAST_DAY),
        R.PERIOD_REVERSED: _("The period ends before it starts."),
        R.PERIOD_TOO_LONG: _("A report covers at most %(n)s days.", n=MAX_DAYS),
        R.PERIOD_IN_FUTURE: _("The period starts after today: nothing is recorded for it yet."),
        R.NOT_AN_ID: _("Choose the department and the doctor from the lists."),
        R.NOT_FILTERED: _("This report is not filtered by department or doctor."),
        R.UNKNOWN_DEPARTMENT: _("Choose a department from the list."),
        R.UNKNOWN_DOCTOR: _("Choose a doctor from the list."),
        R.INACTIVE_DEPARTMENT: _("This department is deactivated: choose one from the list."),
        R.INACTIVE_DOCTOR: _("This doctor is deactivated: choose one from the list."),
        R.UNKNOWN_FORMAT: _("The files are some of: %(formats)s.", formats=", ".join(FORMATS)),
        R.UNKNOWN_FREQUENCY: _("Choose how often."),
        R.EMAIL_FORMAT: _("This is not an e-mail address."),
        R.PERIOD_NOT_TAKEN: _(
            "An e-mailed report takes no period: each e-mail covers the day, week or month "
            "just closed."
        ),
        R.OWN_FIGURES_ONLY: _("You may see only your own figures."),
        R.ALREADY_SUBSCRIBED: _("This e-mail already receives this report so often."),
    }


def job_failure_texts() -> dict[str, str]:
    """Why a report job failed, by the code of its ``error`` (tasks/base.py), as the page's
    language says it: the worker's own words are English and may quote SQL."""
    return {
        "time_limit": _(
            "The report took longer than its time limit and was stopped. "
            "Build it for a shorter period."
        ),
        "too_many_attempts": _(
            "The report could not be built: its building broke off again and again. "
            "Try again later."
        ),
    }


def _texts() -> dict:
    return {
        "reports": {
            "revenue": _("Revenue"),
            "visits": _("Visits"),
            "queue": _("Queue KPIs"),
            "shifts": _("Cashier shifts (Z report)"),
            "reconciliation": _("Reconciliation"),
        },
        "groupings": {
            "day": _("by day"),
            "department": _("by department"),
            "doctor": _("by doctor"),
            "service": _("by service"),
            "method": _("by payment method"),
            "provider": _("by provider"),
            "cashier": _("by cashier"),
            "status": _("by status"),
            "queue": _("by queue"),
            "room": _("by room"),
            "hour": _("by hour"),
            "shift": _("by shift"),
            "kind": _("by disagreement"),
        },
        "queued": _("Waiting for a worker…"),
        "running": _("Building the report… {done} rows"),
        # A failure without words of its own, whatever the worker said (console only).
        "failed": _("The report could not be built. Try again."),
        "failures": job_failure_texts(),
        # The socket refused the job's channel: no progress or end would ever arrive.
        "unfollowable": _(
            "The report's progress cannot be followed. Reload the page and build it again."
        ),
        "done": _("{rows} rows."),
        "download": _("Download"),
        "network": _("The server could not be reached. Check the connection and try again."),
        "forbidden": _("Your role does not allow this."),
        "invalid": _("Check the parameters: {detail}"),
        "signedOut": _("Your session has ended. Sign in again."),
        # A refusal is said in the page's language (the API words it in English for
        # scripts): by its code, and each refused field by its reasons' codes; a field refused
        # without codes (the request's schema) by the field it names.
        "reasons": refusal_texts(),
        "fields": {
            "report": _("Choose a report from the list."),
            "by": _("Choose a grouping from the list."),
            "start": _("Give the first day of the period."),
            "end": _("Give the last day of the period."),
            "department_id": _("Choose a department from the list."),
            "doctor_id": _("Choose a doctor from the list."),
            "frequency": _("Choose how often."),
            "email": _("This is not an e-mail address."),
        },
        "frequencies": {"daily": _("Daily"), "weekly": _("Weekly"), "monthly": _("Monthly")},
        "unsubscribe": _("Unsubscribe"),
        "subscribed": _("Subscribed: {email}"),
    }


@bp.route("/reports")
@requires("reports.own")
def reports():
    session = db.session()
    identity = current_identity()
    everything = identity.staff.can("reports.read")
    language = current_language()
    departments = session.execute(
        select(Department.id, getattr(Department, f"name_{language}", Department.name_ru))
        .where(Department.active.is_(True))
        .order_by(Department.code)
    ).all()
    doctors = session.execute(
        select(Doctor.id, Doctor.full_name)
        .where(Doctor.active.is_(True))
        .where(true() if everything else Doctor.id == identity.doctor_id)
        .order_by(Doctor.full_name)
    ).all()
    groupings = dict(GROUPINGS)
    if not everything:
        groupings = {k: v for k, v in groupings.items() if k not in ("shifts", "reconciliation")}
    config = {
        "texts": _texts(),
        "groupings": groupings,
        # The reports in the order of GROUPINGS (revenue first, the form's default): the
        # keys of "groupings" reach the page sorted by their codes.
        "kinds": list(groupings),
        "language": language,
        # Each subscription's language named in itself, as the language switch names it.
        "languageNames": LANGUAGE_NAMES,
        "subscriptions": everything,
        # The clinic's day (CLINIC_TZ), which the period's fields start from: the browser's
        # own clock may keep another zone's date (a laptop abroad, a clock left on UTC).
        "today": utcnow().astimezone(db.runtime().settings.tz).date().isoformat(),
    }
    return render_template(
        "reports/reports.html",
        config=config,
        departments=departments if everything else [],
        doctors=doctors,
        everything=everything,
    )


@bp.route("/reports/dashboard")
@requires("reports.read")
def dashboard():
    config = {
        "texts": {
            "live": _("Live"),
            "reconnecting": _("Reconnecting…"),
            # Today's visits counted by status: named, not shown as codes ("no_show").
            "statuses": visit_status_names(),
        },
        "language": current_language(),
        # The clinic's zone, in which the figures' day ends: the page reads them again then.
        "timeZone": db.runtime().settings.tz.key,
        # Amounts are written the page language's way, as the report files write them.
        "money": money_style(current_language()),
        # Each queue as the other pages name it (its department, a doctor's), by its id.
        "queueNames": queue_names(
            queue_admin.list_queues(db.session(), active_only=False), current_language()
        ),
    }
    return render_template("reports/dashboard.html", config=config)


@bp.route("/reports/unsubscribe/<string:token>", methods=["GET", "POST"])
@public
# No CSRF token: the signed link is the credential, and no session or identity is read, so a
# forged request could do nothing a direct one with the link cannot. The page sends no Referer
# (its address is a secret), which the CSRF check over HTTPS would refuse its button for.
@csrf_exempt
def unsubscribe(token: str):
    """A mail scanner may open the link: only the button (POST) unsubscribes. The link stops
    the report its e-mail brought, also when its subscription was taken over or subscribed
    again since: it says the report comes no more only once nothing mails it."""
    settings = db.runtime().settings
    subscription_id = subscriptions.subscription_of_token(settings.secret_key, token)
    if subscription_id is None:
        abort(404)
    session = db.session()
    sub = subscriptions.get_subscription(session, subscription_id)
    mailing = subscriptions.still_mailing(session, sub)
    if request.method == "POST" and mailing:
        for other in mailing:
            subscriptions.unsubscribe(session, other.id)
        answer_status(200)  # answered with the page saying so, not redirected
        session.commit()
        mailing = []
    return render_template(
        "reports/unsubscribe.html", email=sub.email, done=not mailing, token=token
    )
