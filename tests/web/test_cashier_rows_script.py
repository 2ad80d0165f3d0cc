"""What the cashier's rows say and offer: a discount with its reason under the total, what was
given back of an invoice and what may still be, and "Cancel the invoice" on an open invoice
nothing was paid of, to those the API lets cancel, asked first and sent once, its refusals
in the cancel's own words; and the shift's close sends her note, none longer than the API
keeps. Run by the Node.js that comes with Playwright, with the page's elements stood in for
(no browser, well under a second)."""

from __future__ import annotations

import json

from tests.web.page_scripts import STAND_IN, run, script
from tests.web.test_cashier_shift_script import PAGE as SHIFT_PAGE
from tests.web.test_cashier_shift_script import SCRIPT as SHIFT_SCRIPT

# The desk with elements that keep what is drawn into them: each row's text, its buttons
# (pressed as the cashier presses them), its invoice's id.
DESK = STAND_IN + """
var document = standIn(), listeners = {}, posted = [], asked = [], said = [], handlers = null;
var made = [], answers = [], agrees = true, settings = {};
document.getElementById = function (id) {
  var element = standIn();
  element.addEventListener = function (type, listener) { listeners[id + " " + type] = listener; };
  return element;
};
function node(tag, cls, text) {
  var made = {tag: tag, className: cls || "", textContent: text == null ? "" : String(text),
              children: [], attrs: {}, parent: null, disabled: false};
  made.appendChild = function (child) { child.parent = made; made.children.push(child);
                                        return child; };
  made.setAttribute = function (name, value) { made.attrs[name] = String(value); };
  made.getAttribute = function (name) { return name in made.attrs ? made.attrs[name] : null; };
  made.removeAttribute = function (name) { delete made.attrs[name]; };
  made.querySelectorAll = function (selector) {
    var found = [];
    (function walk(at) { at.children.forEach(function (c) {
      if (c.tag === selector) found.push(c);
      walk(c);
    }); })(made);
    return found;
  };
  made.querySelector = function () { return null; };
  made.closest = function (selector) {
    var at = made;
    while (at && !(selector === "tr" ? at.tag === "tr" : at.tag === "button")) at = at.parent;
    return at;
  };
  made.focus = function () {};
  return made;
}
function text(element) {
  return element.textContent + element.children.map(text).join("");
}
function row(id) {
  var rows = made.filter(function (e) {
    return e.tag === "tr" && e.attrs["data-invoice-id"] === String(id);
  });
  return rows[rows.length - 1];
}
function part(id, className) {
  var found = null;
  (function walk(at) { at.children.forEach(function (c) {
    if (c.className.split(" ").indexOf(className) >= 0) found = found || c;
    walk(c);
  }); })(row(id));
  return found ? text(found) : null;
}
function buttons(id) {
  return row(id).querySelectorAll("button").map(function (b) {
    return b.attrs["data-action"] + (b.disabled ? " (waiting)" : "");
  });
}
function press(id, action) {
  var button = row(id).querySelectorAll("button").filter(function (b) {
    return b.attrs["data-action"] === action;
  })[0];
  listeners["invoices click"]({target: button});
}
function fill(template, values) {
  return String(template).replace(/\\{(\\w+)\\}/g, function (whole, name) {
    return name in values ? String(values[name]) : whole;
  });
}
var words = {
  discount: "discount {amount} off {subtotal}", givenBack: "given back {amount}",
  leftToGiveBack: "left {amount}", cancel: "Cancel", cancelled: "cancelled {number}",
  confirmCancel: "cancel {number} for {amount} ({services})?",
  refusals: {not_open: "cannot be paid", lines_frozen: "services frozen"},
  cancelRefusals: {not_open: "no longer open", lines_frozen: "part paid"},
  fields: {}, statuses: {},
};
window.confirm = function (question) { asked.push(question); return agrees; };
window.ClinicQueue = {
  config: function () {
    return Object.assign({
      texts: new Proxy(words, {get: function (t, name) {
        return name in t ? t[name] : String(name);
      }}),
      money: {group_separator: " ", decimal_separator: ",", unit: "сум"},
      api: "/invoices", shiftApi: "/shift",
    }, settings);
  },
  fill: fill,
  say: function (box, words) { if (words) said.push(String(words)); },
  problem: function () { return "problem"; },
  element: function (tag, cls, text) { var e = node(tag, cls, text); made.push(e); return e; },
  api: function (method, url, data) {
    if (method === "GET") return Promise.resolve({status: 200, body: {shift: null}});
    posted.push(method + " " + url);
    var answer = answers.shift();
    return answer === "waits" ? new Promise(function () {}) : Promise.resolve(answer);
  },
};
window.ClinicDrawers = function () {
  return {select: function () { return node("select"); }, refresh: function () {}};
};
window.ClinicSocket = { subscribe: function (channel, h) { handlers = h; } };
"""

SCRIPT = script("money.js") + script("once.js") + script("cashier-shift.js") + script("cashier.js")

# Invoice 5: 150 000 сум of one service, open with nothing paid.
OPEN = {
    "id": 5,
    "number": "26-0000005",
    "status": "open",
    "lines": [{"service_id": 1, "title": "УЗИ", "quantity": 1}],
    "subtotal": 150_000_00,
    "discount": 0,
    "discount_reason": None,
    "total": 150_000_00,
    "paid_amount": 0,
    "refunded_amount": 0,
    "amount_due": 150_000_00,
    "held": False,
}
CANCELLED = {**OPEN, "status": "cancelled", "amount_due": 0, "desk_event_id": 9}


def _desk(invoices: list[dict], steps: list[str], answers=(), settings=None) -> dict:
    """Run ``steps`` (JavaScript: ``press(5, "cancel")``, events to ``handlers``...) on the desk
    listing ``invoices``, the API answering ``answers`` in turn ("waits": never); answers what
    was posted and asked, the last words said, and of invoice 5's row its status and total
    cells and its buttons."""
    program = (
        DESK
        + f"\nsettings = {json.dumps({'mayCancel': True, **(settings or {})})};"
        + f"\nanswers = {json.dumps(list(answers))};"
        + SCRIPT
        + f"\nhandlers.onSnapshot({{invoices: {json.dumps(invoices)}}});"
        + "\nvar steps = ["
        + ",".join(f"function () {{ {step}; }}" for step in steps)
        + "];\n(async function () { for (var i = 0; i < steps.length; i++) { steps[i]();"
        " for (var t = 0; t < 5; t++) await new Promise(function (r) { setImmediate(r); }); }"
        " process.stdout.write(JSON.stringify({posted: posted, asked: asked,"
        " said: said[said.length - 1] || null, status: part(5, 'cashier-invoices__status'),"
        " total: part(5, 'cashier-invoices__total'), buttons: buttons(5)})); })();"
    )
    return run(program)


def test_a_discounted_invoice_says_its_discount_and_reason_under_the_total():
    discounted = {
        **OPEN,
        "discount": 30_000_00,
        "discount_reason": "Пенсионер",
        "total": 120_000_00,
        "amount_due": 120_000_00,
    }
    shown = _desk([discounted], [])
    assert shown["total"] == "120 000 сумdiscount 30 000 сум off 150 000 сумПенсионер"
    assert _desk([OPEN], [])["total"] == "150 000 сум"


def test_a_partly_refunded_invoice_says_what_was_given_back_and_what_may_still_be():
    given = {**OPEN, "status": "partly_refunded", "paid_amount": 150_000_00, "amount_due": 0}
    given["refunded_amount"] = 40_000_00
    shown = _desk([given], [])
    assert shown["status"] == (
        "partly_refunded\u00a0· given back 40 000 сум\u00a0· left 110 000 сум"
    ), shown["status"]
    assert "refund" in shown["buttons"] and "cancel" not in shown["buttons"]
    # All of it given back, or settled at no cost: nothing is offered to give back.
    free = {**OPEN, "status": "paid", "total": 0, "amount_due": 0}
    assert "refund" not in _desk([free], [])["buttons"]


def test_cancel_is_offered_on_an_open_invoice_nothing_was_paid_of_to_whom_the_api_lets():
    assert "cancel" in _desk([OPEN], [])["buttons"]
    # Part paid (given back first, it may be), held by an online payment, paid: not offered.
    for refused in (
        {**OPEN, "paid_amount": 50_000_00, "amount_due": 100_000_00},
        {**OPEN, "held": True, "held_by": "payme:abc", "held_at": "2026-03-02T04:00:00Z"},
        {**OPEN, "status": "paid", "paid_amount": 150_000_00, "amount_due": 0},
    ):
        assert "cancel" not in _desk([refused], [])["buttons"], refused
    # The refunds form: an administrator (payments.take) cancels, a manager does not.
    assert "cancel" in _desk([OPEN], [], settings={"refundsOnly": True})["buttons"]
    manager = {"refundsOnly": True, "mayCancel": False}
    assert "cancel" not in _desk([OPEN], [], settings=manager)["buttons"]


def test_cancel_asks_first_and_a_no_sends_nothing():
    done = _desk([OPEN], ["agrees = false", 'press(5, "cancel")'])
    assert done["asked"] == ["cancel 26-0000005 for 150 000 сум (УЗИ)?"]
    assert done["posted"] == []
    assert done["buttons"] == ["cash", "card", "checkout", "cancel"]


def test_cancel_waits_for_its_answer_and_a_second_press_sends_nothing():
    # Another invoice's event meanwhile draws the list again: the row's buttons still wait.
    other = {"type": "invoice.created", "id": 11, "data": {"invoice": {**OPEN, "id": 6}}}
    steps = ['press(5, "cancel")', f"handlers.onEvent({json.dumps(other)})", 'press(5, "cancel")']
    waiting = _desk([OPEN], steps, answers=["waits"])
    assert waiting["posted"] == ["POST /invoices/5/cancel"]
    assert len(waiting["asked"]) == 1
    assert waiting["buttons"] == [
        "cash (waiting)",
        "card (waiting)",
        "checkout (waiting)",
        "cancel (waiting)",
    ]
    answered = _desk([OPEN], ['press(5, "cancel")'], answers=[{"status": 200, "body": CANCELLED}])
    assert answered["said"] == "cancelled 26-0000005"
    assert answered["status"] == "cancelled" and answered["buttons"] == []


def test_a_cancelled_invoice_is_followed_from_its_event_at_another_screen():
    assert "cancel" in _desk([OPEN], [])["buttons"]
    event = {"type": "invoice.changed", "id": 12, "data": {"invoice": CANCELLED}}
    shown = _desk([OPEN], [f"handlers.onEvent({json.dumps(event)})"])
    assert shown["status"] == "cancelled" and shown["buttons"] == []


def test_a_refused_cancel_is_said_in_the_cancels_own_words_by_its_code():
    for code, said in (("not_open", "no longer open"), ("lines_frozen", "part paid")):
        refused = {"status": 409, "body": {"code": code}}
        done = _desk([OPEN], ['press(5, "cancel")'], answers=[refused])
        assert done["said"] == said, code
        assert "cancel" in done["buttons"]  # the invoice as it was: its event says otherwise


# The close form with a note field; posted bodies kept.
NOTED = """
var bodies = [];
elements["shift-close"].elements.note = {
  value: NOTE, attrs: {}, focused: false,
  setAttribute: function (name, value) { this.attrs[name] = value; },
  removeAttribute: function (name) { delete this.attrs[name]; },
  focus: function () { this.focused = true; },
};
var plainConfig = window.ClinicQueue.config, plainApi = window.ClinicQueue.api;
window.ClinicQueue.config = function () {
  var config = plainConfig();
  config.noteMax = 1000;
  config.texts.fields.note = "note too long";
  return config;
};
window.ClinicQueue.api = function (method, url, data) {
  if (method === "POST") bodies.push(data);
  return plainApi(method, url, data);
};
"""


def _closed_with(note: str) -> dict:
    program = SHIFT_PAGE + NOTED.replace("NOTE", json.dumps(note)) + SHIFT_SCRIPT + """
(async function () {
  var tick = function () { return new Promise(function (r) { setImmediate(r); }); };
  await tick();
  elements["shift-close"].press();
  await tick();
  var note = elements["shift-close"].elements.note;
  process.stdout.write(JSON.stringify({bodies: bodies, error: elements["cashier-error"]
    .textContent, invalid: note.attrs["aria-invalid"] || null, focused: note.focused}));
})();
"""
    return run(program)


def test_the_shifts_close_sends_the_note_and_none_longer_than_the_api_keeps():
    note = "Не хватает 1 000: сдача пациенту"
    sent = _closed_with(note)
    assert sent["bodies"] == [{"counted_cash": 500_000_00, "note": note}]
    assert sent["error"] == ""
    # Longer than the API keeps (pasted past the field's limit): said there, nothing sent.
    refused = _closed_with("я" * 1001)
    assert refused["bodies"] == []
    assert refused["error"] == "note too long"
    assert (refused["invalid"], refused["focused"]) == ("true", True)
    assert _closed_with("я" * 1000)["bodies"][0]["note"] == "я" * 1000


def test_the_close_forms_note_takes_what_the_api_keeps():
    from marshmallow.validate import Length

    from clinic.payments.shifts import NOTE_MAX
    from web.payments.schemas import ShiftCloseIn

    limits = [v.max for v in ShiftCloseIn().fields["note"].validators if isinstance(v, Length)]
    assert limits == [NOTE_MAX]
