"""A desk or doctor's screen left open across midnight, while a patient of the day before is
still with his doctor: the new day's tickets are issued, the patient is served after
midnight and his day closes. The screen keeps the new day's tickets and how many wait in it;
an earlier day's event never sets the count. Run by the Node.js that comes with Playwright."""

from __future__ import annotations

import json

from tests.web.page_scripts import STAND_IN, run, script

BEFORE_MIDNIGHT = {
    "queue_id": 2,
    "day": "2026-03-02",
    "tickets": [{"id": 7, "status": "in_service", "code": "T-041"}],
    "waiting": 0,
    "counts": {"in_service": 1, "served": 40},
}
AFTER_MIDNIGHT = {**BEFORE_MIDNIGHT, "day": "2026-03-03", "tickets": [], "counts": {}}


def _after(snapshot: dict, events: list[dict]) -> dict:
    program = (
        STAND_IN
        + "var document = standIn();\n"
        + script("queue.js")
        + "\nvar book = new window.ClinicQueue.TicketBook();"
        + f"\nbook.reset({json.dumps(snapshot)});"
        + f"\n{json.dumps(events)}.forEach(function (e) {{ book.apply(e); }});"
        + "\nprocess.stdout.write(JSON.stringify({tickets: Object.keys(book.tickets),"
        " waiting: book.waiting, served: book.count('served')}));"
    )
    return run(program)


def _ticket(type_: str, ticket_id: int, status: str, day: str, waiting: int) -> dict:
    data = {"id": ticket_id, "status": status, "code": f"T-{ticket_id:03d}", "day": day}
    return {"type": type_, "data": {**data, "waiting": waiting}}


ISSUED = _ticket("ticket.issued", 8, "waiting", "2026-03-03", 1)
SERVED = _ticket("ticket.served", 7, "served", "2026-03-02", 0)
CLOSED = {"type": "queue.day_closed", "data": {"queue_id": 2, "day": "2026-03-02", "waiting": 0}}


def test_a_screen_open_across_midnight_keeps_the_new_days_tickets_when_the_old_day_closes():
    assert _after(BEFORE_MIDNIGHT, [ISSUED, SERVED, CLOSED]) == {
        "tickets": ["8"],
        "waiting": 1,
        "served": 0,
    }


def test_the_patient_of_the_day_before_leaves_the_doctors_hands_when_served():
    after = _after(BEFORE_MIDNIGHT, [ISSUED, SERVED])
    assert after["waiting"] == 1 and sorted(after["tickets"]) == ["7", "8"]


def test_a_screen_opened_after_midnight_takes_nothing_of_the_day_before():
    assert _after(AFTER_MIDNIGHT, [ISSUED, SERVED, CLOSED]) == {
        "tickets": ["8"],
        "waiting": 1,
        "served": 0,
    }


def test_the_closing_of_the_day_shown_still_clears_it():
    late = _ticket("ticket.served", 7, "served", "2026-03-02", 0)
    assert _after(BEFORE_MIDNIGHT, [late, CLOSED]) == {"tickets": [], "waiting": 0, "served": 0}
