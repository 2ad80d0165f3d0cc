"""How the desk and the kiosk print the tickets they issue: a queue whose tickets go to a
thermal printer (clinic/printing/routes.py decides) has its paper from there, and the page
opens no browser print of it too; any other queue's ticket opens the printable page."""

from __future__ import annotations

from flask import url_for

from clinic.printing.routes import tickets_on_paper


def ticket_printing(session, queues, *, page: str = "queue_pages.print_ticket") -> dict:
    """The page configuration's part for printing the tickets of ``queues``, each from
    ``page`` (the kiosk prints from a page of its own, for the tickets it issued)."""
    return {
        "printUrl": url_for(page, ticket_id=0).replace("/0/", "/{id}/"),
        "ticketsOnPaper": tickets_on_paper(session, [queue.id for queue in queues]),
    }
