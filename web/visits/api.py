"""Appointments: free slots, booking, check-in, cancelling and rescheduling (schedules,
exceptions and a doctor's days away: web/visits/schedules_api.py).

Reading needs ``visits.read``; a doctor without ``visits.book`` reads only his own schedule
and visits. Booking and check-in need ``visits.book``; cancelling, rescheduling and
exceptions ``visits.reschedule``; the weekly template ``reference.edit``. Refusals are
problems with a ``code`` (see :class:`clinic.visits.events.Conflicts`) and the field.
"""

from __future__ import annotations

from clinic import jobs
from clinic.errors import Forbidden, NotFound
from clinic.queue import ticket_views
from clinic.queue import tickets as q
from clinic.visits import booking, cancelling, checkin, rescheduling, slots
from clinic.visits import visits as v
from clinic.visits.events import RESCHEDULE_TASK, SEND_NOTICE_TASK
from web import db
from web.api.blueprint import Blueprint
from web.api.schemas import JobSchema, ProblemSchema
from web.auth.identity import current_identity
from web.auth.identity import current_username as _actor
from web.permissions import requires
from web.visits import schemas

blp = Blueprint("visits", __name__, url_prefix="/api/v1", description="Appointments")
JOB_LOCATION = {"Location": {"description": "/api/v1/jobs/<id>", "schema": {"type": "string"}}}


def _settings():
    return db.runtime().settings


def own_doctor() -> int | None:
    """The doctor id a doctor's account is limited to, or None for staff who see everyone."""
    identity = current_identity()
    if identity is None or identity.doctor_id is None or identity.can("visits.book"):
        return None
    return identity.doctor_id


def reader_scope(doctor_id, department_id) -> tuple[int | None, int | None]:
    """The doctor and department a reader asks for, as he may: a doctor's own account reads
    his own schedule and visits only (a 403 naming the field asked for another's)."""
    own = own_doctor()
    if own is None:
        return doctor_id, department_id
    # The domain's Forbidden: the problem says why and names the field (abort's message
    # would not reach it).
    if department_id is not None:
        raise Forbidden(
            "a doctor sees his own schedule",
            errors={"department_id": ["a doctor sees his own schedule"]},
        )
    if doctor_id not in (None, own):
        raise Forbidden(
            "a doctor sees his own schedule", errors={"doctor_id": ["not your schedule"]}
        )
    return own, None


def visit_for_reader(session, visit_id: int, *, lock: bool = False):
    visit = v.get_visit(session, visit_id, lock=lock)
    own = own_doctor()
    if own is not None and visit.doctor_id != own:
        raise Forbidden("this is not your visit", errors={"visit_id": ["not your visit"]})
    return visit


def _visit_out(session, visit, *, detail: bool = False, held: dict | None = None) -> dict:
    """The visit as the API answers it, with ``ticket_status``: that of the ticket its patient
    holds now (``held``: the day's, read at once; else read for this visit)."""
    out = v.visit_as_dict(visit)
    held = v.held_ticket_statuses(session, [visit]) if held is None else held
    out["ticket_status"] = held.get(visit.id)
    if detail:
        out["history"] = v.history(session, visit)
        ticket = q.get_ticket(session, visit.ticket_id) if visit.ticket_id else None
        out["ticket"] = ticket_views.ticket_as_dict(ticket) if ticket else None
    return out


def accepted(session, job):
    """Commit (which dispatches the job) and answer 202 with the job and its location."""
    session.commit()
    return jobs.job_as_dict(job), 202, {"Location": f"/api/v1/jobs/{job.id}"}


# -- slots and visits -----------------------------------------------------------------------


@blp.route("/visits/slots")
@requires("visits.read")
@blp.arguments(schemas.SlotsQuery, location="query")
@blp.response(200, schemas.SlotOut(many=True))
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(422, schema=ProblemSchema)
def free_slots(query):
    """Free slots of a doctor, a department or a service from ``from`` to ``to`` (dates),
    ``limit`` of them (500 unless given, at most 5000) from ``offset`` (0: the earliest).
    With ``visit_id``, the times that visit may move to: its own time counts as free, and
    its own start is left out."""
    session = db.session()
    doctor_id, department_id = reader_scope(query.get("doctor_id"), query.get("department_id"))
    moving = None
    if query.get("visit_id") is not None:
        try:
            moving = visit_for_reader(session, query["visit_id"])
        except NotFound as exc:
            raise NotFound(exc.detail, errors={"visit_id": ["no such visit"]}) from exc
    tz = _settings().tz
    found = slots.free_slots(
        session,
        tz=tz,
        first_day=query["date_from"],
        last_day=query["date_to"],
        doctor_id=doctor_id,
        department_id=department_id,
        service_id=query.get("service_id"),
        limit=query["limit"],
        offset=query["offset"],
        moving=moving,
    )
    return [slots.slot_as_dict(s, tz) for s in found]


@blp.route("/visits")
@requires("visits.read")
@blp.arguments(schemas.VisitDayQuery, location="query")
@blp.response(200, schemas.VisitOut(many=True))
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(422, schema=ProblemSchema)
def day_visits(query):
    """One clinic day's visits of a doctor or a department, or a patient's visits (of a day,
    or of every day), in time order (a doctor: his own); a page at a time (``?limit=`` up to
    5000, default 500, and ``?offset=``). Each says the status of the ticket its patient
    holds now (``ticket_status``): an arrived visit whose ticket was cancelled is checked in
    again."""
    session = db.session()
    doctor_id, department_id = reader_scope(query.get("doctor_id"), query.get("department_id"))
    found = v.day_visits(
        session,
        query.get("day"),
        _settings().tz,
        doctor_id=doctor_id,
        department_id=department_id,
        patient_id=query.get("patient_id"),
        include_cancelled=query["include_cancelled"],
        limit=query["limit"],
        offset=query["offset"],
    )
    # The tickets' statuses in one statement, not one a visit (a department's busy day).
    held = v.held_ticket_statuses(session, found)
    return [_visit_out(session, visit, held=held) for visit in found]


@blp.route("/visits", methods=["POST"])
@requires("visits.book")
@blp.arguments(schemas.BookIn)
@blp.response(201, schemas.VisitOut)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema, description="doctor_busy, patient_busy or room_taken")
@blp.alt_response(
    422,
    schema=ProblemSchema,
    description=(
        "in_past, outside_hours, doctor_away, service_not_offered, department_inactive,"
        " patient_inactive, doctor_inactive or bad input"
    ),
)
def book_visit(data):
    """Book a visit; a refusal names its ``code`` and the field to show it at."""
    session = db.session()
    visit = booking.book(session, tz=_settings().tz, actor=_actor(), **data)
    session.commit()
    return _visit_out(session, visit)


@blp.route("/visits/<int:visit_id>")
@requires("visits.read")
@blp.response(200, schemas.VisitOut)
@blp.alt_response(404, schema=ProblemSchema)
def get_visit(visit_id: int):
    """A visit with its history and its queue ticket."""
    session = db.session()
    return _visit_out(session, visit_for_reader(session, visit_id), detail=True)


@blp.route("/visits/<int:visit_id>", methods=["PATCH"])
@requires("visits.book")
@blp.arguments(schemas.VisitDetailsIn)
@blp.response(200, schemas.VisitOut)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema, description="status_changed: begun, over or cancelled")
def edit_visit(data, visit_id: int):
    """Correct a booked visit's comment or the e-mail address its reminders and notices go to
    (``null``: none). The history keeps what each said before."""
    session = db.session()
    visit = v.get_visit(session, visit_id, lock=True)
    v.edit_details(session, visit, data, actor=_actor())
    session.commit()
    return _visit_out(session, visit, detail=True)


@blp.route("/visits/<int:visit_id>/check-in", methods=["POST"])
@requires("visits.book")
@blp.arguments(schemas.VisitEmptyIn)
@blp.response(200, schemas.VisitOut)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(
    409,
    schema=ProblemSchema,
    description="not_today, doctor_away, patient_inactive or status_changed (at visit_id)",
)
def check_in(_data, visit_id: int):
    """The patient has arrived: the visit becomes arrived and its queue ticket is issued. A
    patient whose record has been deactivated since the booking is not checked in
    (``patient_inactive``)."""
    session = db.session()
    visit = v.get_visit(session, visit_id, lock=True)
    checkin.check_in(session, visit, tz=_settings().tz, actor=_actor())
    session.commit()
    return _visit_out(session, visit, detail=True)


def _doctor_step(name: str, operation, doc: str):
    def view(_data, visit_id: int):
        session = db.session()
        visit = visit_for_reader(session, visit_id, lock=True)
        operation(session, visit, tz=_settings().tz, actor=_actor())
        session.commit()
        return _visit_out(session, visit, detail=True)

    view.__name__ = f"{name}_visit"
    view.__doc__ = doc
    view = blp.alt_response(409, schema=ProblemSchema)(view)
    view = blp.alt_response(404, schema=ProblemSchema)(view)
    view = blp.response(200, schemas.VisitOut)(view)
    view = blp.arguments(schemas.VisitEmptyIn)(view)
    view = requires("queue.call")(view)
    blp.route(f"/visits/<int:visit_id>/{name}", methods=["POST"])(view)


_doctor_step("start", v.start, "The doctor starts seeing the patient.")
_doctor_step("complete", v.complete, "The doctor has seen the patient.")


@blp.route("/visits/<int:visit_id>/cancel", methods=["POST"])
@requires("visits.reschedule")
@blp.arguments(schemas.VisitCancelIn)
@blp.response(200, schemas.VisitOut)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema)
def cancel_visit(data, visit_id: int):
    """Cancel by the patient or the clinic; a patient's late cancellation is flagged, and
    a patient whose visit the clinic cancels is told by e-mail (if he gave an address)."""
    session = db.session()
    visit = v.get_visit(session, visit_id, lock=True)
    cancelling.cancel(
        session,
        visit,
        by=data["by"],
        reason=data["reason"],
        late_window_hours=_settings().visits_late_cancel_hours,
        actor=_actor(),
        tz=_settings().tz,
    )
    if data["by"] == "clinic" and visit.notify_email:
        key = cancelling.cancelled_notice_key(visit)
        db.enqueue_after_commit(session, SEND_NOTICE_TASK, queue=rescheduling.QUEUE, key=key)
    session.commit()
    return _visit_out(session, visit, detail=True)


@blp.route("/visits/<int:visit_id>/reschedule", methods=["POST"])
@requires("visits.reschedule")
@blp.arguments(schemas.RescheduleIn)
@blp.response(202, JobSchema, headers=JOB_LOCATION)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema, description="not_movable")
@blp.alt_response(422, schema=ProblemSchema, description="in_past, doctor_inactive or bad input")
def reschedule_visit(data, visit_id: int):
    """Move the visit (a worker does it); follow the job at Location or on its channel. A
    visit over or cancelled (409 ``not_movable``) or a time that has passed (422
    ``in_past``) is refused at once; any other refused move fails the job with the typed
    problem (status 409 or 422, code, field)."""
    session = db.session()
    job = rescheduling.request_move(session, visit_id, actor=_actor(), **data)
    db.enqueue_after_commit(session, RESCHEDULE_TASK, queue=rescheduling.QUEUE, job_id=job.id)
    return accepted(session, job)
