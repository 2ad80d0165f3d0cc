"""The cashier's script keeps her shift's figure and state with what the desk channel says
happened at other screens. Run by the Node.js that comes with Playwright, with the page's
elements stood in for (no browser, well under a second)."""

from __future__ import annotations

import json
import subprocess  # nosec B404 - runs Playwright's own Node.js on the project's script
from pathlib import Path

from tests.web.test_money_script import _node

SCRIPT = Path(__file__).resolve().parents[2] / "web" / "static" / "js" / "cashier.js"

# Anything the script touches of the page: every property is another stand-in, every call
# answers one; what the script sets is kept.
STAND_IN = """
var window = globalThis;
function standIn() {
  var kept = {};
  var fn = function () { return standIn(); };
  return new Proxy(fn, {
    get: function (target, name) {
      if (name in kept) return kept[name];
      if (name === Symbol.toPrimitive) return function () { return ""; };
      if (name === "then") return undefined;
      return standIn();
    },
    set: function (target, name, value) { kept[name] = value; return true; },
  });
}
"""
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
        + SCRIPT.read_text(encoding="utf-8")
        + "\nsetTimeout(function () { var before = asked.length;"
        f" {json.dumps(events)}.forEach(handlers.onEvent);"
        " process.stdout.write(JSON.stringify(asked.slice(before))); }, 0);"
    )
    ran = subprocess.run(  # nosec B603 - a fixed program, no shell
        [_node(), "-e", program], capture_output=True, text=True, timeout=30, check=True
    )
    return json.loads(ran.stdout)


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
