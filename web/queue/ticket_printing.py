"""How the desk and the kiosk print the tickets they issue: a queue whose tickets go to a
thermal printer (clinic/printing/routes.py decides) has its paper from there, and the page
opens no browser print of it too; any other queue's ticket opens the printable page."""

from __future__ import annotations

from flask import url_for

from clinic.printing.routes import QueuePaper, queue_paper, tickets_on_paper
from clinic.queue.issued_once import issue_ticket_once, request_key_of


def ticket_printing(session, queues, *, page: str = "queue_pages.print_ticket") -> dict:
    """The page configuration's part for printing the tickets of ``queues``, each from
    ``page`` (the kiosk prints from a page of its own, for the tickets it issued)."""
    return {
        "printUrl": url_for(page, ticket_id=0).replace("/0/", "/{id}/"),
        "ticketsOnPaper": tickets_on_paper(session, [queue.id for queue in queues]),
    }


def issue_on_paper(session, queue_id: int, *, whose: str, key: str | None, **asked):
    """A ticket issued once per ``key`` of ``whose`` (a desk's user, a kiosk account), with
    whether its queue's printer prints it: (ticket, on_paper, printer_failing). The printer
    is read with the queue by the issuing's first statement; a repeat answered with the
    ticket issued before reads it as it stands now."""
    paper = QueuePaper()
    ticket, made = issue_ticket_once(
        session,
        queue_id,
        request_key=request_key_of(whose, key) if key is not None else None,
        read_along=paper,
        **asked,
    )
    if not made:
        paper.on_paper, paper.failing = queue_paper(session, ticket.queue_id)
    return ticket, paper.on_paper, paper.failing
