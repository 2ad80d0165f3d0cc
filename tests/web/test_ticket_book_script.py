"""The desk's, the doctor's and the board's screens keep the day they show: a day kept open
past midnight (a patient still with his doctor) that closes after the new day began leaves
the new day's tickets on them. Run by the Node.js that comes with Playwright (no browser)."""

from __future__ import annotations

import json

from tests.web.page_scripts import STAND_IN, run, script

SNAPSHOT = {
    "queue_id": 2,
    "day": "2026-03-03",
    "tickets": [{"id": 7, "status": "waiting", "code": "T-001"}],
    "waiting": 1,
    "counts": {"waiting": 1},
}


def _after(events: list[dict]) -> dict:
    program = (
        STAND_IN
        + "var document = standIn();\n"
        + script("queue.js")
        + "\nvar book = new window.ClinicQueue.TicketBook();"
        + f"\nbook.reset({json.dumps(SNAPSHOT)});"
        + f"\n{json.dumps(events)}.forEach(function (e) {{ book.apply(e); }});"
        + "\nprocess.stdout.write(JSON.stringify("
        "{tickets: Object.keys(book.tickets), waiting: book.waiting}));"
    )
    return run(program)


def closed(day: str) -> dict:
    return {"type": "queue.day_closed", "data": {"queue_id": 2, "day": day, "waiting": 0}}


def test_the_closing_of_the_day_before_leaves_the_new_days_tickets():
    assert _after([closed("2026-03-02")]) == {"tickets": ["7"], "waiting": 1}


def test_the_closing_of_the_day_shown_clears_it():
    assert _after([closed("2026-03-03")]) == {"tickets": [], "waiting": 0}


def test_a_closing_that_names_no_day_clears_the_screen_as_before():
    event = {"type": "queue.day_closed", "data": {"queue_id": 2, "waiting": 0}}
    assert _after([event]) == {"tickets": [], "waiting": 0}
