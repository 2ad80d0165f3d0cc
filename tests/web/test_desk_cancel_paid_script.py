"""The reception desk asks before cancelling a ticket, and for a paid one says so: the
patient's money is then given back at the cashier's desk. Run by the Node.js that comes with
Playwright, with the page's elements stood in for (no browser)."""

from __future__ import annotations

from tests.web.page_scripts import run
from tests.web.test_desk_script import PAGE, SCRIPT

WORDS = """
config.texts.cancel = "cancel";
config.texts.confirmCancel = "Cancel {code}?";
config.texts.confirmCancelPaid = "{code} is paid: money back at the cashier's. Cancel?";
ids["desk-config"].textContent = JSON.stringify(config);
var asked = [];
window.confirm = function (text) { asked.push(text); return false; };
"""

PRESS_CANCEL = """
handlers.onSnapshot({active: true, waiting: 2, tickets: [
  {id: 7, code: "T-007", status: "waiting", paid_at: "2026-12-07T05:00:00+00:00"},
  {id: 8, code: "T-008", status: "waiting", paid_at: null}]});
list.all().filter(function (e) { return e.attrs["data-action"] === "cancel"; })
  .forEach(function (b) { b.listeners.click(); });
process.stdout.write(JSON.stringify({asked: asked, sent: sent}));
"""


def test_cancelling_a_paid_ticket_asks_saying_it_is_paid_and_where_the_money_goes_back():
    said = run(PAGE + WORDS + SCRIPT + PRESS_CANCEL)
    assert said == {
        "asked": [
            "T-007 is paid: money back at the cashier's. Cancel?",
            "Cancel T-008?",
        ],
        "sent": [],  # not agreed: nothing is cancelled
    }
