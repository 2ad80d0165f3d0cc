"""The refusals of the domain in the page's language, by their stable codes.

A page says a refusal by its ``code`` (docs/translations.md), never by the API's English
detail. Each page words the refusals of its own actions (the cashier's desk its payments',
the doctor's screen the queue's), sometimes with the page's own values ("{queue} is closed
for today"); :func:`common_refusals` words the others, which a page may still meet (an
invoice changed by another screen, an object someone else switched off), and the staff pages
hand both to their scripts, their own words first.

tests/web/test_refusal_words.py holds every code the application raises to words here or in
a page's, in Russian, Uzbek and English.
"""

from __future__ import annotations

from flask_babel import gettext as _


def common_refusals() -> dict[str, str]:
    """Refusals no page words with values of its own."""
    return {
        # payments
        "lines_frozen": _("The invoice's services cannot change once payment has begun."),
        # queue
        "room_busy": _("Someone is already called to this room. Finish with him first."),
        "visit_ticket": _("This ticket belongs to a booked visit and its patient."),
        "paid_ticket": _(
            "This ticket is paid for by its patient: issue the other patient a ticket of his own."
        ),
        "label_too_long": _("The screen's name is too long: at most 100 characters."),
        "label_one_line": _(
            "The screen's name must be one line, without tabs or invisible characters."
        ),
        "queue_in_use": _(
            "Patients are still in this queue: serve, transfer or cancel their tickets before "
            "switching it off or changing its prefix."
        ),
        # reference data
        "department_in_use": _(
            "The department is still in use: switch off what works in it first."
        ),
        "room_in_use": _("The room is still in use: move what uses it to another room first."),
        "doctor_in_use": _("The doctor still has queues working: switch them off first."),
        "doctor_with_patients": _(
            "The doctor still has a patient called to him or with him: finish with him first."
        ),
        # printing
        "name_taken": _("This name is already taken."),
        # A test page is printed on paper or not at all.
        "printer_pdf_only": _(
            "A PDF only printer prints no test page: its jobs are printed from the browser."
        ),
        "printer_switched_off": _(
            "The printer is switched off: switch it on to print a test page."
        ),
        # Removed by another administrator since the page listed it.
        "printer_unknown": _("This printer is no longer in the list: it has been removed."),
        "not_failed": _("Only a failed print job is sent again."),
        "retried": _("This print job was already sent again."),
        # visits
        "already_moving": _("These visits are already being moved."),
        "already_declared": _("This absence is already declared."),
        # reports and accounts
        "not_yours": _("This report is someone else's."),
        "self_disable": _("You cannot disable your own account."),
    }
