"""The calendar offers "Check in again" to an arrived patient of today whose ticket was
cancelled (at the desk, by mistake), where the API issues him a new one, and nowhere else; the
button waits for its answer, says the new ticket's code, and a refusal in the page's words by
its code. Run by the Node.js that comes with Playwright, with the page's elements stood in for
(no browser)."""

from __future__ import annotations

import json

from tests.web.page_scripts import run
from tests.web.test_calendar_script import PAGE, SCRIPT

# Today's visits as the day list gives them (``AGO``: days before today), the page's words,
# and a list of slots that forgets what it held when the calendar draws it again.
DAY = """
var DAY_MS = 86400000, day = new Intl.DateTimeFormat("en-CA",
  {year: "numeric", month: "2-digit", day: "2-digit", timeZone: "Asia/Tashkent"});
var VISITS = ROWS.map(function (row) {
  var at = new Date(Date.now() - (row.ago || 0) * DAY_MS).toISOString();
  return {id: row.id, doctor_id: 2, status: row.status, ticket_status: row.ticket,
          starts_at: at, patient_name: "Ivanov", services: []};
});
Object.defineProperty(list, "textContent", {set: function () { drawn.length = 0; }});
var config = {texts: {checkIn: "check in", checkInAgain: "check in again", start: "start",
                      checkedIn: "checked in: {code}", checkedInNoTicket: "checked in",
                      conflicts: {doctor_away: "the doctor is away"}, invalid: {},
                      statuses: {}, network: "no network"},
              day: day.format(new Date()), doctorId: 2, channel: "visits_doctor:2", doctors: [],
              timezone: "Asia/Tashkent", reasonMax: 500, mayCheckIn: MAY_CHECK_IN,
              mayTreat: MAY_TREAT};
window.ClinicQueue.config = function () { return config; };
window.ClinicQueue.fill = function (text, values) { return text.replace("{code}", values.code); };
window.ClinicQueue.element = function (tag, className, text) {
  var made = node({tag: tag, className: className, textContent: text || "", children: []});
  made.appendChild = function (child) { made.children.push(child); };
  return made;
};
var read = window.ClinicQueue.api;
window.ClinicQueue.api = function (method, url, body) {
  if (method === "GET" && url.indexOf("/visits?") >= 0) {
    return Promise.resolve({status: 200, body: VISITS});
  }
  return read(method, url, body);
};
"""

# What each visit's row offers: its buttons' words and what they are marked with.
OFFERED = """
function offered() {
  var rows = {};
  drawn.forEach(function (item) {
    var slot = item.children[0];
    rows[slot.attrs["data-visit"]] = item.children.slice(1).map(function (button) {
      return [button.textContent, Object.keys(button.attrs)[0], button.attrs[
        Object.keys(button.attrs)[0]]];
    });
  });
  return rows;
}
function tick() { return new Promise(function (r) { setImmediate(r); }); }
"""


def _calendar(rows, then: str = "", *, may_check_in=True, may_treat=False) -> dict:
    """The calendar drawn for the day list ``rows``, then ``then`` (JavaScript, awaited)."""
    program = (
        PAGE
        + DAY.replace("ROWS", json.dumps(rows))
        .replace("MAY_CHECK_IN", json.dumps(may_check_in))
        .replace("MAY_TREAT", json.dumps(may_treat))
        + OFFERED
        + SCRIPT
        + """
(async function () {
  for (var t = 0; t < 3; t++) await tick();
  var out = {offered: offered()};
  THEN
  process.stdout.write(JSON.stringify(out));
})();
""".replace("THEN", then)
    )
    return run(program)


AGAIN = ["check in again", "data-check-in-again", 11]


def test_only_an_arrived_patient_of_today_whose_ticket_was_cancelled_is_checked_in_again():
    rows = [
        {"id": 10, "status": "scheduled", "ticket": None},
        {"id": 11, "status": "arrived", "ticket": "cancelled"},
        # His ticket is in the queue, or he was checked in without one (no queue working).
        {"id": 12, "status": "arrived", "ticket": "waiting"},
        {"id": 13, "status": "arrived", "ticket": None},
        # Served, or begun: the check-in's time is over.
        {"id": 14, "status": "arrived", "ticket": "served"},
        {"id": 15, "status": "in_progress", "ticket": "cancelled"},
        # Another day's: the API refuses it (not_today).
        {"id": 16, "status": "arrived", "ticket": "cancelled", "ago": 2},
    ]
    offered = _calendar(rows)["offered"]
    assert offered == {
        "10": [["check in", "data-check-in", 10]],
        "11": [AGAIN],
        "12": [], "13": [], "14": [], "15": [], "16": [],
    }  # fmt: skip
    # Without visits.book, nothing; the doctor who may also start the visit is offered both.
    assert _calendar(rows[1:2], may_check_in=False)["offered"] == {"11": []}
    assert _calendar(rows[1:2], may_treat=True)["offered"] == {
        "11": [AGAIN, ["start", "data-visit-step", 11]]
    }


PRESS = """
  var button = drawn[0].children[1];
  if (!button) return process.stdout.write(JSON.stringify(out));  // nothing to press
  button.listeners.click();
  out.posted = posted.slice();
  out.waits = button.disabled;
  waiting[0](ANSWER);
  for (var t = 0; t < 3; t++) await tick();
  out.enabled = !button.disabled;
  out.message = message.textContent;
  out.failure = failure.textContent;
  out.after = offered();
"""


def _pressed(answer: str) -> dict:
    """ "Check in again" pressed, and ``answer`` (JavaScript) given to it."""
    rows = [{"id": 11, "status": "arrived", "ticket": "cancelled"}]
    return _calendar(rows, PRESS.replace("ANSWER", answer))


def test_check_in_again_waits_for_its_answer_and_says_the_new_tickets_code():
    # The visit as the check-in answers it: a new ticket, waiting.
    done = _pressed("""{status: 200, body: Object.assign({}, VISITS[0],
             {ticket_status: "waiting", ticket: {code: "T-015"}})}""")
    assert done.get("posted") == ["/11/check-in"]
    assert done["waits"] is True
    assert done["message"] == "checked in: T-015"
    # He holds a waiting ticket now: nothing more to check in.
    assert done["after"] == {"11": []}


def test_a_refused_check_in_again_is_said_by_its_code_and_may_be_pressed_again():
    refused = {"status": 409, "body": {"code": "doctor_away", "detail": "the doctor is away"}}
    done = _pressed(json.dumps(refused))
    assert done.get("failure") == "the doctor is away"
    assert (done["message"], done["enabled"]) == ("", True)
    assert done["after"] == {"11": [AGAIN]}
