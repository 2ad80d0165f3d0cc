"""The electronic queue's screens: reception desk, doctor, display board, kiosk, online joining,
the patient's own page and the printed ticket.

Every screen reads and changes the queue through the JSON API (web/api/queue.py) and follows
it live over the WebSocket (docs/websocket.md); these views only render the first state and
the texts the scripts need, in the page's language.
"""

from __future__ import annotations

from urllib.parse import urlencode

import segno
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from clinic.errors import NotFound
from clinic.printing import jobs as print_jobs
from clinic.queue import access
from clinic.queue import admin as queue_admin
from clinic.queue import calls
from clinic.queue import days as queue_days
from clinic.queue import joining
from clinic.queue import tickets as q
from clinic.queue.models import TicketStatus as S
from clinic.reference import directory as reference
from clinic.text import whole_number
from web import db
from web.auth.identity import current_identity
from web.i18n import current_language, patient_search_texts
from web.permissions import public, requires
from web.queue.cards import listed_queue_cards, queue_card, queue_name, queue_names
from web.queue.desk_words import ticket_row_texts
from web.queue.doctor_words import doctor_fields, doctor_refusals
from web.queue.ticket_printing import ticket_printing
from web.refusals import common_refusals

bp = Blueprint("queue_pages", __name__)


def _room_busy_text() -> str:
    """The doctor's screen while his room holds a patient ({code}: that patient's ticket)."""
    return _(
        "{code} is still with you: finish, mark a no-show or postpone before calling the next."
    )


def _tz():
    return db.runtime().settings.tz


def _clinic(session) -> dict:
    """The clinic as its patients' pages name it (the clinic profile), not the staff's site."""
    try:
        profile = reference.get_clinic_profile(session)
    except NotFound:
        return {"name": "", "address": "", "phone": ""}
    return {"name": profile.legal_name, "address": profile.address, "phone": profile.phone}


# A patient's page carries his ticket's secret in its address: it goes to no other site.
NO_REFERRER = {"Referrer-Policy": "no-referrer"}


def _status_names() -> dict:
    return {
        S.WAITING: _("Waiting"),
        S.CALLED: _("Called"),
        S.IN_SERVICE: _("With the doctor"),
        S.SERVED: _("Served"),
        S.NO_SHOW: _("Did not come"),
        S.CANCELLED: _("Cancelled"),
        S.TRANSFERRED: _("Transferred"),
        S.POSTPONED: _("Postponed"),
    }


def _common_texts() -> dict:
    return {
        "statuses": _status_names(),
        "urgent": _("Urgent"),
        "returned": _("Returned"),
        "privileged": _("Privileged"),
        "paid": _("Paid"),
        "network": _("The server could not be reached. Check the connection and try again."),
        "signedOut": _("Your session has ended. Sign in again."),
        "forbidden": _("Your role does not allow this."),
        "failed": _("The action failed: {detail}"),
        "nobody": _("Nobody is waiting."),
        "room": _("Room {room}"),
        "minutes": _("about {minutes} min"),
        "forDoctor": _("for Dr {doctor}"),
    }


# -- reception ------------------------------------------------------------------------------


def _issue_refusals() -> dict:
    """Why a queue issues no ticket now, by the API's ``code``: said in the screen's language
    at the desk and the kiosk, instead of the API's English detail."""
    refusals = _refusals()
    return {code: refusals[code] for code in ("queue_closed", "queue_inactive")}


def _desk_refusals() -> dict:
    """The desk's other refusals, by the API's ``code``: a ticket cancelled or given a patient
    after it has left the queue (served, cancelled, sent on elsewhere)."""
    return {
        **common_refusals(),
        **_issue_refusals(),
        "wrong_status": _("This ticket has already left the queue."),
        "patient_changed": _(
            "Another desk has just given this ticket to another patient: the list shows it "
            "as it is now."
        ),
        "patient_in_queue": _(
            "This patient is already in this queue with ticket {ticket_code}: print it again "
            "from the list rather than issuing another."
        ),
    }


def _desk_fields() -> dict:
    """A refusal without a code, by the field it names (the API words it in English): the
    patient chosen for a ticket, and the form registering one."""
    return {
        "patient_id": _("This patient's record is deactivated. Find the patient again."),
        "full_name": _("Give the patient's full name."),
        "phone": _refusals()["phone"],
        "birth_date": _("Check the date of birth."),
    }


@bp.get("/queue/desk")
@requires("queue.issue")
def desk():
    """The registrar's screen: every active queue, live, with a form to issue a ticket."""
    session = db.session()
    listed, queues = listed_queue_cards(session, current_language())
    texts = {
        **_common_texts(),
        **ticket_row_texts(),
        "issueLost": _(
            "The server's answer was lost: no ticket was issued. Press the button again."
        ),
        "issueMaybeIssued": _(
            "The server's answer was lost: the ticket may have been issued. Press again within "
            "a minute: you get that ticket, not a second one."
        ),
        "registerLost": _(
            "The server's answer was lost: the patient may have been registered. Search for "
            "him before registering him again."
        ),
        **patient_search_texts(),
        "choose": _("Choose"),
        "possibleDuplicates": _(
            "Registered. A patient of the same name is on file already: if it is the same "
            "person, choose the earlier record."
        ),
        "refusals": _desk_refusals(),
        "fields": _desk_fields(),
    }
    ticket_url = url_for("queue.cancel_ticket", ticket_id=0).replace("/0/", "/{id}/")
    return render_template(
        "queue/desk.html",
        queues=queues,
        config={
            **ticket_printing(session, listed),
            "cancelUrl": ticket_url,
            "attachUrl": ticket_url.replace("/cancel", "/patient"),
            "patientsUrl": "/api/v1/patients",
            "ticketsUrl": url_for("queue.today_tickets", queue_id=0).replace("/0/", "/{id}/"),
            "timezone": db.runtime().settings.timezone,
            "texts": texts,
        },
    )


@bp.get("/ticket/<int:ticket_id>/print")
@requires("queue.issue")
def print_ticket(ticket_id: int):
    """A ticket to print: number, queue, department, time, and a QR code of the patient's
    own page. The page asks the browser to print itself: the ticket's thermal paper still to
    come is marked as a copy (the desk's "Print again" of a ticket whose printer is away)."""
    session = db.session()
    page = printed_ticket(session, q.get_ticket(session, ticket_id))
    print_jobs.note_ticket_printed_from_browser(session, ticket_id)
    session.commit()
    return page


def patient_page_address(ticket) -> str:
    """The address of ``ticket``'s patient page that its QR code carries. The patient's phone
    opens it from anywhere: the clinic's public address, as on the thermal ticket, not the one
    the desk reached the server at (often the clinic's LAN)."""
    return db.runtime().settings.public_url + url_for(
        "queue_pages.patient_page", token=ticket.token
    )


def printed_ticket(session, ticket):
    """The printable page of ``ticket`` (the desk's and the kiosk's)."""
    language = current_language()
    patient_url = patient_page_address(ticket)
    qr = segno.make(patient_url, error="m")
    try:
        clinic = reference.get_clinic_profile(session).legal_name
    except NotFound:
        clinic = ""
    return render_template(
        "queue/print.html",
        clinic=clinic,
        ticket=ticket,
        department=getattr(ticket.queue.department, f"name_{language}"),
        issued_at=ticket.created_at.astimezone(_tz()),
        patient_url=patient_url,
        qr_svg=qr.svg_inline(scale=4, border=2, title=patient_url, svgclass="ticket-qr"),
        autoprint=request.args.get("autoprint", "1") != "0",
    )


# -- the doctor -----------------------------------------------------------------------------


@bp.get("/queue/doctor")
@requires("queue.call")
def doctor():
    """The doctor's screen: one of his queues, live, with call, serve and transfer buttons."""
    session = db.session()
    language = current_language()
    staff = current_identity().staff
    queues = access.queues_to_call(session, staff)
    every_queue = queue_admin.list_queues(session)
    names = queue_names(list({x.id: x for x in [*every_queue, *queues]}.values()), language)
    asked = request.args.get("queue", "")
    chosen = queues[0] if queues else None
    if asked:
        # Another department's queue is refused here as the API and the socket refuse it.
        chosen = q.get_queue(session, whole_number(asked) or 0)
        access.check_may_act_on_queue(session, staff, chosen)
    config, holder = None, None
    if chosen is not None:
        room_id = access.calling_room(session, staff, chosen)
        texts = {
            **_common_texts(),
            "transferred": _("{code} was sent to {queue} as {new}."),
            "roomBusy": _room_busy_text(),
            "nobodyFree": _(
                "Nobody can be called now: those waiting have not paid yet"
                " or are with another doctor."
            ),
            "waitForOwnDoctors": _(
                "Nobody for you now: patients waiting for their own doctors: {count}."
            ),
            # The room's patient was called from another queue, which this screen does not show:
            # by his ticket and that queue's name, or (the queue unknown here) without them.
            "roomBusyInQueue": _(
                "Your room still holds {code}, called from {queue}: finish, mark a no-show or"
                " postpone him there first."
            ),
            "roomBusyElsewhere": _(
                "Your room still holds a patient called from another of your queues: finish,"
                " mark a no-show or postpone him there first."
            ),
            "refusals": doctor_refusals(),
            "fields": doctor_fields(),
            # A no-show taken back: refused once the day is closed, or his visit was missed.
            "cameBackRefusals": {
                "queue_closed": _("The queue is closed for today: he cannot be taken back."),
                "visit_ticket": _(
                    "His appointment was marked missed with this ticket: the desk books him again."
                ),
            },
        }
        holder = calls.holder_now(session, chosen, room_id, tz=_tz())
        config = {
            "queue": chosen.id,
            # Where his calls go now (whose patients "With you now" shows): the calls name no
            # room, so they follow a change of the queue's room, his own or his hours'.
            "roomId": room_id,
            "doctorId": staff.doctor_id,  # his colleagues' booked patients are not his to call
            "texts": texts,
            "queueNames": {str(i): name for i, name in names.items()},
        }
    return render_template(
        "queue/doctor.html",
        queues=[(queue.id, names[queue.id]) for queue in queues],
        chosen=queue_card(session, chosen, language, names) if chosen else None,
        targets=[
            (queue.id, names[queue.id])
            for queue in every_queue
            if chosen is None or queue.id != chosen.id
        ],
        config=config,
        # The same rule as the API's call next (clinic/queue/calls.py): one patient a room.
        room_busy=holder.code if holder is not None else None,
    )


# -- patients -------------------------------------------------------------------------------


@bp.get("/t/<string:token>")
@public
def patient_page(token: str):
    """The patient's own ticket, opened from the QR code or the online joining page."""
    session = db.session()
    ticket = q.ticket_by_token(session, token)
    if ticket is None:
        abort(404)
    now_held = q.followed(session, ticket)
    if now_held.id != ticket.id:
        # Sent to another queue (or back after it): the page follows him to that ticket.
        language = request.args.get("lang")
        path = url_for("queue_pages.patient_page", token=now_held.token)
        return redirect(f"{path}?{urlencode({'lang': language})}" if language else path, code=303)
    language = current_language()
    state = queue_days.patient_view(session, ticket)
    # Sent on (or back) from another queue: the first ticket is the one his paper (or the
    # join page) showed him.
    came_from = ticket
    while came_from.transferred_from_id is not None:
        came_from = q.get_ticket(session, came_from.transferred_from_id)
    texts = {
        **_common_texts(),
        "ahead": _("People ahead of you"),
        "goTo": _("Please go to room {room}"),
        "goNow": _("Please go in now"),
        "over": _("This ticket is no longer in the queue."),
        # Ended by the day's closing (a no-show or cancelled by the queue's close action):
        # he never missed a call.
        "closedWithDay": _("The queue closed for today before your turn"),
        "confirmLeave": _("Leave the queue? Ticket {code} will be cancelled."),
        # Refused: he was taken in by the doctor (or the ticket changed) meanwhile.
        "leaveRefused": _("The ticket has changed meanwhile: the page shows it as it is now."),
        # Refused by the rate limit, as online joining says it: nothing changed.
        "tooMany": _refusals()["too_many"],
    }
    page = render_template(
        "queue/patient.html",
        clinic=_clinic(session),
        ticket=ticket,
        state=state,
        queue_name=queue_name(ticket.queue, language),
        sent_on=(
            _("Your ticket {old} was sent on here: the board now calls you as {code}.").format(
                old=came_from.code, code=ticket.code
            )
            if came_from.id != ticket.id
            else None
        ),
        statuses=_status_names(),
        config={
            "ticket": ticket.id,
            "queue": ticket.queue_id,
            "stateUrl": url_for("queue.public_ticket", token=ticket.token),
            "leaveUrl": url_for("queue.leave_queue", token=ticket.token),
            "leavable": list(joining.LEAVABLE),
            "texts": texts,
        },
        leavable=joining.LEAVABLE,
        ws_query=urlencode({"ticket": ticket.token}),
    )
    return page, 200, NO_REFERRER


def _refusals() -> dict:
    return {
        "window_not_open": _("Online joining has not opened yet today. It opens at {start}."),
        "window_closed": _("Online joining has closed for today. It was open until {end}."),
        "online_limit_reached": _("All of today's online places are taken."),
        "online_disabled": _("This queue cannot be joined online."),
        # Its link is not given again to whoever types the number: the desk prints it.
        "already_joined": _(
            "This phone already has a ticket in this queue today. If you have lost its link, "
            "the reception desk will print your ticket again."
        ),
        "queue_closed": _("This queue is closed for today."),
        "queue_inactive": _("This queue is not working now."),
        "phone": _("This does not look like a phone number. Example: 90 123 45 67."),
        "too_many": _("Too many attempts. Please wait a minute and try again."),
    }


def every_queue_refusal() -> dict:
    """The queue pages' refusals by code (the desk's, the doctor's, online joining's)."""
    return {**_refusals(), **doctor_refusals(), **_desk_refusals()}


@bp.get("/join/<int:queue_id>")
@public
def join(queue_id: int):
    """Online joining: a phone number gives a place in today's queue and a link to follow it."""
    session = db.session()
    queue = q.get_queue(session, queue_id)
    card = queue_card(session, queue, current_language())
    if not queue.online_daily_limit or not queue.active:
        # No online places, or the queue switched off for now: the page announces no window
        # it would then refuse in.
        card.update(online_from=None, online_until=None)
    page = render_template(
        "queue/join.html",
        clinic=_clinic(session),
        queue=card,
        # Said at once, as the join would answer it, rather than after the phone is typed.
        inactive=_refusals()["queue_inactive"] if not queue.active else None,
        config={
            "joinUrl": url_for("queue.join_online", queue_id=queue.id),
            "window": {"start": card["online_from"] or "", "end": card["online_until"] or ""},
            "refusals": _refusals(),
            "texts": {
                **_common_texts(),
                "joined": _("You are in the queue. Your ticket:"),
            },
        },
    )
    return page, 200, NO_REFERRER
