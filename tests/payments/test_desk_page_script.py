"""The desk page's script (web/static/js/cashier.js) on a stand-in page: which state of an
invoice a row shows when answers and events cross, what the refunds form sends and refuses,
how an earlier day is written, and how a refusal of a typed sum or reason is said. Run by the
Node.js that comes with Playwright (no browser, well under a second each)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from tests.web.page_scripts import run, script

# A page of elements that keep what the script sets, and find each other by the few selectors
# the script uses ("tr[data-invoice-id='5'] [name='refund_shift']", "input[name=amount]").
PAGE = """
var window = globalThis;
var document = {activeElement: null};
function el(tag) {
  var e = {tag: tag, attrs: {}, children: [], parent: null, value: "", name: "", text: "",
    className: "", disabled: false, listeners: {},
    setAttribute: function (k, v) { e.attrs[k] = String(v); },
    getAttribute: function (k) { return k in e.attrs ? e.attrs[k] : null; },
    removeAttribute: function (k) { delete e.attrs[k]; },
    appendChild: function (c) { c.parent = e; e.children.push(c); return c; },
    addEventListener: function (type, fn) {
      (e.listeners[type] = e.listeners[type] || []).push(fn);
    },
    focus: function () { document.activeElement = e; },
    setSelectionRange: function () {},
    querySelector: function (selector) { return find(e, selector)[0] || null; },
    querySelectorAll: function (selector) { return find(e, selector); },
    closest: function (selector) {
      for (var n = e; n; n = n.parent) if (matches(n, selector)) return n;
      return null;
    },
    contains: function (n) { for (; n; n = n.parent) if (n === e) return true; return false; }};
  return e;
}
function simple(selector) {
  var m = /^([a-z]*)((?:\\.[\\w-]+)*)((?:\\[[^\\]]+\\])*)$/.exec(selector);
  var classes = m[2] ? m[2].split(".").slice(1) : [];
  var attrs = (m[3].match(/\\[[^\\]]+\\]/g) || []).map(function (a) {
    var p = /^\\[([\\w-]+)(?:=['"]?([^'"\\]]*)['"]?)?\\]$/.exec(a);
    return [p[1], p[2]];
  });
  return function (n) {
    if (m[1] && n.tag !== m[1]) return false;
    if (classes.some(function (c) { return (" " + n.className + " ").indexOf(" " + c + " ") < 0; }))
      return false;
    return attrs.every(function (a) {
      var v = a[0] === "name" ? n.name || null : a[0] in n.attrs ? n.attrs[a[0]] : null;
      return a[1] === undefined ? v !== null : v === a[1];
    });
  };
}
function matches(n, selector) { return simple(selector.trim())(n); }
function below(root) {
  return root.children.reduce(function (all, c) { return all.concat([c], below(c)); }, []);
}
function find(root, selector) {
  var parts = selector.trim().split(/\\s+/).map(simple);
  return below(root).filter(function (n) {
    if (!parts[parts.length - 1](n)) return false;
    var i = parts.length - 2;
    for (var p = n.parent; p && i >= 0; p = p.parent) if (parts[i](p)) i -= 1;
    return i < 0;
  });
}
var body = el("tbody"), boxes = {}, findForm = el("form");
Object.defineProperty(body, "textContent", {set: function () { body.children = []; }});
document.getElementById = function (id) {
  if (id === "invoices") return body;
  if (id === "invoice-find") return findForm;
  return (boxes[id] = boxes[id] || el("p"));
};
function row(id) { return body.querySelector("tr[data-invoice-id='" + id + "']"); }
function field(id, name) { return row(id).querySelector("[name='" + name + "']"); }
function type(id, name, value) {
  var f = field(id, name);
  f.value = value;
  dispatch(f.tag === "select" ? "change" : "input", f);
}
function dispatch(type, target) {
  (body.listeners[type] || []).forEach(function (listener) { listener({target: target}); });
}
function press(id, action) {
  var button = row(id).querySelector("button[data-action='" + action + "']");
  dispatch("click", button);
}
function said() { return boxes["cashier-error"].text || null; }
function settle() {
  var ticks = [];
  for (var t = 0; t < 10; t++) ticks.push(new Promise(function (r) { setImmediate(r); }));
  return Promise.all(ticks);
}
var posted = [], answers = [], handlers = null, since = null;
window.ClinicQueue = {
  config: function () { return CONFIG; },
  fill: function (text, values) {
    return String(text).replace(/\\{(\\w+)\\}/g, function (all, k) { return values[k]; });
  },
  say: function (box, text) { box.text = text; },
  problem: function () { return "the API's own words"; },
  element: function (tag, className, text) {
    var e = el(tag);
    e.className = className || "";
    e.text = text || "";
    return e;
  },
  api: function (method, url, data) {
    if (method === "GET") return Promise.resolve({status: 200, body: []});
    posted.push({url: url, data: data});
    var answer = answers.shift();
    return typeof answer === "function" ? new Promise(answer) : Promise.resolve(answer);
  },
};
window.ClinicSocket = {subscribe: function (channel, h) { handlers = h; }};
window.ClinicShift = function (desk) {
  since = desk.since;
  return {refresh: function () {}, id: function () { return null; }};
};
var drawerChosen = "";
window.ClinicDrawers = function () {
  return {
    refresh: function () {},
    select: function (chosen) {
      var e = el("select");
      e.name = "refund_shift";
      e.value = chosen || drawerChosen;
      return e;
    },
  };
};
"""

# The page's words, each its own name unless given here.
TEXTS = {
    "refusals": {"no_open_shift": "CHOOSE THE DRAWER"},
    "fields": {"amount": "FIELD AMOUNT", "reason": "FIELD REASON", "tendered": "FIELD TENDERED"},
    "reasons": {
        "above_payment": "REASON ABOVE PAYMENT",
        "reason_required": "REASON REQUIRED",
        "reason_too_long": "REASON TOO LONG",
    },
    "payFields": {},
    "statuses": {},
}
TEXTS_LOOKUP = """
var CONFIG_TEXTS = new Proxy(TEXTS, {
  get: function (t, k) { return k in t ? t[k] : String(k); },
});
"""

SCRIPT = script("money.js") + script("once.js") + script("cashier.js")


def _program(steps: str, *, refunds_only: bool = False, locale: str = "ru") -> str:
    config = {
        "money": {"group_separator": " ", "decimal_separator": ",", "unit": "сум"},
        "api": "/invoices",
        "channel": "payments:desk",
        "language": "ru",
        "locale": locale,
        "timezone": "Asia/Tashkent",
        "refundsOnly": refunds_only,
    }
    return (
        PAGE
        + f"var TEXTS = {json.dumps(TEXTS)};"
        + TEXTS_LOOKUP
        + f"var CONFIG = Object.assign({json.dumps(config)}, {{texts: CONFIG_TEXTS}});"
        + SCRIPT
        + "\n(async function () {\n"
        + steps
        + "\n})().catch(function (e) { process.stdout.write(JSON.stringify(String(e.stack))); });"
    )


def _invoice(**changed) -> dict:
    """Invoice 5 of 500 000 sums, open with nothing paid unless ``changed`` says otherwise."""
    invoice = {
        "id": 5,
        "number": "26-0000005",
        "status": "open",
        "lines": [],
        "total": 500_000_00,
        "paid_amount": 0,
        "refunded_amount": 0,
        "amount_due": 500_000_00,
        "held": False,
    }
    invoice.update(changed)
    invoice["amount_due"] = (
        invoice["total"] - invoice["paid_amount"] if invoice["status"] == "open" else 0
    )
    return invoice


def _part_paid(paid: int) -> dict:
    return _invoice(paid_amount=paid)


def _event(number: int, kind: str, invoice: dict) -> str:
    data = {"invoice": invoice, "payment" if kind == "payment.recorded" else "refund": {}}
    return f"handlers.onEvent({json.dumps({'id': number, 'type': kind, 'data': data})});"


def _snapshot(last_id: int, *listed: dict) -> str:
    return (
        f"handlers.onSnapshot({json.dumps({'invoices': list(listed)})},"
        f" {{op: 'snapshot', last_id: {last_id}}});"
    )


def _held_answer(name: str) -> str:
    """The next POST's answer, kept until ``give_<name>(answer)`` is called."""
    return (
        f"var give_{name}; answers.push(function (resolve) {{ give_{name} = function (answer) {{"
        " resolve({status: 201, body: answer}); }; });"
    )


def test_a_late_payment_answer_does_not_draw_back_a_part_given_back_elsewhere_meanwhile():
    """Audit s6: 200 000 paid by card, its answer slow; a manager gives 100 000 of it back at
    another screen. The payment's answer, come at last, says more was paid than now: it is
    older than the refund's event, and the row keeps what is due after the refund."""
    paid, given = _part_paid(200_000_00), _part_paid(100_000_00)
    steps = (
        _snapshot(10, _invoice())
        + _held_answer("pay")
        + """
type(5, "amount", "200 000");
press(5, "card");
await settle();
"""
        + _event(11, "payment.recorded", paid)
        + _event(12, "refund.recorded", given)
        + f"give_pay({{invoice: Object.assign({json.dumps(paid)}, {{desk_event_id: 11}}),"
        " payment: {amount: 20000000}});" + """
await settle();
process.stdout.write(JSON.stringify(field(5, "amount").value));
"""
    )
    assert run(_program(steps)) == "400 000"


def test_a_refunds_answer_showing_less_paid_is_drawn_and_older_events_after_it_are_not():
    """A part given back at this desk while another desk took more by card: the refund's
    answer comes before either event, and says less is paid than the card's event will. It is
    the newer state; the card's event, older, heard after it does not draw the row back."""
    card = _part_paid(250_000_00)  # 200 000 paid, then 50 000 more by card elsewhere (11)
    given = _part_paid(150_000_00)  # then 100 000 given back here (12)
    steps = (
        _snapshot(10, _part_paid(200_000_00)) + _held_answer("refund") + """
type(5, "refund_amount", "100 000");
type(5, "refund_reason", "left before the scan");
press(5, "refund");
await settle();
var due = [];
""" + f"give_refund({{invoice: Object.assign({json.dumps(given)}, {{desk_event_id: 12}}),"
        " refund: {amount: 10000000}});"
        + "await settle(); due.push(field(5, 'amount').value);"
        + _event(11, "payment.recorded", card)
        + "due.push(field(5, 'amount').value);"
        + _event(12, "refund.recorded", given)
        + "due.push(field(5, 'amount').value);"
        + "process.stdout.write(JSON.stringify(due));"
    )
    assert run(_program(steps)) == ["350 000", "350 000", "350 000"]


def _paid_row_refund(steps: str, *, refunds_only: bool = False) -> dict:
    """Invoice 5 paid in full on the list, ``steps`` run: the requests sent, what the page
    said, and the refund fields marked invalid and focused."""
    program = _program(
        _snapshot(10, _invoice(status="paid", paid_amount=500_000_00)) + steps + """
await settle();
var marked = ["refund_amount", "refund_reason", "refund_method", "refund_shift"].filter(
  function (name) {
    var f = field(5, name);
    return f && f.getAttribute("aria-invalid") === "true";
  });
process.stdout.write(JSON.stringify({
  sent: posted.map(function (p) { return p.data; }), said: said(), marked: marked,
  focused: document.activeElement && document.activeElement.name,
  reasonLength: field(5, "refund_reason").maxLength}));
""",
        refunds_only=refunds_only,
    )
    return run(program)


def test_the_refunds_form_refuses_cash_with_no_drawer_chosen_at_the_drawer():
    """Audit s20: an administrator with a drawer of his own chose none; the page says to
    choose one at the drawer field, and sends nothing."""
    steps = """
type(5, "refund_amount", "50 000");
type(5, "refund_reason", "no drawer chosen");
press(5, "refund");
"""
    done = _paid_row_refund(steps, refunds_only=True)
    assert (done["sent"], done["said"]) == ([], "CHOOSE THE DRAWER")
    assert (done["marked"], done["focused"]) == (["refund_shift"], "refund_shift")


def test_the_refunds_form_sends_cash_from_the_drawer_chosen_and_never_the_callers_own():
    steps = """
answers.push({status: 201, body: {invoice: {}, refund: {amount: 5000000}}});
type(5, "refund_amount", "50 000");
type(5, "refund_reason", "no drawer chosen");
press(5, "refund");
await settle();
type(5, "refund_shift", "12");
press(5, "refund");
"""
    done = _paid_row_refund(steps, refunds_only=True)
    (sent,) = done["sent"]
    assert (sent["shift_id"], sent["from_own_shift"], sent["method"]) == (12, False, "cash")
    assert done["marked"] == []  # the drawer chosen: no longer marked


def test_a_refund_amount_that_is_no_sum_or_zero_is_refused_on_the_page_by_what_is_wrong():
    """Audit s1: "abc", "1 000,555" and "0" were sent as null and said as "at most what one
    payment has left"; the page says what is wrong with them, at the field, and sends none."""
    for typed, words in (("abc", "refundNotTiyin"), ("1 000,555", "refundNotTiyin"),
                         ("0", "refundZero")):  # fmt: skip
        steps = f"""
type(5, "refund_amount", {json.dumps(typed)});
type(5, "refund_reason", "changed his mind");
press(5, "refund");
"""
        done = _paid_row_refund(steps)
        assert (done["sent"], done["said"]) == ([], words), typed
        assert (done["marked"], done["focused"]) == (["refund_amount"], "refund_amount")


def test_a_refund_the_api_refuses_is_said_by_its_reasons_code_before_its_field():
    """Audit s15: a reason over 500 characters said "give the reason". The reason field takes
    no more than the API keeps, and each refusal is said by why, else by the field."""
    cases = [
        ({"reason": ["reason_too_long"]}, "REASON TOO LONG", "refund_reason"),
        ({"reason": ["reason_required"]}, "REASON REQUIRED", "refund_reason"),
        ({"amount": ["above_payment"]}, "REASON ABOVE PAYMENT", "refund_amount"),
        (None, "FIELD AMOUNT", "refund_amount"),  # no code given: by the field
    ]
    for reasons, words, marked in cases:
        field = marked.split("_")[1]
        refused = {"errors": {field: ["refused"]}}
        if reasons:
            refused["reasons"] = reasons
        steps = f"""
answers.push({{status: 422, body: {json.dumps(refused)}}});
type(5, "refund_amount", "10 000");
type(5, "refund_reason", "changed his mind");
press(5, "refund");
"""
        done = _paid_row_refund(steps)
        assert done["said"] == words, reasons
        assert (done["marked"], done["focused"]) == ([marked], marked)
        assert done["reasonLength"] == 500


def test_cash_handed_over_that_is_no_sum_has_words_of_its_own():
    """Audit s18: "abc" or "150 000,555" handed over said "Failed: Cash handed over"."""
    for typed in ("abc", "150 000,555"):
        steps = _snapshot(10, _invoice()) + f"""
type(5, "tendered", {json.dumps(typed)});
press(5, "cash");
await settle();
var marked = field(5, "tendered").getAttribute("aria-invalid");
process.stdout.write(JSON.stringify({{sent: posted.length, said: said(), marked: marked,
  focused: document.activeElement && document.activeElement.name}}));
"""
        done = run(_program(steps))
        assert done == {
            "sent": 0,
            "said": "tenderedNotSum",
            "marked": "true",
            "focused": "tendered",
        }


def test_an_earlier_day_is_written_day_first_in_every_language():
    """Audit s8, s9: English wrote "12/06 18:02" and Uzbek "12-06 18:02" for 6 December;
    every language writes the day, then the month, as printed documents do, in clinic time."""
    moment = datetime(2025, 12, 6, 13, 2, tzinfo=timezone.utc)
    now = datetime.now(timezone.utc).isoformat()
    for locale in ("en", "uz-Latn", "ru"):
        steps = (
            f"process.stdout.write(JSON.stringify([since({json.dumps(moment.isoformat())}),"
            f" since({json.dumps(now)})]));"
        )
        earlier, today = run(_program(steps, locale=locale))
        assert earlier == "06.12 18:02", locale
        clock = datetime.fromisoformat(now).astimezone(ZoneInfo("Asia/Tashkent"))
        assert today == clock.strftime("%H:%M"), locale
        assert re.fullmatch(r"\d\d:\d\d", today)
