"""The cashier's script keeps her shift's figure and state with what the desk channel says
happened at other screens. Run by the Node.js that comes with Playwright, with the page's
elements stood in for (no browser, well under a second)."""

from __future__ import annotations

import json
import re

from tests.web.page_scripts import STAND_IN, run, script

# The desk page loads once.js before its own script (payments/desk.html).
SCRIPT = script("once.js") + script("cashier-shift.js") + script("cashier.js")

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
var document = standIn(), listeners = {}, sent = [], answers = [], handlers = null, made = [];
document.getElementById = function (id) {
  var element = standIn();
  element.addEventListener = function (type, listener) { listeners[id + " " + type] = listener; };
  return element;
};
var typed = {amount: "100 000", tendered: "", refund_amount: "40 000", refund_reason: "ушёл",
             refund_method: "cash"};
var tr = standIn();
tr.getAttribute = function () { return "5"; };
tr.querySelector = function (selector) { return {value: typed[/name=(\\w+)/.exec(selector)[1]]}; };
function press(action) {
  var button = standIn();
  button.getAttribute = function () { return action; };
  button.closest = function (selector) { return selector === "tr" ? tr : button; };
  listeners["invoices click"]({target: button});
}
function type(name, value) {
  typed[name] = value;
  var target = {name: name, value: value, closest: function () { return tr; }};
  listeners["invoices input"]({target: target});
}
function field(name) {
  var fields = made.filter(function (element) { return element.name === name; });
  return fields.length ? fields[fields.length - 1].value : null;
}
window.ClinicQueue = {
  config: function () {
    return { texts: standIn(), money: {}, api: "/invoices", shiftApi: "/shift" };
  },
  fill: function (t) { return String(t); },
  say: function () {},
  element: function () { var element = standIn(); made.push(element); return element; },
  api: function (method, url, data) {
    if (method === "GET") return Promise.resolve({ status: 200, body: { shift: null } });
    sent.push(data.idempotency_key);
    var answer = answers.shift();
    return answer === "lost" ? Promise.reject(new Error("lost")) : Promise.resolve(answer);
  },
};
window.ClinicSocket = { subscribe: function (channel, h) { handlers = h; } };
"""

# Invoice 5 part paid, and the same with 100 000 more paid: as the API and the channel say it.
PART_PAID = {
    "id": 5,
    "number": "26-0000005",
    "status": "open",
    "lines": [],
    "total": 250_000_00,
    "paid_amount": 10_000_00,
    "refunded_amount": 0,
    "amount_due": 240_000_00,
    "held": False,
}
MORE_PAID = {**PART_PAID, "paid_amount": 110_000_00, "amount_due": 140_000_00}


def _answer(said: str, invoice: dict = PART_PAID):
    return {
        "paid": {
            "status": 201,
            "body": {
                "invoice": invoice,
                "payment": {"amount": 100_000_00},
                "refund": {"amount": 40_000_00},
            },
        },
        "refused": {"status": 409, "body": {"code": "held"}},
        "broke": {"status": 502, "body": None},
        "lost": "lost",
    }[said]


def _at_the_desk(steps: list[str], answers: list, invoice: dict = PART_PAID) -> dict:
    """Run ``steps`` (JavaScript statements: ``press("cash")``, ``type(...)``, events to
    ``handlers``) on the desk showing ``invoice``, the API giving ``answers`` in turn; answers
    the keys sent, numbered by first use, and the refund amount field as last drawn."""
    program = (
        CLICKS + script("money.js") + SCRIPT + f"\nanswers = {json.dumps(answers)};"
        f"\nhandlers.onSnapshot({{invoices: [{json.dumps(invoice)}]}});"
        "\nvar steps = ["
        + ",".join(f"function () {{ {step}; }}" for step in steps)
        + "];\n(async function () { for (var i = 0; i < steps.length; i++) { steps[i]();"
        " for (var t = 0; t < 5; t++) await new Promise(function (r) { setImmediate(r); }); }"
        " var numbers = {}; process.stdout.write(JSON.stringify({keys: sent.map(function (k) {"
        " numbers[k] = numbers[k] || Object.keys(numbers).length + 1; return numbers[k]; }),"
        " refund_amount: field('refund_amount')})); })();"
    )
    return run(program)


def test_a_payment_or_refund_sent_again_before_the_api_decided_it_carries_the_same_key():
    # The answer lost on the way, or a gateway's 502: the cashier presses again, and the API
    # must see the same request (it pays once); answered, the next press is a new payment.
    said = ["lost", "broke", "paid", "paid", "refused", "paid"]
    answers = [_answer(s) for s in said]
    for action in ("cash", "refund"):
        presses = [f"press({json.dumps(action)})"] * len(said)
        assert _at_the_desk(presses, answers)["keys"] == [1, 1, 1, 2, 3, 4]
    # The channel read anew after the network came back, the invoice as it was: still unsure.
    snapshot = f"handlers.onSnapshot({{invoices: [{json.dumps(PART_PAID)}]}})"
    steps = ['press("cash")', snapshot, 'press("cash")']
    assert _at_the_desk(steps, [_answer("lost"), _answer("paid")])["keys"] == [1, 1]


def test_after_a_lost_payment_landed_the_rest_is_a_new_payment_and_the_same_press_is_not():
    # The answer was lost but the desk's channel shows the payment landed: the next press,
    # for the rest, is a payment of its own, not answered with the first. The same press as
    # the lost one again (she pressed before the row said it was taken) keeps the lost one's
    # key: the API answers it with the first payment and takes nothing twice.
    moved = {"type": "payment.recorded", "data": {"invoice": MORE_PAID, "payment": {}}}
    snapshot = f"handlers.onSnapshot({{invoices: [{json.dumps(MORE_PAID)}]}})"
    answers = [_answer("lost"), _answer("paid", MORE_PAID), _answer("paid", MORE_PAID)]
    for heard in (f"handlers.onEvent({json.dumps(moved)})", snapshot):
        steps = ['press("cash")', heard, 'type("amount", "140 000")', 'press("cash")',
                 'type("amount", "100 000")', 'press("cash")']  # fmt: skip
        assert _at_the_desk(steps, answers)["keys"] == [1, 2, 1]


def test_a_second_part_given_back_empties_the_refund_fields():
    # Paid, once given back in part: what the cashier typed for the next refund goes once
    # it is given, so that a press more does not give the same again.
    given = {
        **PART_PAID,
        "status": "partly_refunded",
        "paid_amount": 250_000_00,
        "refunded_amount": 20_000_00,
        "amount_due": 0,
    }
    again = {**given, "refunded_amount": 60_000_00}
    steps = ['type("refund_amount", "40 000")', 'press("refund")']
    done = _at_the_desk(steps, [_answer("paid", again)], invoice=given)
    assert done["refund_amount"] == ""


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


def _desk_asked_for_links(*, due_now: int) -> str:
    """The desk, with ``partPaid`` and ``morePaid`` (invoice 5 before and after a part paid)
    and an API whose checkout links ask for ``dueNow`` tiyin (``due_now`` at first), counting
    in ``asked`` how often they were asked for."""
    return (
        CLICKS
        + script("money.js")
        + SCRIPT
        + f"\nvar partPaid = {json.dumps(PART_PAID)}, morePaid = {json.dumps(MORE_PAID)};"
        + f"\nvar asked = 0, dueNow = {due_now}, plain = window.ClinicQueue.api;"
        + """
window.ClinicQueue.api = function (method, url, data) {
  if (method === "GET" && /checkout$/.test(url)) {
    asked += 1;
    var links = {payme: {url: "payme:" + dueNow, qr_data_uri: "data:"}};
    return Promise.resolve({status: 200, body: {amount: dueNow, links: links}});
  }
  return plain(method, url, data);
};
"""
    )


def test_the_phone_payment_links_shown_follow_a_part_paid_meanwhile():
    """The cashier shows the Payme and Click codes for what is due; the patient pays a part in
    cash first: the codes shown become those for the rest (Payme and Click would refuse the
    old sum), asked for once."""
    program = _desk_asked_for_links(due_now=PART_PAID["amount_due"]) + """
function drawn() {
  var hrefs = made.map(function (e) { return e.href; }).filter(function (h) {
    return typeof h === "string" && h.indexOf("payme:") === 0;
  });
  return hrefs[hrefs.length - 1] || null;
}
async function settle() { for (var t = 0; t < 5; t++) await new Promise(setImmediate); }
(async function () {
  handlers.onSnapshot({invoices: [partPaid]});
  press("checkout");
  await settle();
  var before = drawn();
  dueNow = morePaid.amount_due;
  handlers.onEvent({type: "payment.recorded",
                    data: {payment: {shift_id: 3, amount: 10000000}, invoice: morePaid}});
  await settle();
  process.stdout.write(JSON.stringify({before: before, after: drawn(), asked: asked}));
})();
"""
    assert run(program) == {
        "before": f"payme:{PART_PAID['amount_due']}",
        "after": f"payme:{MORE_PAID['amount_due']}",
        "asked": 2,
    }


def test_the_refunds_form_gives_back_as_paid_a_payment_made_neither_in_cash_nor_by_card():
    """A manager at /payments/refunds gives back part of an invoice paid by Click: "as paid"
    is among his choices, and it sends neither a kind of payment nor a drawer, so the API
    gives back from the Click payment (cash and card alone would find nothing to give)."""
    paid = {**PART_PAID, "status": "paid", "paid_amount": 250_000_00, "amount_due": 0}
    program = (
        CLICKS.replace(
            'return { texts: standIn(), money: {}, api: "/invoices", shiftApi: "/shift" };',
            'return { texts: standIn(), money: {}, api: "/invoices", refundsOnly: true };',
        ).replace(
            "element: function () { var element = standIn();",
            "element: function (tag) { var element = standIn(); element.tag = tag;",
        )
        + """
var posted = [];
window.ClinicDrawers = function () {
  return { select: function () { var e = standIn(); e.name = "refund_shift"; return e; },
           refresh: function () {} };
};
"""
        + script("money.js")
        + SCRIPT
        + f"\nhandlers.onSnapshot({{invoices: [{json.dumps(paid)}]}});"
        + """
var plain = window.ClinicQueue.api;
window.ClinicQueue.api = function (method, url, data) {
  if (method === "POST") posted.push(data);
  return plain(method, url, data);
};
answers = [{status: 201, body: {invoice: {}, refund: {amount: 4000000}}}];
var offered = made.filter(function (e) { return e.tag === "option"; })
  .map(function (e) { return e.value; });
typed.refund_method = "";
typed.refund_shift = "3";
press("refund");
setImmediate(function () {
  var sent = posted.map(function (d) { return Object.keys(d).sort(); });
  process.stdout.write(JSON.stringify({offered: offered, sent: sent}));
});
"""
    )
    done = run(program)
    assert done["offered"] == ["cash", "card", ""], done
    assert done["sent"] == [["amount", "from_own_shift", "idempotency_key", "reason"]], done


def test_links_for_another_sum_than_the_screen_knows_are_not_asked_for_again_and_again():
    """The server's sum differs from the invoice as this screen has it (a payment at another
    desk not heard yet): the links are asked for once for it, not again at each drawing."""
    program = _desk_asked_for_links(due_now=MORE_PAID["amount_due"]) + """
async function settle() { for (var t = 0; t < 20; t++) await new Promise(setImmediate); }
(async function () {
  handlers.onSnapshot({invoices: [partPaid]});
  press("checkout");
  await settle();
  var first = asked;
  handlers.onSnapshot({invoices: [partPaid]});  // drawn again, the screen's invoice as it was
  await settle();
  process.stdout.write(JSON.stringify({first: first, after: asked}));
})();
"""
    assert run(program) == {"first": 2, "after": 2}
