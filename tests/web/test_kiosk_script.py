"""The kiosk says why a touched queue gives no ticket, and then clears the words, so the next
person at the kiosk does not read a refusal meant for someone else. Run by the Node.js that
comes with Playwright, with the page's elements stood in for (no browser, well under a
second)."""

from __future__ import annotations

from tests.web.page_scripts import STAND_IN, run, script

SCRIPT = script("once.js") + script("kiosk.js")

PAGE = """
var said = [], timers = [], clicks = {};
var button = standIn();
button.getAttribute = function (name) { return name === "data-name" ? "Therapy" : "/issue"; };
button.addEventListener = function (type, fn) { clicks.button = fn; };
button.querySelector = function () { return standIn(); };
var errorBox = { hidden: true, textContent: "" };
var document = standIn();
document.querySelectorAll = function () { return [button]; };
document.getElementById = function (id) { return id === "kiosk-error" ? errorBox : standIn(); };
window.ClinicQueue = {
  config: function () { return { printUrl: "/print/{id}", texts: { refusals: {} } }; },
  say: function (box, text) { box.textContent = text || ""; box.hidden = !text; said.push(text); },
  problem: function () { return "This queue is closed for today."; },
  issueAndPrint: function () {
    return Promise.resolve({ status: 409, body: { code: "queue_closed" } });
  },
  addSwitchedOn: function () {},
};
window.ClinicSocket = { subscribe: function () {} };
window.setTimeout = function (fn, ms) { timers.push({ fn: fn, ms: ms }); return timers.length; };
window.clearTimeout = function () {};
"""


def test_a_refusal_on_the_kiosk_clears_itself_for_the_next_person():
    program = (
        STAND_IN + PAGE + SCRIPT + "\nclicks.button();"
        " setImmediate(function () {"
        "  var shown = errorBox.textContent;"
        "  timers.filter(function (t) { return t.ms <= 60000; }).forEach(function (t) { t.fn(); });"
        "  process.stdout.write(JSON.stringify({shown: shown, after: errorBox.textContent,"
        "   hidden: errorBox.hidden}));"
        " });"
    )
    result = run(program)
    assert result["shown"] == "This queue is closed for today."
    assert (result["after"], result["hidden"]) == ("", True)


def test_a_queue_switched_off_loses_its_kiosk_button_until_it_is_switched_on_again():
    program = (
        STAND_IN
        + PAGE
        + "var heard = null, count = { textContent: '3' };"
        + " button.querySelector = function () { return count; };"
        + " window.ClinicSocket = { subscribe: function (channel, h) { heard = h; } };"
        + SCRIPT
        + """
var seen = [];
function look() { seen.push([button.hidden === true, count.textContent]); }
heard.onEvent({ type: "queue.switched_off", data: { queue_id: 1 } }); look();
heard.onEvent({ type: "ticket.cancelled", data: { ticket_id: 9, waiting: 2 } }); look();
heard.onEvent({ type: "queue.switched_on", data: { queue_id: 1 } }); look();
process.stdout.write(JSON.stringify(seen));
"""
    )
    assert run(program) == [[True, "3"], [True, "2"], [False, "2"]]


def test_the_day_befores_last_patient_finished_past_midnight_leaves_the_days_count_alone():
    program = (
        STAND_IN
        + PAGE
        + "var heard = null, count = { textContent: '' };"
        + " button.querySelector = function () { return count; };"
        + " window.ClinicSocket = { subscribe: function (channel, h) { heard = h; } };"
        + SCRIPT
        + """
var seen = [];
heard.onSnapshot({ queue_id: 1, day: "2026-03-02", waiting: 3 }); seen.push(count.textContent);
heard.onEvent({ type: "ticket.served", data: { day: "2026-03-01", waiting: 0 } });
seen.push(count.textContent);
heard.onEvent({ type: "ticket.issued", data: { day: "2026-03-02", waiting: 4 } });
seen.push(count.textContent);
heard.onEvent({ type: "ticket.issued", data: { day: "2026-03-03", waiting: 1 } });
seen.push(count.textContent);
heard.onEvent({ type: "ticket.served", data: { day: "2026-03-02", waiting: 0 } });
seen.push(count.textContent);
process.stdout.write(JSON.stringify(seen));
"""
    )
    assert run(program) == ["3", "3", "4", "1", "1"]


def test_a_ticket_whose_printer_is_failing_asks_the_patient_to_remember_his_number():
    """No paper may come out (out of paper, unreachable): the kiosk says so under the number
    and shows, for longer, the code of the patient's page the paper would carry; the next
    ticket, printed again, shows neither."""
    program = (
        STAND_IN
        + PAGE
        + """
var answers = [{status: 201, body: {id: 7, code: "T-007", on_paper: true, printer_failing: true}},
               {status: 201, body: {id: 8, code: "T-008", on_paper: true,
                                    printer_failing: false}}];
window.ClinicQueue.issueAndPrint = function () { return Promise.resolve(answers.shift()); };
var note = { hidden: true }, code = { textContent: "" }, qr = { src: null };
qr.setAttribute = function (name, value) { qr[name] = value; };
qr.removeAttribute = function (name) { qr[name] = null; };
document.getElementById = function (id) {
  return {"kiosk-error": errorBox, "kiosk-printer": note, "kiosk-code": code,
          "kiosk-qr": qr}[id] || standIn();
};
var kioskConfig = window.ClinicQueue.config();
kioskConfig.qrUrl = "/kiosk/ticket/{id}/code.svg";
window.ClinicQueue.config = function () { return kioskConfig; };
"""
        + SCRIPT
        + """
var seen = [];
clicks.button();
setImmediate(function () {
  seen.push([code.textContent, note.hidden, qr.src, timers[timers.length - 1].ms]);
  clicks.button();
  setImmediate(function () {
    seen.push([code.textContent, note.hidden, qr.src, timers[timers.length - 1].ms]);
    process.stdout.write(JSON.stringify(seen));
  });
});
"""
    )
    assert run(program) == [
        ["T-007", False, "/kiosk/ticket/7/code.svg", 45000],
        ["T-008", True, None, 20000],
    ]


def _kiosk_left_alone(home) -> dict:
    """Where the kiosk goes, and which timers it keeps, when a patient who chose his language
    (``home`` the way back to the kiosk's own, else None) touches the screen once and then
    leaves it alone, and when his ticket's time on the screen is over."""
    program = (
        STAND_IN
        + PAGE
        + f"var home = {'null' if home is None else repr(home)};"
        + """
var went = [], touched = null;
window.location = { assign: function (url) { went.push(url); } };
document.addEventListener = function (type, fn) { if (type === "pointerdown") touched = fn; };
var plain = window.ClinicQueue.config();
window.ClinicQueue.config = function () { plain.home = home; return plain; };
window.ClinicQueue.issueAndPrint = function () {
  return Promise.resolve({ status: 201, body: { id: 7, code: "T-007", on_paper: true } });
};
"""
        + SCRIPT
        + """
var seen = {idle: timers.filter(function (t) { return t.ms === 60000; }).length};
touched();
seen.idleAfterTouch = timers.filter(function (t) { return t.ms === 60000; }).length;
var idle = timers.filter(function (t) { return t.ms === 60000; });
if (idle.length) idle[idle.length - 1].fn();  // a minute without a touch
seen.wentIdle = went.slice();
went.length = 0;
clicks.button();
setImmediate(function () {
  var shown = timers.filter(function (t) { return t.ms === 20000; });
  shown[shown.length - 1].fn();  // the ticket's time on the screen is over
  seen.wentAfterTicket = went;
  process.stdout.write(JSON.stringify(seen));
});
"""
    )
    return run(program)


def test_a_patients_language_gives_way_to_the_kiosks_own_when_he_is_done_or_gone():
    assert _kiosk_left_alone("/kiosk") == {
        "idle": 1,
        "idleAfterTouch": 2,
        "wentIdle": ["/kiosk"],
        "wentAfterTicket": ["/kiosk"],
    }


def test_the_kiosk_in_its_own_language_stays_where_it_is():
    assert _kiosk_left_alone(None) == {
        "idle": 0,
        "idleAfterTouch": 0,
        "wentIdle": [],
        "wentAfterTicket": [],
    }
