"""The reception desk's script run by the Node.js that comes with Playwright, with the page's
elements stood in for (no browser, well under a second): a patient chosen from the search
results (whose list, and the button pressed, go away) leaves the keyboard's focus at the
chosen patient's line, just before the queues, not on nothing."""

from __future__ import annotations

import json

from tests.web.page_scripts import run, script

SCRIPT = script("queue.js") + script("once.js") + script("desk.js")

PATIENT = {"id": 5, "full_name": "Ivanov Ivan", "phone": "+998901234567"}

PAGE = """
var window = globalThis, sent = [], handlers = null, focused = null;
function el(tag) {
  var e = {tagName: String(tag).toUpperCase(), children: [], attrs: {}, listeners: {},
           hidden: false, disabled: false, own: ""};
  Object.defineProperty(e, "textContent", {
    get: function () {
      return e.own + e.children.map(function (c) { return c.textContent; }).join("");
    },
    set: function (v) { e.own = String(v); e.children = []; }});
  e.appendChild = function (c) { e.children.push(c); return c; };
  e.setAttribute = function (k, v) { e.attrs[k] = String(v); };
  e.getAttribute = function (k) { return e.attrs[k]; };
  e.addEventListener = function (t, f) { e.listeners[t] = f; };
  e.focus = function () { focused = e; };
  e.all = function () {
    return [e].concat.apply([e], e.children.map(function (c) { return c.all(); }));
  };
  e.querySelector = function (s) { return (e.parts || {})[s] || null; };
  return e;
}
function form(parts, elements) {
  var f = el("form");
  f.parts = parts; f.elements = elements || {}; f.reset = function () {};
  f.submit = function () { f.listeners.submit({preventDefault: function () {}, target: f}); };
  return f;
}
function button(where) {
  return where.all().filter(function (e) { return e.tagName === "BUTTON"; })[0];
}
var config = {printUrl: "/print/{id}", cancelUrl: "/api/v1/tickets/{id}/cancel",
  attachUrl: "/api/v1/tickets/{id}/patient", patientsUrl: "/api/v1/patients",
  ticketsUrl: "/api/v1/queues/{id}/tickets", timezone: "Asia/Tashkent",
  texts: {statuses: {}, choose: "choose", issued: "issued {code}", print: "print {code}",
          noPatients: "none", failed: "failed {detail}",
          network: "network", refusals: {}, fields: {}, served: "{count}", more: "{count}"}};
var ids = {"desk-config": {textContent: JSON.stringify(config)}};
["desk-issued", "desk-error", "patient-results"].forEach(function (id) { ids[id] = el("p"); });
ids["patient-clear"] = el("button");
ids["patient-chosen"] = el("p");
ids["patient-chosen"].hidden = true;
ids["patient-chosen"].parts = {"[data-name]": el("strong")};
ids["patient-search"] = form({}, {q: {value: "Ivanov"}});
ids["patient-new"] = form({"button[type=submit]": el("button")});
ids["patient-edit-open"] = el("button");
ids["patient-edit"] = form({"button[type=submit]": el("button")},
  {full_name: {value: ""}, sex: {value: ""}, phone: {value: ""}, birth_date: {value: ""}});
ids["patient-edit"].hidden = true;
var list = el("ol"), issueButton = el("button");
var issueForm = form({"button[type=submit]": issueButton,
                      "input[name=priority]:checked": {value: "normal"}},
                     {comment: {value: ""}});
issueForm.attrs["data-issue-url"] = "/api/v1/queues/1/tickets";
var card = el("section");
card.attrs["data-queue-id"] = "1";
card.parts = {"[data-tickets]": list, "[data-waiting]": el("strong"), "[data-summary]": el("p"),
              "[data-filter]": {value: "", addEventListener: function () {}},
              "[data-more]": el("button"), "form": issueForm};
var issued = [];
window.open = function () { return {location: {}, close: function () {}}; };
window.document = {
  getElementById: function (id) { return ids[id] || null; },
  querySelectorAll: function () { return [card]; },
  querySelector: function () { return null; },
  createElement: el,
  documentElement: {lang: "ru"},
};
var document = window.document;
window.fetch = function (url, options) {
  sent.push(url);
  var said = options.method === "POST" ? issued.shift() : [200, {items: [PATIENT]}];
  return Promise.resolve({status: said[0],
                          text: function () { return Promise.resolve(JSON.stringify(said[1])); }});
};
var listing = null;  // the queues:all channel's handlers (queues switched on)
window.ClinicSocket = {subscribe: function (channel, h) {
  if (channel === "queues:all") listing = h; else handlers = h;
}};
""".replace("PATIENT", json.dumps(PATIENT))


def test_a_patient_chosen_from_the_list_leaves_the_focus_at_his_line():
    program = PAGE + SCRIPT + """
(async function () {
  var tick = function () { return new Promise(function (r) { setImmediate(r); }); };
  ids["patient-search"].submit();
  for (var t = 0; t < 5; t++) await tick();
  var pick = button(ids["patient-results"]);
  pick.listeners.click();
  process.stdout.write(JSON.stringify({chosen: !ids["patient-chosen"].hidden,
    focus: focused === ids["patient-clear"] ? "clear" : focused && focused.tagName}));
})();
"""
    assert run(program) == {"chosen": True, "focus": "clear"}


def test_a_refused_ticket_does_not_leave_the_last_ones_number_said():
    # "Ticket T-011 issued" above the refusal of the next one reads as that one's number.
    program = PAGE + SCRIPT + """
issued = [[201, {id: 11, code: "T-011"}],
          [409, {status: 409, code: "queue_closed", detail: "closed"}]];
(async function () {
  var tick = function () { return new Promise(function (r) { setImmediate(r); }); };
  issueForm.submit();
  for (var t = 0; t < 5; t++) await tick();
  var first = ids["desk-issued"].hidden ? "" : ids["desk-issued"].textContent;
  issueForm.submit();
  for (var t = 0; t < 5; t++) await tick();
  process.stdout.write(JSON.stringify({first: first, after: !ids["desk-issued"].hidden,
                                        error: !ids["desk-error"].hidden}));
})();
"""
    assert run(program) == {"first": "issued T-011 print T-011", "after": False, "error": True}


ON_PAPER = """
var opened = [];
window.open = function (url, name) {
  opened.push(name);
  return {location: {}, close: function () {}};
};
"""

ISSUE_TWICE = """
issued = [[201, {id: 11, code: "T-011"}], [201, {id: 12, code: "T-012"}]];
(async function () {
  var tick = function () { return new Promise(function (r) { setImmediate(r); }); };
  issueForm.submit();
  for (var t = 0; t < 5; t++) await tick();
  issueForm.submit();
  for (var t = 0; t < 5; t++) await tick();
  process.stdout.write(JSON.stringify({opened: opened.length,
    issued: ids["desk-issued"].attrs["data-code"]}));
})();
"""


def test_a_queue_printed_on_its_thermal_printer_opens_no_browser_print():
    # The printer prints the ticket: a print window as well would give the patient two papers.
    program = (
        PAGE
        + ON_PAPER
        + 'config.ticketsOnPaper = [1]; ids["desk-config"].textContent = JSON.stringify(config);'
        + SCRIPT
        + ISSUE_TWICE
    )
    assert run(program) == {"opened": 0, "issued": "T-012"}


def test_a_queue_without_a_thermal_printer_opens_the_browser_print():
    program = (
        PAGE
        + ON_PAPER
        + 'config.ticketsOnPaper = [2]; ids["desk-config"].textContent = JSON.stringify(config);'
        + SCRIPT
        + ISSUE_TWICE
    )
    assert run(program) == {"opened": 2, "issued": "T-012"}


LEARNS = """
(async function () {
  var tick = function () { return new Promise(function (r) { setImmediate(r); }); };
  var closed = 0, windows = [];
  window.open = function (url, name) {
    var shown = {location: {}, close: function () { closed += 1; }};
    windows.push(shown);
    return shown;
  };
  issueForm.submit();
  for (var t = 0; t < 5; t++) await tick();
  var first = {opened: windows.length, closed: closed};
  issueForm.submit();
  for (var t = 0; t < 5; t++) await tick();
  process.stdout.write(JSON.stringify({first: first, opened: windows.length, closed: closed,
    shown: windows.map(function (w) { return w.location.href || null; })}));
})();
"""


def test_a_printer_given_since_the_desk_was_loaded_takes_the_ticket_from_the_browser():
    # The answer says the queue's printer prints it now: the window opened at the click is
    # closed unprinted, and the next ticket opens none.
    program = PAGE + SCRIPT + """
issued = [[201, {id: 11, code: "T-011", on_paper: true}],
          [201, {id: 12, code: "T-012", on_paper: true}]];
""" + LEARNS
    assert run(program) == {
        "first": {"opened": 1, "closed": 1},
        "opened": 1,
        "closed": 1,
        "shown": [None],
    }


def test_a_printer_taken_away_since_the_desk_was_loaded_leaves_the_ticket_to_the_browser():
    # The queue's printer is gone (the job is a PDF): the ticket opens for the browser's print
    # once the answer says so, and the next one at the click.
    program = (
        PAGE
        + 'config.ticketsOnPaper = [1]; ids["desk-config"].textContent = JSON.stringify(config);'
        + SCRIPT
        + """
issued = [[201, {id: 11, code: "T-011", on_paper: false}],
          [201, {id: 12, code: "T-012", on_paper: false}]];
"""
        + LEARNS
    )
    assert run(program) == {
        "first": {"opened": 1, "closed": 0},
        "opened": 2,
        "closed": 0,
        "shown": ["/print/11", "/print/12"],
    }


def test_a_queue_switched_off_hides_its_desk_card_until_it_is_switched_on_again():
    program = PAGE + SCRIPT + """
var seen = [];
handlers.onSnapshot({queue_id: 1, day: "2026-03-02", tickets: [], waiting: 0, counts: {}});
seen.push(card.hidden);
handlers.onEvent({type: "queue.switched_off", data: {queue_id: 1}});
seen.push(card.hidden);
handlers.onEvent({type: "queue.switched_on", data: {queue_id: 1}});
seen.push(card.hidden);
process.stdout.write(JSON.stringify(seen));
"""
    assert run(program) == [False, True, False]
