"""The reception desk's words for its ticket rows (web/static/js/desk.js), in the page's
language: issuing, printing, cancelling and attaching the patient chosen."""

from __future__ import annotations

from flask_babel import gettext as _


def ticket_row_texts() -> dict:
    return {
        "issued": _("Ticket {code} issued."),
        "print": _("Print ticket {code}"),
        "served": _("{count} served today"),
        "reprint": _("Print again"),
        "cancel": _("Cancel"),
        "confirmCancel": _("Cancel ticket {code}?"),
        # A ticket whose invoice is paid: the patient is owed his money once it is cancelled,
        # and the cashier's desk shows it to give back (docs/payments.md).
        "confirmCancelPaid": _(
            "Ticket {code} is paid. Cancel it? The patient gets his money back at the"
            " cashier's desk."
        ),
        "attach": _("Attach {name}"),
        "hasPatient": _("Patient attached"),
        "issuedAt": _("issued {time}"),
        "more": _("Show {count} more"),
    }
