"""The patient's page keeps its "Pay online" card to what is due now: an invoice billed after
the page opened, corrected at the desk (lines, discount) or part paid there is drawn again
(the server draws the card, so the page is loaded again), a cancelled one is taken away. Run
by the Node.js that comes with Playwright, with the page's elements stood in for."""

from __future__ import annotations

import json

from tests.web.page_scripts import STAND_IN, run, script

SCRIPT = script("patient.js")

PAGE = """
var attrs = { "data-status": "waiting", "data-checkout-url": "/payments/checkout/s3cret" };
var root = {
  getAttribute: function (name) { return attrs[name]; },
  setAttribute: function (name, value) { attrs[name] = String(value); },
};
var card = {
  hidden: false,
  getAttribute: function (name) {
    return { "data-checkout-url": "/payments/checkout/s3cret", "data-number": "26-0000007",
             "data-due": "1000000" }[name];
  },
};
var document = standIn();
document.getElementById = function (id) {
  if (id === "patient") return root;
  return id === "patient-checkout" ? (withCard ? card : null) : standIn();
};
var asked = [], channels = {}, reloads = 0;
window.location = { reload: function () { reloads += 1; } };
window.ClinicQueue = {
  config: function () {
    return { ticket: 5, queue: 2, texts: standIn(), leavable: [], stateUrl: "/t/s3cret/state" };
  },
  fill: function (t) { return String(t); },
  say: function () {},
  api: function (method, url) {
    asked.push(method + " " + url);
    if (url === "/t/s3cret/state") return Promise.resolve({ status: 200, body: {} });
    return Promise.resolve(checkout);
  },
};
window.ClinicSocket = { subscribe: function (channel, h) { channels[channel] = h; } };
var navigator = {};
window.setTimeout = function (fn) { fn(); };
"""


def _after(events: list[dict], checkout: dict, *, with_card: bool = True) -> dict:
    """What the page did after the ticket's ``events``, the checkout answering ``checkout``."""
    program = (
        f"var checkout = {json.dumps(checkout)}, withCard = {json.dumps(with_card)};\n"
        + STAND_IN
        + PAGE
        + SCRIPT
        + f"\n{json.dumps(events)}.forEach(channels['ticket:5'].onEvent);"
        " Promise.resolve().then(function () { return null; }).then(function () {"
        " process.stdout.write(JSON.stringify({asked: asked, hidden: card.hidden,"
        " reloads: reloads, status: attrs['data-status']})); });"
    )
    return run(program)


DUE = {"status": 200, "body": {"number": "26-0000007", "amount": 1_000_000, "links": {}}}
NOTHING = {"status": 404, "body": {}}
CHECKOUT = "GET /payments/checkout/s3cret"


def _event(type_: str, **data) -> dict:
    return {"type": type_, "data": {"ticket_id": 5, **data}}


def test_an_invoice_billed_after_the_page_opened_brings_its_card():
    after = _after([_event("invoice.created")], DUE, with_card=False)
    assert CHECKOUT in after["asked"] and after["reloads"] == 1
    # Not the ticket's state: the page does not draw it as a status.
    assert after["status"] == "waiting"


def test_a_corrected_or_part_paid_invoice_is_drawn_again_with_what_is_due_now():
    less = {**DUE, "body": {**DUE["body"], "amount": 900_000}}
    assert _after([_event("invoice.changed", change="discount")], less)["reloads"] == 1
    assert _after([_event("payment.recorded")], less)["reloads"] == 1
    more = {**DUE, "body": {**DUE["body"], "amount": 1_200_000}}
    assert _after([_event("refund.recorded")], more)["reloads"] == 1
    another = {**DUE, "body": {**DUE["body"], "number": "26-0000008"}}
    assert _after([_event("invoice.created")], another)["reloads"] == 1


def test_a_card_that_shows_what_is_due_is_left_as_it_is():
    after = _after([_event("invoice.changed", change="held")], DUE)
    assert after["reloads"] == 0 and after["hidden"] is False and after["status"] == "waiting"


def test_a_cancelled_invoice_takes_the_card_away():
    after = _after([_event("invoice.changed", change="cancelled")], NOTHING)
    assert after["hidden"] is True and after["reloads"] == 0
    nothing_yet = _after([_event("invoice.changed", change="cancelled")], NOTHING, with_card=False)
    assert nothing_yet["reloads"] == 0
