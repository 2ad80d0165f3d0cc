"""The doctor's screen's words for what the API refuses, in the screen's language."""

from __future__ import annotations

from flask_babel import gettext as _

from web.refusals import common_refusals


def doctor_refusals() -> dict:
    """The doctor's buttons refused, by the API's ``code``, in the screen's language. A
    transfer refused by the other queue names that queue ({queue})."""
    return {
        **common_refusals(),
        "wrong_status": _(
            "This ticket has just been changed elsewhere: the screen shows it as it is now."
        ),
        "not_paid": _("This patient has not paid yet: this queue calls only paid tickets."),
        "patient_elsewhere": _(
            "This patient is with another doctor now: call him back once he is free."
        ),
        "booked_with_another_doctor": _(
            "This patient is booked with another doctor: that doctor calls him."
        ),
        "queue_closed": _("{queue} is closed for today: the patient stays in your queue."),
        "queue_inactive": _("{queue} is not working now: the patient stays in your queue."),
        "not_your_queue": _("This queue is not yours."),
        "not_your_room": _(
            "You may call only to your own room, the queue's, or the one your hours name now."
        ),
        "not_your_patient": _("This patient is with a colleague in another room."),
        # A no-show taken back whose phone joined the queue again: he holds the new ticket.
        "rejoined": _("He has joined the queue again from his phone: call him by his new ticket."),
        # A no-show taken back who was given a new ticket at the desk meanwhile.
        "patient_in_queue": _(
            "He has been given ticket {ticket_code} in this queue since: call him by that one."
        ),
    }


def doctor_fields() -> dict:
    """A refusal without a code, by the field it names (the API words it in English)."""
    return {
        "room_id": _("The room for this call is deactivated. Ask an administrator."),
        "to_queue_id": _("This queue does not take transfers. Choose another one."),
    }
