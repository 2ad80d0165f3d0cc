"""The appointments calendar: one clinic day of a department or a doctor, with the booking
form (free-slot picking, conflicts shown at their fields), the reschedule dialog that
follows the job and the check-in of today's booked patients. The page reads and changes
everything through the JSON API and follows the calendar's channel live; this view renders
the first state and the texts the script needs.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from clinic.reference.models import Department, Doctor
from clinic.reference.patients import clinic_today
from clinic.text import whole_number
from clinic.visits import visits as v
from clinic.visits.events import Conflicts as C
from web import db
from web.auth.identity import current_identity
from web.i18n import current_language, visit_status_names
from web.permissions import requires
from web.refusals import common_refusals

bp = Blueprint("visits_pages", __name__)


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    return whole_number(raw)


def refusal_texts() -> dict:
    """A booking's, a move's and a check-in's refusals by code, in the page's language."""
    return {
        C.DOCTOR_BUSY: _("The doctor is booked at this time."),
        C.PATIENT_BUSY: _("The patient has another visit at this time."),
        C.OUTSIDE_HOURS: _("The doctor does not work at this time."),
        C.DOCTOR_AWAY: _("The doctor is away that day."),
        C.IN_PAST: _("This time has passed."),
        C.SERVICE_NOT_OFFERED: _("The doctor does not offer this service."),
        C.NOT_MOVABLE: _("This visit can no longer be moved."),
        C.TOO_MANY_MOVES: _("This visit was moved too often."),
        # Check-in's refusals (clinic/visits/checkin.py and set_status).
        "not_today": _("A visit is checked in on its own day only."),
        "status_changed": _("The visit's status has changed; the calendar shows it now."),
    }


def _texts() -> dict:
    return {
        "conflicts": {**common_refusals(), **refusal_texts()},
        "statuses": visit_status_names(),
        "checkIn": _("Check in"),
        "checkedIn": _("Patient checked in: ticket {code}"),
        # A doctor without a queue sees his patients by the calendar alone: no ticket.
        "checkedInNoTicket": _("Patient checked in."),
        # A refusal without a code is shown at its field in the page's language (the API
        # words it in English for scripts).
        "invalid": {
            "patient_id": _("No patient has this number."),
            "starts_at": _("Pick a free slot in the calendar."),
            "notify_email": _("This is not an e-mail address."),
            "reason": _("Say why the visit moves."),
        },
        "booked": _("Booked."),
        "taken": _("taken"),
        "free": _("free"),
        "moving": _("Moving the visit… {progress}%"),
        "moved": _("Moved to {time}."),
        "failed": _("The action failed: {detail}"),
        "network": _("The server could not be reached. Check the connection and try again."),
        # Q.problem() words a refused call with these; without them a 401/403 showed nothing.
        "signedOut": _("Your session has ended. Sign in again."),
        "forbidden": _("Your role does not allow this."),
    }


@bp.get("/visits/calendar")
@requires("visits.read")
def calendar():
    """A day of a department's (or one doctor's) visits and free slots."""
    session = db.session()
    identity = current_identity()
    tz = db.runtime().settings.tz
    day_arg = request.args.get("day", "")
    try:
        day = date.fromisoformat(day_arg) if day_arg else clinic_today(tz)
    except ValueError:
        abort(400, description=_("The day is written as YYYY-MM-DD."))
    own = identity.doctor_id if identity and not identity.can("visits.book") else None
    doctor_id = own or _int_arg("doctor")
    departments = list(session.scalars(select(Department).where(Department.active.is_(True))))
    department_id = _int_arg("department")
    if doctor_id is not None:
        doctor = session.get(Doctor, doctor_id)
        if doctor is None:
            abort(404)
        department_id = doctor.department_id
    elif department_id is None and departments:
        department_id = departments[0].id
    doctors = list(
        session.scalars(
            select(Doctor)
            .where(Doctor.department_id == department_id, Doctor.active.is_(True))
            .order_by(Doctor.id)
        )
    )
    if doctor_id is not None:
        doctors = [d for d in doctors if d.id == doctor_id]
    language = current_language()
    channel = v.doctor_channel(doctor_id) if doctor_id else v.department_channel(department_id or 0)
    return render_template(
        "visits/calendar.html",
        day=day,
        departments=[(d.id, getattr(d, f"name_{language}") or d.name_ru) for d in departments],
        department_id=department_id,
        doctors=doctors,
        doctor_id=doctor_id,
        may_book=bool(identity and identity.can("visits.book")),
        may_move=bool(identity and identity.can("visits.reschedule")),
        config={
            "mayCheckIn": bool(identity and identity.can("visits.book")),
            "day": day.isoformat(),
            "departmentId": department_id,
            "doctorId": doctor_id,
            "channel": channel,
            "timezone": db.runtime().settings.timezone,
            "doctors": [{"id": d.id, "name": d.full_name} for d in doctors],
            "texts": _texts(),
        },
    )
