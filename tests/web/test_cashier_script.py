"""The cashier's script keeps her shift's figure and state with what the desk channel says
happened at other screens. Run by the Node.js that comes with Playwright, with the page's
elements stood in for (no browser, well under a second)."""

from __future__ import annotations

import json
import re

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


# The desk's rows answer clicks: the row of invoice 5, its fields as the cashier typed them.
CLICKS = STAND_IN + """
var document = standIn(), listeners = {}, sent = [], answers = [], handlers = null;
document.getElementById = function (id) {
  var element = standIn();
  element.addEventListener = function (type, listener) { listeners[id + " " + type] = listener; };
  return element;
};
var typed = {amount: "100 000", tendered: "", refund_amount: "40 000", refund_reason: "ушёл"};
var tr = standIn();
tr.getAttribute = function () { return "5"; };
tr.querySelector = function (selector) {
  var name = /name=(\\w+)/.exec(selector)[1];
  return {value: name === "refund_method" ? "cash" : typed[name]};
};
function press(action) {
  var button = standIn();
  button.getAttribute = function () { return action; };
  button.closest = function (selector) { return selector === "tr" ? tr : button; };
  listeners["invoices click"]({target: button});
}
window.ClinicQueue = {
  config: function () {
    return { texts: standIn(), money: {}, api: "/invoices", shiftApi: "/shift" };
  },
  fill: function (t) { return String(t); },
  say: function () {},
  element: function () { return standIn(); },
  api: function (method, url, data) {
    if (method === "GET") return Promise.resolve({ status: 200, body: { shift: null } });
    sent.push(data.idempotency_key);
    var answer = answers.shift();
    return answer === "lost" ? Promise.reject(new Error("lost")) : Promise.resolve(answer);
  },
};
window.ClinicSocket = { subscribe: function (channel, h) { handlers = h; } };
"""


def _keys_sent(action: str, answers: list) -> list[int]:
    """Press ``action`` on an open invoice part paid once per answer the API gives (a lost
    answer is "lost"); each key sent, numbered by first use."""
    invoice = {
        "id": 5,
        "number": "26-0000005",
        "status": "open",
        "lines": [],
        "total": 150_000_00,
        "paid_amount": 10_000_00,
        "amount_due": 140_000_00,
        "held": False,
    }
    paid = {
        "status": 201,
        "body": {
            "invoice": invoice,
            "payment": {"amount": 100_000_00},
            "refund": {"amount": 40_000_00},
        },
    }
    said = {
        "paid": paid,
        "refused": {"status": 409, "body": {"code": "held"}},
        "broke": {"status": 502, "body": None},
        "lost": "lost",
    }
    program = (
        CLICKS
        + script("money.js")
        + SCRIPT
        + f"\nanswers = {json.dumps([said[a] for a in answers])};"
        f"\nhandlers.onSnapshot({{invoices: [{json.dumps(invoice)}]}});"
        "\nvar presses = answers.length;"
        "\n(async function () { for (var i = 0; i < presses; i++) {"
        f" press({json.dumps(action)});"
        " for (var t = 0; t < 5; t++) await new Promise(function (r) { setImmediate(r); }); }"
        " var numbers = {}; process.stdout.write(JSON.stringify(sent.map(function (k) {"
        " numbers[k] = numbers[k] || Object.keys(numbers).length + 1; return numbers[k]; })));"
        " })();"
    )
    return run(program)


def test_a_payment_or_refund_sent_again_before_the_api_decided_it_carries_the_same_key():
    # The answer lost on the way, or a gateway's 502: the cashier presses again, and the API
    # must see the same request (it pays once); answered, the next press is a new payment.
    answers = ["lost", "broke", "paid", "paid", "refused", "paid"]
    assert _keys_sent("cash", answers) == [1, 1, 1, 2, 3, 4]
    assert _keys_sent("refund", answers) == [1, 1, 1, 2, 3, 4]


def _shift_said(hours_ago: int) -> str:
    """What the page says of the cashier's shift opened ``hours_ago`` hours ago."""
    program = (
        STAND_IN + """
var document = standIn(), elements = {};
document.getElementById = function (id) { return (elements[id] = elements[id] || standIn()); };
window.ClinicQueue = {
  config: function () {
    return {texts: {shiftOpen: "open since {time}"}, money: {}, shiftApi: "/shift",
            timezone: "Asia/Tashkent", locale: "ru-RU"};
  },
  fill: function (t, v) { return String(t).replace("{time}", v.time); },
  say: function () {}, element: function () { return standIn(); },
  api: function () {
    var opened = new Date(Date.now() - HOURS * 3600 * 1000).toISOString();
    return Promise.resolve({status: 200, body: {shift: {id: 3, opened_at: opened}}});
  },
};
window.ClinicSocket = { subscribe: function () {} };
""".replace("HOURS", str(hours_ago)) + script("money.js") + SCRIPT + "\nsetTimeout(function () {"
        " process.stdout.write(JSON.stringify(elements['shift-state'].textContent)); }, 0);"
    )
    return run(program)


def test_a_shift_left_open_since_an_earlier_day_says_that_day():
    assert re.fullmatch(r"open since \d\d\.\d\d \d\d:\d\d", _shift_said(48))
    assert re.fullmatch(r"open since \d\d:\d\d", _shift_said(0))
