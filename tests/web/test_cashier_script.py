"""The cashier's script keeps her shift's figure and state with what the desk channel says
happened at other screens. Run by the Node.js that comes with Playwright, with the page's
elements stood in for (no browser, well under a second)."""

from __future__ import annotations

import json

from tests.web.page_scripts import STAND_IN, run, script

SCRIPT = script("cashier.js")

PAGE = STAND_IN + """
var document = standIn();
var asked = [], handlers = null;
window.ClinicQueue = {
  config: function () {
    return { texts: standIn(), money: {}, channel: "payments:desk", shiftApi: "/shift" };
  },
  fill: function (t) { return String(t); },
  say: function () {},
  element: function () { return standIn(); },
  api: function (method, url) {
    asked.push(method + " " + url);
    return Promise.resolve({ status: 200, body: { shift: shiftNow } });
  },
};
window.ClinicMoney = function () { return function (x) { return String(x); }; };
window.ClinicMoney.reader = function () { return function () { return null; }; };
window.ClinicSocket = { subscribe: function (channel, h) { handlers = h; } };
"""


def _asked_after(events: list[dict], shift: dict | None = None) -> list[str]:
    """The API calls the script makes on ``events``, after the page's first reading of the
    cashier's shift found ``shift``."""
    program = (
        f"var shiftNow = {json.dumps(shift)};\n"
        + PAGE
        + SCRIPT
        + "\nsetTimeout(function () { var before = asked.length;"
        f" {json.dumps(events)}.forEach(handlers.onEvent);"
        " process.stdout.write(JSON.stringify(asked.slice(before))); }, 0);"
    )
    return run(program)


def test_a_shift_opened_or_closed_at_another_screen_is_read_again():
    shift = {"id": 3, "cashier_id": 7}
    assert _asked_after(
        [
            {"type": "shift.opened", "data": {"shift": shift}},
            {"type": "shift.closed", "data": {"shift": shift}},
        ]
    ) == ["GET /shift", "GET /shift"]


def test_money_into_her_drawer_at_another_screen_reads_her_shift_again():
    invoice = {"id": 1, "status": "paid", "lines": [], "total": 100}
    paid = {"type": "payment.recorded", "data": {"payment": {"shift_id": 3}, "invoice": invoice}}
    held = {"type": "invoice.changed", "data": {"change": "held", "invoice": invoice}}
    shift = {"id": 3, "opened_at": "2026-03-02T04:00:00Z", "cash_in_drawer": 0}
    assert _asked_after([held, paid], shift=shift) == ["GET /shift"]
    # Another cashier's drawer, or none open here: nothing to read again.
    assert _asked_after([held, paid], shift={**shift, "id": 4}) == []
    assert _asked_after([held, paid]) == []
