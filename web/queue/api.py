"""The electronic queue: queues, issuing, calling, serving, transfers, online joining (the
boards and their screens: web/queue/screens_api.py; the kiosk: web/queue/kiosk.py).

Staff operations need ``queue.issue`` (reception) or ``queue.call`` (doctors); a doctor reads
and acts only on his own queues, by the one rule of :mod:`clinic.queue.access`. Online
joining and the patient's own ticket are public: the first is rate-limited per address, the
second needs the ticket's secret token.
"""

from __future__ import annotations

from flask_smorest import abort

from clinic.accounts.permissions import Staff
from clinic.base import utcnow
from clinic.queue import access
from clinic.queue import admin as queue_admin
from clinic.queue import calls
from clinic.queue import days as queue_days
from clinic.queue import history as ticket_history
from clinic.queue import joining, reception, reserved, ticket_views
from clinic.queue import tickets as q
from clinic.queue.models import Priority, TicketStatus
from web import db
from web.api.blueprint import Blueprint
from web.api.schemas import ProblemSchema
from web.auth import audit, csrf_exempt
from web.auth.identity import current_identity
from web.auth.identity import current_username as _actor
from web.auth.limits import limiter
from web.permissions import public, requires
from web.queue import schemas
from web.queue.ticket_printing import issue_on_paper

blp = Blueprint("queue", __name__, url_prefix="/api/v1", description="Electronic queue")

LEAVE_LIMIT = "10 per minute"


def _tz():
    return db.runtime().settings.tz


def _online_join_limit() -> str:
    """Joins one address may make (``CLINIC_ONLINE_JOIN_RATE_LIMIT``)."""
    return db.runtime().settings.online_join_rate_limit


def _patient_url(ticket) -> str:
    """The patient's own page (the QR on the printed ticket points here)."""
    return f"/t/{ticket.token}"


def _ticket_out(ticket, **extra) -> dict:
    """The ticket as staff see it. Its patient's page, whose secret reads his ticket and gives
    up his place, only for those who issue (and cancel) tickets and hand it over printed: a
    reader who may not cancel one is not given the patient's door to do it in nobody's name."""
    out = ticket_views.ticket_as_dict(ticket)
    identity = current_identity()
    if identity is not None and identity.can("queue.issue"):
        out["patient_url"] = _patient_url(ticket)
    return {**out, **extra}


def _staff() -> Staff:
    identity = current_identity()
    return identity.staff if identity else Staff(frozenset())


def _queue_out(session, queue, waiting: int | None = None) -> dict:
    if waiting is None:
        waiting = q.waiting_today(session, queue.id, tz=_tz())
    return {**queue_admin.queue_as_dict(queue), "waiting": waiting}


# -- queues ---------------------------------------------------------------------------------


@blp.route("/queues")
@requires("queue.read")
@blp.response(200, schemas.QueueOut(many=True))
def list_queues():
    """Active queues with today's waiting counts."""
    today = q.clinic_day(utcnow(), _tz())
    return queue_admin.active_queues_waiting(db.session(), today)


@blp.route("/queues", methods=["POST"])
@requires("queue.manage")
@blp.arguments(schemas.QueueIn)
@blp.response(201, schemas.QueueOut)
@blp.alt_response(409, schema=ProblemSchema)
@blp.alt_response(422, schema=ProblemSchema)
def create_queue(data):
    session = db.session()
    queue = queue_admin.create_queue(session, data)
    session.commit()
    return _queue_out(session, queue)


@blp.route("/queues/<int:queue_id>")
@requires("queue.read")
@blp.response(200, schemas.QueueOut)
@blp.alt_response(404, schema=ProblemSchema)
def get_queue(queue_id: int):
    session = db.session()
    return _queue_out(session, q.get_queue(session, queue_id))


@blp.route("/queues/<int:queue_id>", methods=["PATCH"])
@requires("queue.manage")
@blp.arguments(schemas.QueuePatch)
@blp.response(200, schemas.QueueOut)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema)
@blp.alt_response(422, schema=ProblemSchema)
def update_queue(data, queue_id: int):
    session = db.session()
    queue = queue_admin.update_queue(session, q.get_queue(session, queue_id), data)
    session.commit()
    return _queue_out(session, queue)


@blp.route("/queues/<int:queue_id>/tickets")
@requires("queue.read")
@blp.arguments(schemas.TicketsQuery, location="query")
@blp.response(200, schemas.TicketOut(many=True))
@blp.alt_response(404, schema=ProblemSchema)
def today_tickets(query, queue_id: int):
    """Today's tickets in calling order, a page at a time (``?limit=`` up to 500, default
    100, and ``?offset=``); ``?status=`` narrows them."""
    session = db.session()
    access.check_may_read_queue(session, _staff(), q.get_queue(session, queue_id))
    tickets = queue_days.today_tickets(
        session,
        queue_id,
        tz=_tz(),
        statuses=(query["status"],) if query.get("status") else None,
        limit=query["limit"],
        offset=query["offset"],
    )
    kept_for = reserved.fields_of(session, queue_id, tickets)  # one statement for the page
    return [_ticket_out(t, **kept_for[t.id]) for t in tickets]


@blp.route("/queues/<int:queue_id>/tickets", methods=["POST"])
@requires("queue.issue")
@blp.arguments(schemas.IssueIn)
@blp.response(201, schemas.IssuedTicketOut)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(
    409,
    schema=ProblemSchema,
    description="The queue takes no ticket now, or the patient holds one of its day still in"
    " it (``patient_in_queue``, its code in ``values``: the desk prints that one again).",
)
@blp.alt_response(422, schema=ProblemSchema)
def issue_ticket(data, queue_id: int):
    """Issue a ticket at the desk or the kiosk; it is numbered per queue per clinic day. A
    patient already in the queue today is given no second place. The same
    ``idempotency_key`` again from the same user (a press repeated after the network lost
    the answer) is answered with the ticket it issued, as the first was, and issues none."""
    ticket, on_paper, failing = issue_on_paper(
        db.session(),
        queue_id,
        # The user's own: another registrar's same key is another press.
        whose=f"desk:{_actor()}",
        key=data["idempotency_key"],
        tz=_tz(),
        source=data["source"],
        priority=Priority.NAMES[data["priority"]],
        patient_id=data["patient_id"],
        comment=data["comment"],
        actor=_actor(),
        one_per_patient=True,
    )
    return _ticket_out(ticket, on_paper=on_paper, printer_failing=failing)


@blp.route("/queues/<int:queue_id>/call-next", methods=["POST"])
@requires("queue.call")
@blp.arguments(schemas.CallNextIn)
@blp.response(200, schemas.TicketOut)
@blp.alt_response(204, description="Nobody is waiting.")
@blp.alt_response(403, schema=ProblemSchema)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(
    409,
    schema=ProblemSchema,
    description="The room holds a patient still (``room_busy``, his ticket's code in ``values``).",
)
def call_next(data, queue_id: int):
    """Call the next patient: priority first, then queue time. 204 when nobody waits.
    Without ``room_id`` the call goes to the queue's room, else to the room the doctor's
    working hours name now, else to his own room.
    A doctor passes over the patients checked in for a colleague's visit (docs/queue.md)."""
    session = db.session()
    queue = q.get_queue(session, queue_id)
    access.check_may_act_on_queue(session, _staff(), queue)
    room_id = access.calling_room(session, _staff(), queue, data["room_id"])
    ticket = calls.call_next(
        session, queue_id, tz=_tz(), room_id=room_id, actor=_actor(), doctor_id=_staff().doctor_id
    )
    audit.answer_status(200 if ticket is not None else 204)
    session.commit()
    if ticket is None:
        return "", 204
    return _ticket_out(ticket)


# -- one ticket -----------------------------------------------------------------------------


def _staff_ticket(ticket_id: int):
    session = db.session()
    ticket = q.get_ticket(session, ticket_id)
    access.check_may_act_on_ticket(session, _staff(), ticket)
    return session, ticket


@blp.route("/tickets/<int:ticket_id>")
@requires("queue.read")
@blp.response(200, schemas.TicketDetail)
@blp.alt_response(404, schema=ProblemSchema)
def get_ticket(ticket_id: int):
    """A ticket with its position, estimated wait and full history (across transfers)."""
    session = db.session()
    ticket = q.get_ticket(session, ticket_id)
    access.check_may_read_queue(session, _staff(), ticket.queue)
    return _ticket_out(
        ticket,
        **reserved.fields(session, ticket),
        history=ticket_history.history(session, ticket),
        **queue_days.position(session, ticket),
    )


def _transition(name: str, operation, doc: str):
    def view(ticket_id: int):
        session, ticket = _staff_ticket(ticket_id)
        returned = operation(session, ticket)
        session.commit()
        extra = (
            {"returned_ticket": ticket_views.ticket_as_dict(returned)}
            if returned is not None and returned is not ticket
            else {}
        )
        return _ticket_out(ticket, **extra)

    view.__name__ = name.replace("-", "_")
    view.__doc__ = doc
    view = blp.alt_response(409, schema=ProblemSchema)(view)
    view = blp.alt_response(404, schema=ProblemSchema)(view)
    view = blp.response(200, schemas.TicketOut)(view)
    view = requires("queue.call")(view)
    blp.route(f"/tickets/<int:ticket_id>/{name}", methods=["POST"])(view)


_transition(
    "recall", lambda s, t: calls.recall(s, t, actor=_actor()), "Announce a called ticket again."
)
_transition("start", lambda s, t: calls.start_service(s, t, actor=_actor()), "The patient came in.")
_transition(
    "finish",
    lambda s, t: calls.finish_service(s, t, tz=_tz(), actor=_actor()),
    "Served; a transfer that asked for it sends the patient back to the first queue.",
)
_transition(
    "no-show", lambda s, t: calls.mark_no_show(s, t, actor=_actor()), "The patient did not come."
)
_transition("postpone", lambda s, t: calls.postpone(s, t, actor=_actor()), "To the postponed list.")
_transition(
    "came-back",
    lambda s, t: calls.came_back(s, t, tz=_tz(), actor=_actor()),
    "A no-show who turned up after all, the same day: back to the postponed list.",
)


@blp.route("/tickets/<int:ticket_id>/call-back", methods=["POST"])
@requires("queue.call")
@blp.arguments(schemas.CallNextIn)
@blp.response(200, schemas.TicketOut)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema)
def call_back(data, ticket_id: int):
    """Call a postponed ticket; to ``room_id`` when given, else to the queue's room, else (a
    department's shared queue) to the room the doctor's working hours name now, else to his
    own room."""
    session, ticket = _staff_ticket(ticket_id)
    room_id = access.calling_room(session, _staff(), ticket.queue, data["room_id"])
    calls.call_back(session, ticket, room_id=room_id, actor=_actor(), doctor_id=_staff().doctor_id)
    session.commit()
    return _ticket_out(ticket)


@blp.route("/tickets/<int:ticket_id>/transfer", methods=["POST"])
@requires("queue.call")
@blp.arguments(schemas.TransferIn)
@blp.response(200, schemas.TicketOut)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema)
def transfer_ticket(data, ticket_id: int):
    """Close this ticket and open a linked one in another queue, keeping the queue time.
    Answers the new ticket."""
    session, ticket = _staff_ticket(ticket_id)
    new = calls.transfer(
        session,
        ticket,
        data["to_queue_id"],
        tz=_tz(),
        comment=data["comment"],
        return_after=data["return_after"],
        actor=_actor(),
    )
    session.commit()
    return _ticket_out(new)


@blp.route("/tickets/<int:ticket_id>/cancel", methods=["POST"])
@requires("queue.issue")
@blp.arguments(schemas.CancelIn)
@blp.response(200, schemas.TicketOut)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema)
def cancel_ticket(data, ticket_id: int):
    session = db.session()
    ticket = calls.cancel(
        session, q.get_ticket(session, ticket_id), actor=_actor(), reason=data["reason"]
    )
    session.commit()
    return _ticket_out(ticket)


@blp.route("/tickets/<int:ticket_id>/patient", methods=["POST"])
@requires("queue.issue")
@blp.arguments(schemas.AttachPatientIn)
@blp.response(200, schemas.TicketOut)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema)
@blp.alt_response(422, schema=ProblemSchema)
def attach_patient(data, ticket_id: int):
    """Attach the patient found (or registered) at the desk to a ticket still in the queue."""
    session = db.session()
    ticket = reception.attach_patient(
        session, q.get_ticket(session, ticket_id), data["patient_id"], actor=_actor()
    )
    session.commit()
    return _ticket_out(ticket)


# -- patients: online joining and their own ticket --------------------------------------------


def _public_ticket(session, ticket) -> dict:
    answer = {
        **queue_days.patient_view(session, ticket),
        "token": ticket.token,
        "patient_url": _patient_url(ticket),
        "now_held": None,
    }
    # A ticket still in its queue was sent nowhere: no lookup on the phones' polling path.
    now_held = ticket if ticket.status in TicketStatus.ACTIVE else q.followed(session, ticket)
    if now_held.id != ticket.id:
        # Sent to another queue (or back after it): the ticket the patient holds now, as the
        # patient's page follows it.
        answer["now_held"] = {
            "code": now_held.code,
            "token": now_held.token,
            "patient_url": _patient_url(now_held),
        }
    return answer


@blp.route("/public/queues/<int:queue_id>/join", methods=["POST"])
@public
# No CSRF token: the join acts as nobody (no session or identity is read), so a forged request
# could do nothing a direct one cannot; the rate limit is its guard.
@csrf_exempt
@limiter.limit(_online_join_limit)
@blp.arguments(schemas.JoinIn)
@blp.response(201, schemas.PublicTicket)
@blp.alt_response(
    409,
    schema=ProblemSchema,
    description="Window closed, limit reached, or the phone has a ticket already "
    "(``already_joined``: its link is not given again here; the desk prints it).",
)
@blp.alt_response(422, schema=ProblemSchema)
def join_online(data, queue_id: int):
    """Join from a phone: within the online window and under the daily limit. The ticket's
    link is in this answer only: the same phone asking again is refused without it, unless
    it sends the ``idempotency_key`` of the join that made it (the network lost that answer):
    it is answered with that ticket, as the first was: only the page that sent it knows the
    key, and it gives the link back with the same phone only."""
    session = db.session()
    ticket = joining.join_online_once(
        session, queue_id, data["phone"], tz=_tz(), idempotency_key=data["idempotency_key"]
    )
    return _public_ticket(session, ticket)


@blp.route("/public/tickets/<string:token>")
@public
@blp.response(200, schemas.PublicTicket)
@blp.alt_response(404, schema=ProblemSchema)
def public_ticket(token: str):
    """The patient's own ticket: status, room, people ahead and the estimated wait."""
    session = db.session()
    ticket = q.ticket_by_token(session, token)
    if ticket is None:
        abort(404, message="no such ticket")
    return _public_ticket(session, ticket)


@blp.route("/public/tickets/<string:token>/leave", methods=["POST"])
@public
# No CSRF token: the ticket's secret in the address is the credential, and no session or
# identity is read, so a forged request could do nothing a direct one with it cannot.
@csrf_exempt
@limiter.limit(LEAVE_LIMIT)
@blp.response(200, schemas.PublicTicket)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema, description="With the doctor, or already out.")
def leave_queue(token: str):
    """The patient leaves the queue from his own page: his ticket is cancelled, while he
    waits, is called or is postponed (not once he is with the doctor)."""
    session = db.session()
    ticket = q.ticket_by_token(session, token)
    if ticket is None:
        abort(404, message="no such ticket")
    joining.leave(session, ticket)
    session.commit()
    return _public_ticket(session, ticket)
