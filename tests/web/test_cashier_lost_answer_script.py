"""A payment or refund whose answer the network lost is known to have landed by its own
record (the key the page sent with it), never by the invoice's figures: a refund of a part
paid of an open invoice lowers what is paid, and another screen's money moves the figures
too. Run by the Node.js that comes with Playwright, with the page's elements stood in for
(no browser, well under a second)."""

from __future__ import annotations

import json

from tests.web.page_scripts import run, script
from tests.web.test_cashier_script import CLICKS, PART_PAID, SCRIPT

# Invoice 5 (250 000) with 50 000 paid in cash; after 40 000 of that part was given back
# (still open: less is paid, nothing counts as given back); after 100 000 more was paid by
# card at another desk.
HALF_PAID = {**PART_PAID, "paid_amount": 50_000_00, "amount_due": 200_000_00}
GIVEN_BACK = {**HALF_PAID, "paid_amount": 10_000_00, "amount_due": 240_000_00}
MORE_PAID = {**HALF_PAID, "paid_amount": 150_000_00, "amount_due": 100_000_00}

# What the page says, by the names of its texts; the invoice read alone answers ``alone``
# (its payments and refunds), each record's reference made of ``mine`` (true: the key the
# page sent) as the API makes it.
SAYS = """
var said = [], alone = null;
window.ClinicQueue.config = function () {
  var texts = new Proxy({}, {get: function (t, name) { return String(name); }});
  return {texts: texts, money: {}, api: "/invoices", shiftApi: "/shift"};
};
window.ClinicQueue.say = function (box, text) { if (text) said.push(String(text)); };
var plainApi = window.ClinicQueue.api;
window.ClinicQueue.api = function (method, url, data) {
  if (method === "GET" && url === "/invoices/5") {
    return Promise.resolve(alone ? {status: 200, body: alone()} : {status: 404, body: {}});
  }
  return plainApi(method, url, data);
};
function record(kind, amount, mine) {
  var key = mine ? sent[sent.length - 1] : "0f0e0d0c-another-screens-key";
  var ref = kind === "refund" ? "desk:7:" + key : "7:" + key;
  return {amount: amount, provider_ref: ref, shift_id: 3};
}
"""


def _said_after(steps: list[str]) -> str:
    """The page's last words after ``steps`` (JavaScript) on the desk showing invoice 5 part
    paid (``halfPaid``; ``givenBack`` and ``morePaid`` as it may be next), each press's answer
    lost by the network."""
    program = (
        CLICKS
        + SAYS
        + script("money.js")
        + SCRIPT
        + '\nanswers = ["lost", "lost"];'
        + f"\nvar halfPaid = {json.dumps(HALF_PAID)}, givenBack = {json.dumps(GIVEN_BACK)},"
        + f" morePaid = {json.dumps(MORE_PAID)};"
        + "\nhandlers.onSnapshot({invoices: [halfPaid]});"
        + "\nvar steps = ["
        + ",".join(f"function () {{ {step}; }}" for step in steps)
        + "];\n(async function () { for (var i = 0; i < steps.length; i++) { steps[i]();"
        " for (var t = 0; t < 5; t++) await new Promise(function (r) { setImmediate(r); }); }"
        " process.stdout.write(JSON.stringify(said[said.length - 1])); })();"
    )
    return run(program)


def test_a_lost_refund_of_a_part_paid_is_found_by_its_key_once_the_desk_is_read_anew():
    snapshot = "handlers.onSnapshot({invoices: [givenBack]})"
    found = 'alone = () => ({...givenBack, refunds: [record("refund", 4000000, true)]})'
    assert _said_after(['press("refund")', found, snapshot]) == "refunded"
    # Not among the invoice's refunds: it did not land, however the figures moved.
    missing = "alone = () => ({...givenBack, refunds: []})"
    assert _said_after(['press("refund")', missing, snapshot]) == "refundLost"


def test_another_screens_refund_of_the_same_sum_is_not_taken_for_the_lost_one():
    given = (
        'handlers.onEvent({type: "refund.recorded", data: {invoice: givenBack,'
        ' refund: record("refund", 4000000, MINE)}})'
    )
    assert _said_after(['press("refund")', given.replace("MINE", "false")]) == "refundLost"
    assert _said_after(['press("refund")', given.replace("MINE", "true")]) == "refunded"


def test_another_desks_payment_read_in_a_snapshot_is_not_taken_for_the_lost_one():
    # The lost cash payment never reached the server; a card payment at another desk did.
    snapshot = "handlers.onSnapshot({invoices: [morePaid]})"
    theirs = 'alone = () => ({...morePaid, payments: [record("pay", 10000000, false)]})'
    assert _said_after(['press("cash")', theirs, snapshot]) == "payLost"
    mine = theirs.replace("false", "true")
    assert _said_after(['press("cash")', mine, snapshot]) == "partPaid"
