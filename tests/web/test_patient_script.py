"""The patient's page takes its "Pay online" card away once nothing is left to pay online:
its ticket paid at the desk or from the phone. Run by the Node.js that comes with Playwright,
with the page's elements stood in for (no browser, well under a second)."""

from __future__ import annotations

import json

from tests.web.page_scripts import STAND_IN, run, script

SCRIPT = script("patient.js")

PAGE = """
var card = { hidden: false, getAttribute: function () { return "/payments/checkout/s3cret"; } };
var document = standIn();
document.getElementById = function (id) {
  return id === "patient-checkout" ? (withCard ? card : null) : standIn();
};
var asked = [], channels = {};
window.ClinicQueue = {
  config: function () {
    return { ticket: 5, queue: 2, texts: standIn(), leavable: [], stateUrl: "/t/s3cret/state" };
  },
  fill: function (t) { return String(t); },
  say: function () {},
  api: function (method, url) {
    asked.push(method + " " + url);
    return Promise.resolve({ status: url === "/t/s3cret/state" ? 200 : due, body: {} });
  },
};
window.ClinicSocket = { subscribe: function (channel, h) { channels[channel] = h; } };
var navigator = {};
window.setTimeout = function (fn) { fn(); };
"""


def _after(events: list[dict], *, due: int, with_card: bool = True) -> dict:
    """What the page asked and whether its card is hidden after the ticket's ``events``, the
    checkout answering ``due`` (200: something to pay, 404: nothing)."""
    program = (
        f"var due = {due}, withCard = {json.dumps(with_card)};\n"
        + STAND_IN
        + PAGE
        + SCRIPT
        + f"\n{json.dumps(events)}.forEach(channels['ticket:5'].onEvent);"
        " Promise.resolve().then(function () { return null; }).then(function () {"
        " process.stdout.write(JSON.stringify({asked: asked, hidden: card.hidden})); });"
    )
    return run(program)


TICKET = {"ticket_id": 5, "code": "A-001", "queue_id": 2, "room": None, "status": "waiting",
          "recalls": 0, "called_at": None}  # fmt: skip
PAID = {"type": "ticket.paid", "data": TICKET}


def test_the_card_goes_away_once_the_ticket_is_paid():
    after = _after([PAID], due=404)
    assert after["hidden"] is True
    assert "GET /payments/checkout/s3cret" in after["asked"]


def test_the_card_stays_while_something_is_still_due_and_is_not_asked_for_other_events():
    assert _after([PAID], due=200)["hidden"] is False
    called = {"type": "ticket.called", "data": {**TICKET, "status": "called"}}
    assert "GET /payments/checkout/s3cret" not in _after([called], due=404)["asked"]
    assert _after([PAID], due=404, with_card=False)["hidden"] is False  # no card: nothing


def _reloads(rendered: str, snapshot: dict) -> int:
    """How often the page drawn with ticket status ``rendered`` reloads itself on subscribing
    and finding ``snapshot``."""
    program = (
        "var due = 404, withCard = false;\n"
        + STAND_IN
        + PAGE
        + f"var rendered = {json.dumps(rendered)};\n"
        + """
var attrs = { "data-status": rendered };
var root = {
  getAttribute: function (name) { return attrs[name]; },
  setAttribute: function (name, value) { attrs[name] = String(value); },
};
document.getElementById = function (id) {
  return id === "patient" ? root : id === "patient-checkout" ? null : standIn();
};
var reloads = 0;
window.location = { reload: function () { reloads += 1; } };
"""
        + SCRIPT
        + f"\nchannels['ticket:5'].onSnapshot({json.dumps(snapshot)});"
        " process.stdout.write(JSON.stringify(reloads));"
    )
    return run(program)


def test_a_page_that_missed_the_transfer_follows_the_patient_once_it_subscribes():
    """Transferred before the page subscribed, or during a network loss the server's history
    no longer covers: the snapshot says so, and the page is drawn again (the server sends it
    to the ticket he holds now) instead of saying "no longer in the queue"."""
    assert _reloads("waiting", {**TICKET, "status": "transferred"}) == 1
    assert _reloads("called", {**TICKET, "status": "served"}) == 1
    # A page drawn for a ticket already served (no return) does not reload again and again.
    assert _reloads("served", {**TICKET, "status": "served"}) == 0
    assert _reloads("waiting", {**TICKET, "status": "called"}) == 0


def _ahead_after_a_lost_reading(answers: list[str]) -> dict:
    """What the page shows as people ahead, and how often it read its ticket, after the queue
    moved (a board event) while the phone's readings of the ticket got ``answers`` in turn
    ("offline": no network; a status: the server's answer, "200" with 1 ahead), the page's
    timers run until it has none left waiting (at most ten rounds)."""
    program = (
        "var due = 404, withCard = false;\n"
        + STAND_IN
        + PAGE
        + f"var answers = {json.dumps(answers)};\n"
        + """
var timers = [];
window.setTimeout = function (fn) { timers.push(fn); return timers.length; };
var ahead = { textContent: "3" };
document.getElementById = function (id) {
  return id === "patient-ahead" ? ahead : id === "patient-checkout" ? null : standIn();
};
var readings = 0;
window.ClinicQueue.api = function (method, url) {
  if (url !== "/t/s3cret/state") return Promise.resolve({ status: 404, body: null });
  readings += 1;
  var answer = answers.shift() || "200";
  if (answer === "offline") return Promise.reject(new TypeError("Failed to fetch"));
  return Promise.resolve({ status: Number(answer), body: { status: "waiting", ahead: 1 } });
};
"""
        + SCRIPT
        + """
channels["board:2"].onEvent({ type: "ticket.called", data: { ticket_id: 9 } });
var rounds = 0;
(function next() {
  if (!timers.length || rounds >= 10) {
    process.stdout.write(JSON.stringify({ ahead: ahead.textContent, readings: readings }));
    return;
  }
  rounds += 1;
  timers.shift()();
  setImmediate(next);
})();
"""
    )
    return run(program)


def test_a_reading_of_the_ticket_lost_to_the_network_is_made_again_until_it_arrives():
    """The queue moved while the phone was out of reach (or the server answered 503 while it
    restarted): the page reads its ticket again by itself, rather than showing the old number
    of people ahead until the next patient is called."""
    assert _ahead_after_a_lost_reading([]) == {"ahead": "1", "readings": 1}
    assert _ahead_after_a_lost_reading(["offline", "offline", "200"]) == {
        "ahead": "1",
        "readings": 3,
    }
    assert _ahead_after_a_lost_reading(["503", "200"]) == {"ahead": "1", "readings": 2}


def _readings_on_coming_back(event: str, visibility: str = "visible") -> int:
    """How often the page reads its ticket when the document hears ``event`` (its
    visibility then ``visibility``), nothing having come over the socket."""
    program = (
        "var due = 404, withCard = false;\n"
        + STAND_IN
        + PAGE
        + """
var heard = {};
document.addEventListener = function (name, fn) { heard[name] = fn; };
window.addEventListener = function (name, fn) { heard["window:" + name] = fn; };
var readings = 0;
window.ClinicQueue.api = function (method, url) {
  if (url === "/t/s3cret/state") readings += 1;
  return Promise.resolve({ status: 200, body: { status: "waiting", ahead: 1 } });
};
"""
        + SCRIPT
        + f"\ndocument.visibilityState = {json.dumps(visibility)};"
        + f"\nif (heard[{json.dumps(event)}]) heard[{json.dumps(event)}]({{}});"
        + "\nPromise.resolve().then(function () {"
        " process.stdout.write(JSON.stringify(readings)); });"
    )
    return run(program)


def test_a_phone_unlocked_or_back_on_the_page_reads_its_ticket_at_once():
    """A locked phone freezes the page and its socket, which can take half a minute to be
    found dead: the patient who looks again is shown his ticket as it is now (called while
    the phone was in his pocket), not as it was when he put it away."""
    assert _readings_on_coming_back("visibilitychange") == 1
    assert _readings_on_coming_back("visibilitychange", "hidden") == 0
    assert _readings_on_coming_back("window:online") == 1


def _alerts(status: str, *, vibrate: bool = True, taps: tuple = ()) -> dict:
    """Whether the page asks its patient to tap it so that it may buzz (the ``status`` of his
    ticket, a phone that can buzz or not), after the ``taps`` ("button": on the request,
    "page": anywhere), and what the phone was asked to buzz."""
    program = (
        "var due = 404, withCard = false;\n"
        + STAND_IN
        + PAGE
        + f"var status = {json.dumps(status)}, canBuzz = {json.dumps(vibrate)};\n"
        + f"var taps = {json.dumps(list(taps))};\n"
        + """
var buzzed = [];
// Node has a navigator of its own, which an assignment does not replace.
Object.defineProperty(globalThis, "navigator", {
  value: canBuzz ? { vibrate: function (p) { buzzed.push(p); return true; } } : {},
  configurable: true,
});
var onButton = null, heard = {};
var button = { addEventListener: function (name, fn) { onButton = fn; } };
var alerts = { hidden: true, querySelector: function () { return button; } };
document.getElementById = function (id) {
  return id === "patient-alerts" ? alerts : id === "patient-checkout" ? null : standIn();
};
document.addEventListener = function (name, fn) { heard[name] = fn; };
window.addEventListener = function () {};
"""
        + SCRIPT
        + """
channels["ticket:5"].onSnapshot({ ticket_id: 5, status: status, recalls: 0 });
var shown = !alerts.hidden;
taps.forEach(function (tap) {
  if (tap === "button") onButton({});
  heard.click({});
});
process.stdout.write(JSON.stringify({ shown: shown, after: !alerts.hidden, buzzed: buzzed }));
"""
    )
    return run(program)


def test_a_waiting_patient_is_asked_to_tap_the_page_so_that_his_phone_may_buzz():
    """Chrome on Android refuses to buzz for a page nobody has touched: the patient who opened
    his link and put the phone away would feel nothing at his call. The page asks him to tap
    it while he waits, buzzes once when he does, and asks no more."""
    assert _alerts("waiting") == {"shown": True, "after": True, "buzzed": []}
    assert _alerts("waiting", taps=("button",)) == {"shown": True, "after": False, "buzzed": [80]}
    assert _alerts("postponed", taps=("page",)) == {"shown": True, "after": False, "buzzed": []}
    # With the doctor, or done, there is nothing to wait for; a phone that cannot buzz (an
    # iPhone) is promised nothing.
    assert _alerts("in_service")["shown"] is False
    assert _alerts("no_show")["shown"] is False
    assert _alerts("waiting", vibrate=False)["shown"] is False
