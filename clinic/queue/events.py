"""The queue's events and what each audience sees of them.

A ticket's change goes to three channels at once: ``queue:<id>`` (the staff: the whole
ticket), ``board:<id>`` (the hall's display: number, room, status, never a name or a phone)
and ``ticket:<id>`` (the patient's own page: the board's view of his ticket). The board and
the ticket channels are public; the catalogue refuses any personal field on them.
"""

from __future__ import annotations

from clinic.events.catalogue import EventType, NoneType, declare, declare_public_channels

OPT_INT, OPT_STR = (int, NoneType), (str, NoneType)

STAFF_TICKET = {
    "id": int,
    "code": str,
    "number": int,
    "queue_id": int,
    "source": str,
    "priority": str,  # a name of Priority.NAMES: normal, privileged, returned or urgent
    "status": str,
    "room": OPT_STR,
    "room_id": OPT_INT,
    "patient_id": OPT_INT,
    "visit_id": OPT_INT,
    "phone": OPT_STR,
    "comment": str,
    "queued_at": str,
    "created_at": str,
    "called_at": OPT_STR,
    "started_at": OPT_STR,
    "finished_at": OPT_STR,
    "recalls": int,
    "transferred_from_id": OPT_INT,
    "return_to_queue_id": OPT_INT,
    "paid_at": OPT_STR,
    # The doctor a ticket still to be called waits for (a visit checked in with him in a
    # shared queue: clinic/queue/reserved.py), by name and id; None: anyone's.
    "reserved_for": OPT_STR,
    "reserved_for_id": OPT_INT,
    "waiting": int,
    "day": str,  # the clinic's date of the ticket's day ("YYYY-MM-DD"): a screen keeps days apart
}
BOARD_TICKET = {
    "ticket_id": int,
    "code": str,
    "queue_id": int,
    "room": OPT_STR,
    "status": str,
    "recalls": int,
    "called_at": OPT_STR,
}

# What happened to a ticket, as its history and its event name say it.
TICKET_ACTIONS = (
    "issued",
    "called",
    "recalled",
    "started",
    "served",
    "no_show",
    "postponed",
    "called_back",
    "came_back",  # a no-show who turned up after all: back on the postponed list
    "cancelled",
    "transferred",
    "paid",  # the ticket's invoice was paid (a pay-first ticket may now be called)
    "refunded",  # its invoice was refunded in full before the call: it waits for payment again
    "day_closed",  # the day closed on it: now a no-show or cancelled (the queue's close_action)
    "patient_attached",  # the desk found or registered its patient (staff channel: the id)
    # Its visit moved within a department's shared queue (to another time, or to a colleague
    # there): the screens read again whom it waits for (``reserved_for``).
    "visit_moved",
)
TICKET_EVENTS = {
    action: EventType(
        f"ticket.{action}",
        {
            "queue": STAFF_TICKET,
            # The ticket's day, too: a board open across midnight keeps the days apart.
            "board": {**BOARD_TICKET, "waiting": int, "day": str},
            "ticket": BOARD_TICKET,
        },
    )
    for action in TICKET_ACTIONS
}
DAY_CLOSED = EventType(
    "queue.day_closed",
    {kind: {"queue_id": int, "day": str, "waiting": int} for kind in ("queue", "board")},
)
# Every queue switched off or on, for the screens that list the queues (the desk, the
# kiosk): one switched on that was off when such a page loaded is added to it.
QUEUES_CHANNEL = "queues:all"
# A queue switched off (its settings' ``active``) or on again: the screens following it (the
# desk, the doctor's screen, the kiosk, the boards) learn it without a reload, and so do the
# screens listing the queues (QUEUES_CHANNEL).
SWITCHED_OFF, SWITCHED_ON = (
    EventType(name, {kind: {"queue_id": int} for kind in ("queue", "board", "queues")})
    for name in ("queue.switched_off", "queue.switched_on")
)
# A queue made switched on: the screens listing the queues add it as they add one switched on.
CREATED = EventType("queue.created", {"queues": {"queue_id": int}})
# What a running queue's screens show of it changed (its department, doctor, room or prefix,
# or the name of its department or doctor, or its room's number): the desk and the kiosk
# redraw its name, the boards their page, without a reload.
CHANGED = EventType(
    "queue.changed", {kind: {"queue_id": int} for kind in ("queue", "board", "queues")}
)
PRINT_REQUESTED = EventType(
    "ticket.print_requested", {"printing": {"ticket_id": int, "code": str, "queue_id": int}}
)

declare_public_channels("board", "ticket")
declare(
    *TICKET_EVENTS.values(),
    DAY_CLOSED,
    SWITCHED_OFF,
    SWITCHED_ON,
    CREATED,
    CHANGED,
    PRINT_REQUESTED,
)
