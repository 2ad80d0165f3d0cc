"""The self-service kiosk: its page, its issuing and its printed ticket, on a permission of
its own (``queue.kiosk``, the ``kiosk`` role's only one).

A kiosk stands in the hall with its session open to whoever walks up, so its account may do
no more than the kiosk does: issue a plain ticket (no patient, no comment, normal priority),
print the tickets it issued while they wait, and show how many wait (the queues' board
channels). It finds no patient, reads no queue's list of tickets and changes nothing else.
"""

from __future__ import annotations

import io

import segno
from flask import Response, abort, render_template, url_for

from clinic.printing import jobs as print_jobs
from clinic.queue import access, ticket_views
from clinic.queue import tickets as q
from clinic.queue.models import Priority, TicketSource
from web import db
from web.api.schemas import ProblemSchema
from web.auth.identity import current_identity
from web.i18n import (
    VISITOR,
    current_language,
    for_visitors,
    language_links,
    visitors_language,
)
from web.permissions import requires
from web.queue import schemas
from web.queue.api import blp
from web.queue.cards import listed_queue_cards
from web.queue.pages import _common_texts, _issue_refusals
from web.queue.pages import bp as pages
from web.queue.pages import patient_page_address, printed_ticket
from web.queue.ticket_printing import issue_on_paper, ticket_printing


@pages.get("/kiosk")
@requires("queue.kiosk")
@for_visitors
def kiosk():
    """The self-service kiosk: one big button per queue; a touch issues and prints a ticket.

    A patient may touch his language (``?lang=ru&visitor=1``): the page, and the ticket it
    prints in the browser, speak it for him; the kiosk returns to its own once his ticket is
    shown and gone, or when nobody has touched it for a while."""
    session = db.session()
    language = current_language()
    listed, queues = listed_queue_cards(session, language)
    texts = {**_common_texts(), "refusals": _issue_refusals()}
    printing = ticket_printing(session, listed, page="queue_pages.kiosk_print")
    qr_url = url_for("queue_pages.kiosk_ticket_code", ticket_id=0).replace("/0/", "/{id}/")
    # A patient's language: the way back to the kiosk's own, which the page takes by itself.
    visitor = visitors_language()
    home = url_for("queue_pages.kiosk") if visitor else None
    if visitor:
        printing["printUrl"] += f"?lang={visitor}&{VISITOR}=1"
    config = {**printing, "qrUrl": qr_url, "texts": texts, "home": home}
    languages = [
        {**link, "url": url_for("queue_pages.kiosk", lang=link["code"], **{VISITOR: 1})}
        for link in language_links()
    ]
    return render_template("queue/kiosk.html", queues=queues, config=config, languages=languages)


@pages.get("/kiosk/ticket/<int:ticket_id>/print")
@requires("queue.kiosk")
@for_visitors
def kiosk_print(ticket_id: int):
    """A ticket this kiosk account issued, to print, while it waits; any other is a 404, as
    a ticket that does not exist."""
    session = db.session()
    ticket = q.get_ticket(session, ticket_id)
    if not access.may_print_at_kiosk(session, ticket, current_identity().username):
        abort(404)
    page = printed_ticket(session, ticket)
    # Its thermal paper still to come is marked as a copy: the browser may print it too.
    print_jobs.note_ticket_printed_from_browser(session, ticket.id)
    session.commit()
    return page


@pages.get("/kiosk/ticket/<int:ticket_id>/code.svg")
@requires("queue.kiosk")
def kiosk_ticket_code(ticket_id: int):
    """The QR code of the patient's page of a ticket this kiosk issued, while it waits (as its
    printed ticket): shown on the screen when the printer is failing, for his phone to follow
    his turn without the paper. Any other ticket is a 404."""
    session = db.session()
    ticket = q.get_ticket(session, ticket_id)
    if not access.may_print_at_kiosk(session, ticket, current_identity().username):
        abort(404)
    address = patient_page_address(ticket)
    svg = io.BytesIO()  # a document of its own (with its namespace), not an inline <svg>
    segno.make(address, error="m").save(svg, kind="svg", scale=6, border=2, title=address)
    headers = {"Cache-Control": "no-store"}
    return Response(svg.getvalue(), mimetype="image/svg+xml", headers=headers)


@blp.route("/kiosk/queues/<int:queue_id>/tickets", methods=["POST"])
@requires("queue.kiosk")
@blp.arguments(schemas.KioskTicketIn)
@blp.response(201, schemas.IssuedTicketOut)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(409, schema=ProblemSchema)
@blp.alt_response(422, schema=ProblemSchema)
def issue_kiosk_ticket(data, queue_id: int):
    """Issue a plain ticket at the kiosk (source ``kiosk``, normal priority, no patient and no
    comment); its body is at most an ``idempotency_key``. Numbered as every ticket, per queue
    per clinic day. The same key again (a touch repeated after the network lost the answer)
    is answered with the ticket it issued, as the first was, and issues no second one."""
    username = current_identity().username
    ticket, on_paper, failing = issue_on_paper(
        db.session(),
        queue_id,
        # The kiosk account's own: another account's same key is another touch.
        whose=f"kiosk:{username}",
        key=data["idempotency_key"],
        tz=db.runtime().settings.tz,
        source=TicketSource.KIOSK,
        priority=Priority.NAMES["normal"],
        patient_id=None,
        comment="",
        actor=username,
    )
    return {
        **ticket_views.ticket_as_dict(ticket),
        "on_paper": on_paper,
        "printer_failing": failing,
    }
