"""The desk's Issue. Each press sends an idempotency key: a press whose answer decided nothing
(lost on its way, a gateway's 5xx, the rate limit's 429) is sent again under its key by the
next press of the form asking the same within a minute; a press answered, a form asking
otherwise, or a minute gone is a new key. A patient already in the queue is refused with the
code of the ticket he holds there, in the desk's words. (The desk's script run by the Node.js
that comes with Playwright, the page stood in for as in test_desk_script.)"""

from __future__ import annotations

from tests.web.page_scripts import run, script
from tests.web.test_desk_script import PAGE

SCRIPT = script("queue.js") + script("once.js") + script("desk.js")

PRESSES = """
var keys = [], answers = [], now = 1767225600000;
Date.now = function () { return now; };
window.fetch = function (url, options) {
  if (options.method !== "POST") {
    return Promise.resolve({status: 200, text: function () { return Promise.resolve("[]"); }});
  }
  keys.push(JSON.parse(options.body).idempotency_key);
  var said = answers.shift();
  if (said === "lost") return Promise.reject(new TypeError("Failed to fetch"));
  return Promise.resolve({status: said[0],
                          text: function () { return Promise.resolve(JSON.stringify(said[1])); }});
};
var ticket = [201, {id: 11, code: "T-011"}];
// [the first press's answer, what changes before the second press]
var pairs = [
  [[502, {}], null],
  [[429, {}], null],
  ["lost", null],
  [[409, {status: 409, code: "queue_closed"}], null],
  ["lost", function () { issueForm.elements.comment.value = "after ECG"; }],
  ["lost", function () { now += 61000; }],
  [ticket, null],
];
(async function () {
  var tick = function () { return new Promise(function (r) { setImmediate(r); }); };
  for (var i = 0; i < pairs.length; i++) {
    answers.push(pairs[i][0], ticket);
    issueForm.submit();
    for (var t = 0; t < 5; t++) await tick();
    if (pairs[i][1]) pairs[i][1]();
    issueForm.submit();
    for (var t = 0; t < 5; t++) await tick();
  }
  process.stdout.write(JSON.stringify(keys));
})();
"""


def test_a_press_whose_answer_decided_nothing_is_sent_again_under_its_key():
    keys = run(PAGE + SCRIPT + PRESSES)
    assert len(keys) == 14 and all(len(key) >= 8 for key in keys)
    pairs = [keys[i : i + 2] for i in range(0, 14, 2)]
    again = [first == second for first, second in pairs]
    # 5xx, 429 and a lost answer: the same key; refused, asking otherwise, a minute later,
    # or answered: a new one.
    assert again == [True, True, True, False, False, False, False]
    assert len(set(keys)) == 11


IN_QUEUE = """
issued = [[409, {status: 409, code: "patient_in_queue", values: {ticket_code: "T-007"},
                 detail: "the patient already holds T-007 in this queue today",
                 errors: {patient_id: ["the patient already holds T-007"]}}]];
(async function () {
  var tick = function () { return new Promise(function (r) { setImmediate(r); }); };
  issueForm.submit();
  for (var t = 0; t < 5; t++) await tick();
  process.stdout.write(JSON.stringify(ids["desk-error"].textContent));
})();
"""


def test_a_patient_in_the_queue_is_refused_naming_the_ticket_he_holds():
    page = PAGE.replace(
        "refusals: {}", 'refusals: {patient_in_queue: "Already in the queue as {ticket_code}."}'
    )
    assert run(page + SCRIPT + IN_QUEUE) == "Already in the queue as T-007."


REFUSAL_VALUES = """
var texts = {refusals: {patient_in_queue: "Already in the queue as {ticket_code}."}};
var answer = {status: 409, body: {code: "patient_in_queue", values: {ticket_code: "T-007"}}};
process.stdout.write(JSON.stringify([
  ClinicQueue.problem(texts, answer),
  ClinicQueue.problem(texts, answer, {ticket_code: "T-009"}),
]));
"""


def test_a_refusal_is_filled_with_its_own_values_where_the_screen_gives_none():
    """Giving the chosen patient a walk-in's ticket is refused as issuing him one is: its
    words are filled from the refusal's own ``values`` (the screen names none of its own)."""
    page = "var window = global; window.document = {};\n"
    said = run(page + script("queue.js") + REFUSAL_VALUES)
    assert said == ["Already in the queue as T-007.", "Already in the queue as T-009."]
