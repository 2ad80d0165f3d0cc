"""The cashier's desk is redrawn whenever any invoice changes (another cashier's payment, a
new invoice from the desk): the button or list she reached with the keyboard keeps her
focus, as a field being typed in does, so Enter still presses what she chose. Run by the
Node.js that comes with Playwright, with the page's elements stood in for (no browser, well
under a second)."""

from __future__ import annotations

import json

from tests.web.page_scripts import run
from tests.web.test_cashier_reconnect_script import EARLIER, PAGE, SCRIPT, TODAY

DOM = """
var focusedNode = null;
function descendants(node) {
  var all = [node];
  (node.children || []).forEach(function (c) { all = all.concat(descendants(c)); });
  return all;
}
body.contains = function (n) {
  return body.children.some(function (tr) { return descendants(tr).indexOf(n) >= 0; });
};
body.querySelector = function (selector) {
  var m = /^tr\\[data-invoice-id='(\\d+)'\\] (\\w*)\\[([\\w-]+)='([^']+)'\\]$/.exec(selector);
  var tr = m && row(m[1]);
  if (!tr) return null;
  return descendants(tr).filter(function (n) {
    var value = m[3] === "name" ? n.name : n.attrs[m[3]];
    return (!m[2] || n.tag === m[2]) && value === m[4];
  })[0] || null;
};
var made = window.ClinicQueue.element;
window.ClinicQueue.element = function (tag) {
  var e = made(tag);
  e.focus = function () { focusedNode = e; };
  // A list has no caret.
  if (tag === "select") { delete e.setSelectionRange; e.selectionStart = undefined; }
  return e;
};
"""


def _focus_after_another_invoice_changed(find: str) -> dict:
    """Invoices 7 (open) and 3 (paid) listed, the cashier's focus on the first element of
    their rows ``find`` picks (JavaScript: a function of an element); then a new invoice
    comes from another screen. What has the focus once the desk is drawn again."""
    other = {**TODAY, "id": 8, "number": "26-0000008"}
    changed = {"type": "invoice.changed", "data": {"change": "created", "invoice": other}}
    program = PAGE + DOM + SCRIPT + f"""
handlers.onSnapshot({{invoices: [{json.dumps(TODAY)}, {json.dumps(EARLIER)}]}});
var pick = {find};
var before = null;
["7", "3"].forEach(function (id) {{
  var found = descendants(row(id)).filter(pick)[0];
  if (found && !before) {{ before = found; before.closest = function () {{ return row(id); }}; }}
}});
document.activeElement = before;
handlers.onEvent({json.dumps(changed)});
process.stdout.write(JSON.stringify({{
  moved: focusedNode !== null && focusedNode !== before && body.contains(focusedNode),
  tag: focusedNode && focusedNode.tag, name: focusedNode && focusedNode.name,
  action: (focusedNode && focusedNode.attrs["data-action"]) || null}}));
"""
    return run(program)


def test_a_button_reached_by_the_keyboard_keeps_the_focus_across_a_redraw():
    done = _focus_after_another_invoice_changed(
        'function (n) { return n.attrs["data-action"] === "card"; }'
    )
    assert done == {"moved": True, "tag": "button", "name": "", "action": "card"}


def test_the_refund_list_keeps_the_focus_across_a_redraw():
    done = _focus_after_another_invoice_changed(
        'function (n) { return n.name === "refund_method"; }'
    )
    assert done == {"moved": True, "tag": "select", "name": "refund_method", "action": None}


def test_a_button_of_an_invoice_just_paid_in_part_does_not_keep_the_focus():
    # Enter pressed again on "Cash" would take the rest of the invoice too.
    program = PAGE + DOM + SCRIPT + f"""
handlers.onSnapshot({{invoices: [{json.dumps(TODAY)}]}});
var cash = descendants(row("7")).filter(function (n) {{
  return n.attrs["data-action"] === "cash";
}})[0];
cash.closest = function () {{ return row("7"); }};
document.activeElement = cash;
handlers.onEvent({{type: "payment.recorded", data: {{invoice: {json.dumps(PART_PAID)}}}}});
process.stdout.write(JSON.stringify(focusedNode === null));
"""
    assert run(program) is True


PART_PAID = {**TODAY, "paid_amount": 100_000_00, "amount_due": 150_000_00}
