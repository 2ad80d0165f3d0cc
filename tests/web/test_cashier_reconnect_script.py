"""The cashier's desk read anew from its channel (the socket back after a network break or a
server restart) keeps what the cashier had on it: the sums typed in a row whose invoice did
not change, and an earlier day's invoice she found by its number. Run by the Node.js that
comes with Playwright, with the page's elements stood in for (no browser, well under a
second)."""

from __future__ import annotations

import json

from tests.web.page_scripts import STAND_IN, run, script

SCRIPT = script("money.js") + script("once.js") + script("cashier-shift.js") + script("cashier.js")

TODAY = {
    "id": 7,
    "number": "26-0000007",
    "status": "open",
    "lines": [],
    "total": 250_000_00,
    "paid_amount": 0,
    "refunded_amount": 0,
    "amount_due": 250_000_00,
    "held": False,
}
# Brought back for a refund: paid on an earlier day, not in the day's snapshot.
EARLIER = {
    **TODAY,
    "id": 3,
    "number": "26-0000003",
    "status": "paid",
    "paid_amount": 250_000_00,
    "amount_due": 0,
}

PAGE = STAND_IN + """
var document = standIn(), listeners = {}, handlers = null, asked = [];
function el(tag) {
  var e = {tag: tag, attrs: {}, children: [], value: "", name: "",
    setAttribute: function (k, v) { e.attrs[k] = String(v); },
    getAttribute: function (k) { return e.attrs[k]; },
    appendChild: function (c) { e.children.push(c); return c; },
    addEventListener: function () {}, focus: function () {}, setSelectionRange: function () {},
    closest: function () { return null; }, querySelector: function () { return null; }};
  return e;
}
var body = el("tbody");
Object.defineProperty(body, "textContent", {set: function () { body.children = []; }});
body.contains = function () { return false; };
body.addEventListener = function (type, fn) { listeners["invoices " + type] = fn; };
var findForm = el("form");
findForm.elements = {number: {value: "26-0000003"}};
findForm.reset = function () {};
findForm.addEventListener = function (type, fn) { listeners["find " + type] = fn; };
document.getElementById = function (id) {
  return id === "invoices" ? body : id === "invoice-find" ? findForm : standIn();
};
document.activeElement = null;
function inputs(node, name) {
  var found = node.name === name ? [node] : [];
  (node.children || []).forEach(function (c) { found = found.concat(inputs(c, name)); });
  return found;
}
function row(id) {
  return body.children.filter(function (tr) { return tr.attrs["data-invoice-id"] === id; })[0];
}
function type(id, name, value) {
  var tr = row(id);
  listeners["invoices input"]({target: {name: name, value: value,
                                        closest: function () { return tr; }}});
}
window.ClinicQueue = {
  config: function () {
    return {texts: standIn(), money: {group_separator: " ", decimal_separator: ","},
            api: "/invoices", shiftApi: "/shift"};
  },
  fill: function (t) { return String(t); },
  say: function () {},
  element: function (tag, cls, text) { var e = el(tag); return e; },
  api: function (method, url) {
    asked.push(method + " " + url);
    if (url.indexOf("?number=") >= 0) return Promise.resolve({status: 200, body: [EARLIER]});
    return Promise.resolve({status: 200, body: {shift: null}});
  },
};
window.ClinicSocket = {subscribe: function (channel, h) { handlers = h; }};
""".replace("EARLIER", json.dumps(EARLIER))


def _after_reconnect(steps: str) -> dict:
    """The day's snapshot with invoice 7, ``steps`` (JavaScript), then the channel's snapshot
    again as a reconnect brings it: the rows listed and what invoice 7's fields hold."""
    snapshot = f"handlers.onSnapshot({{invoices: [{json.dumps(TODAY)}]}})"
    program = PAGE + SCRIPT + f"""
(async function () {{
  var tick = function () {{ return new Promise(function (r) {{ setImmediate(r); }}); }};
  {snapshot};
  {steps};
  for (var t = 0; t < 5; t++) await tick();
  {snapshot};
  for (var t = 0; t < 5; t++) await tick();
  var fields = {{}};
  ["amount", "tendered"].forEach(function (name) {{
    fields[name] = inputs(row("7"), name).map(function (f) {{ return f.value; }})[0];
  }});
  process.stdout.write(JSON.stringify({{rows: body.children.map(function (tr) {{
    return tr.attrs["data-invoice-id"]; }}), fields: fields}}));
}})();
"""
    return run(program)


def test_what_the_cashier_typed_in_a_row_outlasts_a_reconnect():
    steps = 'type("7", "amount", "100 000"); type("7", "tendered", "200 000")'
    done = _after_reconnect(steps)
    assert done["fields"] == {"amount": "100 000", "tendered": "200 000"}


def test_an_invoice_found_by_number_stays_on_the_list_after_a_reconnect():
    steps = 'listeners["find submit"]({preventDefault: function () {}})'
    done = _after_reconnect(steps)
    assert done["rows"] == ["7", "3"]
