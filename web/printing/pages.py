"""The administrators' printer page: the registry, test prints and each printer's state,
live. The desk pages show their print jobs with ``js/print-status.js``."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for
from flask_babel import gettext as _

from clinic.accounts import users
from clinic.printing import printers as registry
from clinic.printing import thermal
from clinic.queue import admin as queue_admin
from web import db
from web.i18n import current_language
from web.permissions import requires
from web.queue.cards import queue_names
from web.refusals import common_refusals

bp = Blueprint("printing_pages", __name__)


def job_texts() -> dict:
    """What the print-status list says of a job, in the page's language."""
    return {
        "states": {
            "queued": _("Waiting to print"),
            "sending": _("Printing"),
            "printed": _("Printed"),
            "failed": _("Not printed"),
            "pdf_only": _("Print from the browser"),
        },
        "pdf": _("PDF"),
        # A reprint's mark beside its title, as the paper says "КОПИЯ / COPY" on top.
        "copy": _("copy"),
        "retry": _("Retry"),
        "retrying": _("Printer not answering, trying again"),
        "out_of_paper": _("Printer out of paper: put in a new roll"),
        # Why a job or a printer fails, by thermal.failure's code (the system's words are
        # English: the printers page shows them in a tooltip).
        "failures": {
            "out_of_paper": _("Printer out of paper: put in a new roll"),
            "broke_off": _("The printer broke off the job: it goes again marked as a copy"),
            "refused": _("The printer refuses the connection: it is off or its address is wrong"),
            "no_answer": _("The printer does not answer"),
            "unknown_host": _("No printer is found at this address"),
            "unreachable": _("The printer cannot be reached on the network"),
        },
        "failed": _("The action failed: {detail}"),
        # A Retry the server refused, said by the refusal's code ("retried": another desk
        # sent the job again first), or why no answer came.
        "refusals": common_refusals(),
        "signedOut": _("Your session has ended. Sign in again."),
        "forbidden": _("Your role does not allow this."),
        "network": _("The server could not be reached. Check the connection and try again."),
    }


def job_urls() -> dict:
    return {
        "pdf": url_for("printing.job_pdf", job_id=0).replace("/0/", "/{id}/"),
        "retry": url_for("printing.retry_job", job_id=0).replace("/0/", "/{id}/"),
    }


def print_status_config() -> dict:
    """What ``js/print-status.js`` needs on a desk page (a template calls this)."""
    # A job's last error when its printer said its paper had run out.
    return {"texts": job_texts(), "urls": job_urls(), "out_of_paper": thermal.OUT_OF_PAPER}


@bp.get("/admin/printers")
@requires("printing.manage")
def printers():
    """Printers: add, change, test and watch them."""
    session = db.session()
    return render_template(
        "printing/printers.html",
        printers=[registry.printer_as_dict(session, p) for p in registry.list_printers(session)],
        targets=_targets(session),
        config={
            "listUrl": url_for("printing.list_printers"),
            "printerUrl": url_for("printing.update_printer", printer_id=0).replace("/0", "/{id}"),
            "testUrl": url_for("printing.test_print", printer_id=0).replace("/0/", "/{id}/"),
            # A printer's last error when it said its paper had run out: said in words.
            "outOfPaper": thermal.OUT_OF_PAPER,
            # Times are the clinic's (CLINIC_TZ), whatever zone the browser's clock keeps.
            "timezone": db.runtime().settings.timezone,
            "texts": {
                **job_texts(),
                "ready": _("Ready"),
                "failingSince": _("Failing since {time}: {error}"),
                "test": _("Test print"),
                "remove": _("Remove"),
                "removeAsked": _(
                    "Remove the printer {name}? Its waiting jobs, and what it would print"
                    " from now on, are printed from the desks' browsers."
                ),
                "pdfOnly": _("PDF only"),
                "mm": _("mm"),  # the paper's width
                # Switched off (not active): it takes no jobs, its desks print PDFs.
                "switchedOff": _("Switched off: its jobs are printed from the browser"),
                "testSent": _("Test page sent to {name}."),
                "edit": _("Edit"),
                # The form adds a printer, or saves the one whose Edit filled it.
                "newPrinter": _("New printer"),
                "editPrinter": _("Edit printer {name}"),
                "add": _("Add"),
                "save": _("Save"),
                "saved": _("Saved."),
                # A printer's name taken by another, a test page refused, a printer
                # removed meanwhile: said by the refusal's code.
                "refusals": common_refusals(),
                # A refusal naming its field: what that field wants, in the page's language.
                "fields": {
                    "name": _("Give the printer a name, 1 to 80 characters."),
                    "host": _(
                        "Type the printer's network address without the port, "
                        "such as 192.168.1.50."
                    ),
                    "port": _("The port is a number from 1 to 65535 (usually 9100)."),
                    "languages": _("Languages are ru, uz or en, each once, joined by +: ru+uz."),
                    "targets": _("Choose what the printer prints from the list."),
                    "code_page": _("Choose the printer's code page from the list."),
                    "paper_mm": _("The paper is 58 or 80 mm wide."),
                    "profile": _("Choose the printer's model from the list."),
                    "kind": _("Choose the kind of printer from the list."),
                },
            },
        },
    )


def _targets(session) -> list[tuple[str, str]]:
    """What a printer may print for, as the administrator types it, each with what it is:
    the working queues by the names the desk shows, the two catch-alls, and the cashiers."""
    queues = queue_admin.list_queues(session)
    names = queue_names(queues, current_language())
    found = [
        (f"queue:{queue.id}", _("the tickets of %(queue)s", queue=names[queue.id]))
        for queue in queues
    ]
    found.append(("tickets", _("every other ticket")))
    found.append(("receipts", _("every other cashier document, and online payments' receipts")))
    for user in users.list_users(session):
        if user.active and "cashier" in user.roles:
            who = user.full_name or user.username
            found.append(
                (f"cashier:{user.username}", _("the documents of %(cashier)s", cashier=who))
            )
    return found
