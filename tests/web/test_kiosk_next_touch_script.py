"""The kiosk's next touch takes the last ticket off the screen: a touch refused (the queue
closed meanwhile) must not leave the person before's number shown large above the refusal,
where it reads as the ticket just issued. Run by the Node.js that comes with Playwright,
with the page's elements stood in for (no browser, well under a second)."""

from __future__ import annotations

from tests.web.page_scripts import STAND_IN, run, script

PAGE = """
var clicks = {}, answers = [];
var button = standIn();
button.getAttribute = function (name) { return name === "data-name" ? "Therapy" : "/issue"; };
button.addEventListener = function (type, fn) { clicks.button = fn; };
button.querySelector = function () { return standIn(); };
var result = {hidden: true, setAttribute: function () {}};
var errorBox = {hidden: true, textContent: ""};
var document = standIn();
document.querySelectorAll = function () { return [button]; };
document.getElementById = function (id) {
  return id === "kiosk-error" ? errorBox : id === "kiosk-result" ? result : standIn();
};
window.ClinicQueue = {
  config: function () { return {printUrl: "/print/{id}", texts: {refusals: {}}}; },
  say: function (box, text) { box.textContent = text || ""; box.hidden = !text; },
  problem: function () { return "This queue is closed for today."; },
  issueAndPrint: function () { return Promise.resolve(answers.shift()); },
  addSwitchedOn: function () {},
};
window.ClinicSocket = {subscribe: function () {}};
window.setTimeout = function () { return 1; };
window.clearTimeout = function () {};
"""


def test_a_refused_touch_does_not_leave_the_last_ticket_on_the_screen():
    program = STAND_IN + PAGE + script("once.js") + script("kiosk.js") + """
answers = [{status: 201, body: {id: 11, code: "T-011"}},
           {status: 409, body: {code: "queue_closed"}}];
(async function () {
  var tick = function () { return new Promise(function (r) { setImmediate(r); }); };
  clicks.button();
  for (var t = 0; t < 3; t++) await tick();
  var shown = !result.hidden;
  clicks.button();
  for (var t = 0; t < 3; t++) await tick();
  process.stdout.write(JSON.stringify({first: shown, after: !result.hidden,
                                        refusal: errorBox.textContent}));
})();
"""
    assert run(program) == {
        "first": True,
        "after": False,
        "refusal": "This queue is closed for today.",
    }
