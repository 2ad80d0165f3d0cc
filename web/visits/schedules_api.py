"""Doctors' schedules in the API: the weekly template, hours on a date, the services a doctor
offers, days away and clinic holidays (exceptions), and a doctor's days away with his visits
moved (a job). Routes of the appointments' blueprint (web/visits/api.py)."""

from __future__ import annotations

from clinic.base import utcnow
from clinic.visits import bulk, offering, rescheduling, schedules
from clinic.visits import visits as v
from clinic.visits import week_change
from web import db
from web.api.schemas import JobSchema, ProblemSchema
from web.auth.identity import current_username as _actor
from web.permissions import requires
from web.visits import schemas
from web.visits.api import JOB_LOCATION, accepted, blp, reader_scope


def _settings():
    return db.runtime().settings


def _today():
    return utcnow().astimezone(_settings().tz).date()


def _week_out(session, doctor_id: int) -> dict:
    today = _today()
    return {
        "doctor_id": doctor_id,
        "days": [schedules.hours_as_dict(r) for r in schedules.week_of(session, doctor_id)],
        "dates": [
            schedules.hours_as_dict(r) for r in schedules.dates_ahead(session, doctor_id, today)
        ],
        "exceptions": [
            schedules.exception_as_dict(e)
            for e in schedules.exceptions_ahead(session, doctor_id, today)
        ],
    }


@blp.route("/doctors/<int:doctor_id>/schedule")
@requires("visits.read")
@blp.response(200, schemas.WeekOut)
@blp.alt_response(404, schema=ProblemSchema)
def get_schedule(doctor_id: int):
    """The doctor's weekly template (clinic time) and exceptions."""
    session = db.session()
    schedules.get_doctor(session, doctor_id)  # an unknown doctor is a 404 for everyone
    doctor_id, _ = reader_scope(doctor_id, None)
    return _week_out(session, doctor_id)


@blp.route("/doctors/<int:doctor_id>/schedule", methods=["PUT"])
@requires("reference.edit")
@blp.arguments(schemas.WeekIn)
@blp.response(200, schemas.WeekOut)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(422, schema=ProblemSchema)
def put_schedule(data, doctor_id: int):
    """Replace the weekly template: hours per weekday, breaks, slot length, capacity, room.
    The answer lists the visits still to come that the new hours leave out
    (``visits_to_move``): nothing moves them by itself. Those they cover go to the room
    they name."""
    session = db.session()
    schedules.set_week(session, doctor_id, data["days"])
    # Read in the change's own transaction, as a day off's visits are.
    outside = week_change.visits_outside_hours(session, doctor_id, _settings().tz)
    week_change.follow_rooms(session, doctor_id, _settings().tz, actor=_actor())
    answer = {**_week_out(session, doctor_id), "visits_to_move": outside}
    session.commit()
    return answer


@blp.route("/doctors/<int:doctor_id>/services")
@requires("visits.read")
@blp.response(200, schemas.DoctorServicesOut)
@blp.alt_response(404, schema=ProblemSchema)
def get_doctor_services(doctor_id: int):
    """The services the doctor offers: his own list (``listed``), or without one his
    department's and those of no department."""
    return offering.offered(db.session(), doctor_id)


@blp.route("/doctors/<int:doctor_id>/services", methods=["PUT"])
@requires("reference.edit")
@blp.arguments(schemas.DoctorServicesIn)
@blp.response(200, schemas.DoctorServicesOut)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(422, schema=ProblemSchema)
def put_doctor_services(data, doctor_id: int):
    """Replace the list of services the doctor offers (an empty list: his department's
    again). Free slots and new bookings follow it; visits booked keep their services."""
    session = db.session()
    answer = offering.set_offered(session, doctor_id, data["service_ids"])
    session.commit()
    return answer


@blp.route("/doctors/<int:doctor_id>/schedule/dates", methods=["PUT"])
@requires("reference.edit")
@blp.arguments(schemas.DateHoursIn)
@blp.response(200, schemas.WeekOut)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(422, schema=ProblemSchema)
def put_date_hours(data, doctor_id: int):
    """The doctor's hours on one date (today or later) in place of his week's; ``hours``
    empty: the date follows the week again. The answer lists the visits still to come that
    the hours leave out (``visits_to_move``): nothing moves them by itself."""
    session = db.session()
    schedules.set_date_hours(session, doctor_id, data["day"], data["hours"], today=_today())
    outside = week_change.visits_outside_hours(session, doctor_id, _settings().tz)
    week_change.follow_rooms(session, doctor_id, _settings().tz, actor=_actor())
    answer = {**_week_out(session, doctor_id), "visits_to_move": outside}
    session.commit()
    return answer


@blp.route("/schedule-exceptions", methods=["POST"])
@requires("visits.reschedule")
@blp.arguments(schemas.ExceptionIn)
@blp.response(201, schemas.ExceptionOut)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema, description="already_declared")
@blp.alt_response(422, schema=ProblemSchema)
def add_exception(data):
    """A doctor away (day off, leave, sick) or a clinic holiday (no doctor), whole days. The
    answer lists the visits still booked on those days (``visits_to_move``): nothing moves
    them by itself (``/doctors/<id>/away`` does, for a doctor)."""
    session = db.session()
    row = schedules.add_exception(session, **data, actor=_actor(), today=_today())
    # Read in the change's own transaction, not in a second one after it.
    standing = v.standing_between(
        session, row.first_day, row.last_day, _settings().tz, doctor_id=row.doctor_id
    )
    answer = {**schedules.exception_as_dict(row), "visits_to_move": standing}
    session.commit()
    return answer


@blp.route("/schedule-exceptions/<int:exception_id>", methods=["DELETE"])
@requires("visits.reschedule")
@blp.response(200, schemas.ExceptionOut)
@blp.alt_response(404, schema=ProblemSchema)
def remove_exception(exception_id: int):
    """Take back a day off, leave, sick days or a holiday declared by mistake: its days are
    bookable again. Visits already moved or cancelled because of it stay as they are."""
    session = db.session()
    row = schedules.remove_exception(session, exception_id)
    answer = {**schedules.exception_as_dict(row), "visits_to_move": []}
    session.commit()
    return answer


@blp.route("/doctors/<int:doctor_id>/away", methods=["POST"])
@requires("visits.reschedule")
@blp.arguments(schemas.AwayIn)
@blp.response(202, JobSchema, headers=JOB_LOCATION)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema, description="already_moving")
@blp.alt_response(422, schema=ProblemSchema)
def doctor_away(data, doctor_id: int):
    """Mark the doctor away for whole days and move his visits of those days to the nearest
    free slots (his own first, then his department's colleagues'). Days already declared
    for him (a sick day entered first) are kept, not declared again. With ``to_doctor_id``
    the visits go to that colleague's free slots only. The job's progress is
    on its channel; its result lists what moved where and what could not be placed."""
    session = db.session()
    _, job = bulk.start_bulk_move(session, doctor_id, actor=_actor(), today=_today(), **data)
    db.enqueue_after_commit(session, bulk.TASK_NAME, queue=rescheduling.QUEUE, job_id=job.id)
    return accepted(session, job)
