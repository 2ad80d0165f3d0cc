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
from sqlalchemy import or_, select

from clinic.base import FIRST_DAY, LAST_DAY
from clinic.reference.models import Department, Doctor, Service
from clinic.reference.patients import clinic_today
from clinic.text import whole_number
from clinic.visits import visits as v
from clinic.visits.events import Conflicts as C
from clinic.visits.events import ExceptionKind, VisitStatus
from clinic.visits.models import Visit, VisitService
from clinic.visits.schedules import away_on, day_bounds, exceptions_between
from web import db
from web.auth.identity import current_identity
from web.i18n import current_language, patient_search_texts, visit_status_names
from web.permissions import requires
from web.refusals import common_refusals
from web.visits.schemas import REASON_MAX

bp = Blueprint("visits_pages", __name__)


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name, "")
    return whole_number(raw)


def refusal_texts() -> dict:
    """A booking's, a move's and a check-in's refusals by code, in the page's language."""
    return {
        C.DOCTOR_BUSY: _("The doctor is booked at this time."),
        C.PATIENT_BUSY: _("The patient has another visit at this time."),
        C.ROOM_TAKEN: _("The room is booked for another doctor's patient at this time."),
        C.OUTSIDE_HOURS: _("The doctor does not work at this time."),
        C.DOCTOR_AWAY: _("The doctor is away that day."),
        C.IN_PAST: _("This time has passed."),
        C.SERVICE_NOT_OFFERED: _("The doctor does not offer this service."),
        C.NOT_MOVABLE: _("This visit can no longer be moved."),
        C.TOO_MANY_MOVES: _("This visit was moved too often."),
        C.DEPARTMENT_INACTIVE: _("The doctor's department is switched off: pick another doctor."),
        # On file, but deactivated (booking, check-in): not "no patient has this number",
        # which sends the registrar to register him again.
        C.PATIENT_INACTIVE: _("This patient's record is deactivated. Find the patient again."),
        # Gone from the clinic since the page was opened (or before a move's worker ran).
        C.DOCTOR_INACTIVE: _("This doctor no longer takes visits: pick another."),
        # Check-in's refusals (clinic/visits/checkin.py and set_status).
        "not_today": _("A visit is checked in on its own day only."),
        "status_changed": _("The visit's status has changed; the calendar shows it now."),
    }


def _field_texts() -> dict:
    """A refusal without a code, by the field it names (the API words it in English)."""
    return {
        # A number nobody has (404); a deactivated record is refused by its code. The page
        # sends only a number a record may have (an empty or mistyped one is said before
        # sending), so no other refusal comes there.
        "patient_id": _("No patient has this number."),
        "starts_at": _("Pick a free slot in the calendar."),
        "notify_email": _("This is not an e-mail address."),
        # The move form's reason; the cancel form says its own (cancelReason).
        "reason": _("Say why the visit moves."),
        # Taken off the price list, or gone from the clinic, since the page was opened.
        "service_ids": _("This service is no longer offered: pick another."),
        "doctor_id": _("This doctor no longer takes visits: pick another."),
    }


def _texts() -> dict:
    fields = _field_texts()
    return {
        "conflicts": {**common_refusals(), **refusal_texts()},
        "statuses": visit_status_names(),
        "checkIn": _("Check in"),
        # An arrived patient whose ticket was cancelled (at the desk, by mistake): a new one.
        "checkInAgain": _("Check in again"),
        # The doctor's steps, for one who sees his patients by the calendar (no queue).
        "start": _("Start"),
        "finish": _("Finish"),
        "checkedIn": _("Patient checked in: ticket {code}"),
        # A doctor without a queue sees his patients by the calendar alone: no ticket.
        "checkedInNoTicket": _("Patient checked in."),
        # A refusal without a code is shown at its field in the page's language (the API
        # words it in English for scripts); a form without a place for the field says it on
        # the page (Q.problem reads "fields").
        "invalid": fields,
        "fields": fields,
        "booked": _("Booked."),
        # Said at the patient number before sending: the API would refuse either as bad input.
        "patientMissing": _("Type the patient's number, or find the patient."),
        "patientNotNumber": _("A patient's number is written in digits only."),
        # The booking form's patient, found by name or phone (web/static/js/patient-find.js).
        "choose": _("Choose"),
        **patient_search_texts(),
        "noneFree": _("No free time in the next {days} days."),
        "taken": _("taken"),
        "free": _("free"),
        "moving": _("Moving the visit… {progress}%"),
        "moved": _("Moved to {time}."),
        # The move dialog's times start on this: a move goes to a time the registrar chose.
        "chooseTime": _("— choose a time —"),
        "chooseMoveTime": _("Choose the time the visit moves to."),
        "cancelled": _("Visit cancelled."),
        "cancelReason": _("Say why the visit is cancelled."),
        # Either reason past the API's limit (REASON_MAX, web/visits/schemas.py).
        "reasonTooLong": _(
            "The reason is too long: at most %(limit)s characters.", limit=REASON_MAX
        ),
        "failed": _("The action failed: {detail}"),
        "network": _("The server could not be reached. Check the connection and try again."),
        # Q.problem() words a refused call with these; without them a 401/403 showed nothing.
        "signedOut": _("Your session has ended. Sign in again."),
        "forbidden": _("Your role does not allow this."),
    }


def _services(session, department_id: int | None, language: str) -> list[dict]:
    """The services a visit of the department can be booked for (its own and the shared
    ones), named in the page's language with their length: picked, the calendar offers the
    starts where the whole service fits, and the visit is booked with it."""
    rows = session.scalars(
        select(Service)
        .where(
            Service.active.is_(True),
            or_(Service.department_id == department_id, Service.department_id.is_(None)),
        )
        .order_by(Service.code, Service.id)
    )
    return _labels(rows, language)


def _booked_services(session, day: date, tz, language: str, whose) -> list[dict]:
    """The services the day's visits (``whose``: the doctor's, or the department's) are
    booked for, named as :func:`_services` names them: one the price list has dropped since,
    or another department's, too, so that each visit says what it is for."""
    first, after = day_bounds(day, tz)
    booked = (
        select(VisitService.service_id)
        .join(Visit, Visit.id == VisitService.visit_id)
        .where(whose, Visit.starts_at >= first, Visit.starts_at < after)
    )
    rows = session.scalars(
        select(Service).where(Service.id.in_(booked)).order_by(Service.code, Service.id)
    )
    return _labels(rows, language)


def _labels(rows, language: str) -> list[dict]:
    return [
        {
            "id": row.id,
            "label": (getattr(row, f"name_{language}", None) or row.name_ru)
            + " · "
            + _("%(minutes)s min", minutes=row.duration_minutes),
        }
        for row in rows
    ]


def _away_names() -> dict[str, str]:
    return {
        ExceptionKind.DAY_OFF: _("Day off"),
        ExceptionKind.LEAVE: _("On leave"),
        ExceptionKind.SICK: _("Sick"),
        ExceptionKind.HOLIDAY: _("Clinic holiday"),
    }


def _away(session, doctors, day) -> dict[int, str]:
    """Per doctor away on ``day`` (or the clinic closed), what the calendar says in his
    column: why he has no slot that day, with the note it was declared with."""
    exceptions = exceptions_between(session, [d.id for d in doctors], day, day)
    names, out = _away_names(), {}
    for doctor in doctors:
        row = away_on(exceptions, doctor.id, day)
        if row is not None:
            out[doctor.id] = names[row.kind] + (f": {row.note}" if row.note else "")
    return out


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
    if not FIRST_DAY <= day <= LAST_DAY:
        # The calendar's reach, as the API's (9999-12-31 has no next day to end it).
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
    if doctor_id is not None:
        doctors = [doctor]
    else:
        # The department's doctors at work, and any with visits booked in it that day: one
        # who has left (deactivated) or moved to another department keeps his patients on
        # the calendar, for the registrar to move them, instead of hiding them.
        first, after = day_bounds(day, tz)
        booked_here = select(Visit.doctor_id).where(
            Visit.department_id == department_id,
            Visit.starts_at >= first,
            Visit.starts_at < after,
            Visit.status != VisitStatus.CANCELLED,
        )
        doctors = list(
            session.scalars(
                select(Doctor)
                .where(
                    or_(
                        (Doctor.department_id == department_id) & Doctor.active.is_(True),
                        Doctor.id.in_(booked_here),
                    )
                )
                .order_by(Doctor.id)
            )
        )
    language = current_language()
    whose = Visit.doctor_id == doctor_id if doctor_id else Visit.department_id == department_id
    may_book = bool(identity and identity.can("visits.book"))
    # The booking form finds its patient by name or phone (his record's number is on no page).
    may_find_patients = may_book and identity.can("patients.read")
    services = _services(session, department_id, language)
    channel = v.doctor_channel(doctor_id) if doctor_id else v.department_channel(department_id or 0)
    return render_template(
        "visits/calendar.html",
        day=day,
        departments=[(d.id, getattr(d, f"name_{language}") or d.name_ru) for d in departments],
        department_id=department_id,
        doctors=doctors,
        away=_away(session, doctors, day),
        doctor_id=doctor_id,
        may_book=may_book,
        may_find_patients=may_find_patients,
        services=services if may_book else [],
        may_move=bool(identity and identity.can("visits.reschedule")),
        reason_max=REASON_MAX,
        config={
            "mayCheckIn": bool(identity and identity.can("visits.book")),
            # Starting and completing a visit: the doctor's steps (the API's queue.call).
            "mayTreat": bool(identity and identity.can("queue.call")),
            "day": day.isoformat(),
            "departmentId": department_id,
            "doctorId": doctor_id,
            "channel": channel,
            "timezone": db.runtime().settings.timezone,
            "doctors": [{"id": d.id, "name": d.full_name} for d in doctors],
            # What each booked visit is for, beside the patient's name (the doctor's day):
            # the services offered, and those the day's visits were booked for.
            "services": services,
            "serviceNames": _booked_services(session, day, tz, language, whose),
            "patientsUrl": "/api/v1/patients" if may_find_patients else None,
            "reasonMax": REASON_MAX,
            "texts": _texts(),
        },
    )
