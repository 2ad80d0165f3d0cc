"""The calendar's booking form finds its patient (the page's script run by the Node.js that
comes with Playwright, the page's elements stood in for): by name or phone through the
patients API, the one chosen filling the form's patient number, instead of the registrar
typing a record number that no page shows him."""

from __future__ import annotations

import json

from tests.web.page_scripts import run, script

SCRIPT = script("queue.js") + script("patient-find.js")

FOUND = [
    {"id": 41, "full_name": "Oʻralov Gʻulom", "phone": "+998901234567", "birth_date": "1990-05-01"},
    {"id": 42, "full_name": "Oʻralova Dilnoza", "phone": None, "birth_date": None},
]

PAGE = """
var window = globalThis, sent = [], focused = null, answer = [200, {items: FOUND}];
function el(tag) {
  var e = {tagName: String(tag).toUpperCase(), children: [], attrs: {}, listeners: {},
           hidden: false, own: "", value: ""};
  Object.defineProperty(e, "textContent", {
    get: function () {
      return e.own + e.children.map(function (c) { return c.textContent; }).join("");
    },
    set: function (v) { e.own = String(v); e.children = []; }});
  e.appendChild = function (c) { e.children.push(c); return c; };
  e.setAttribute = function (k, v) { e.attrs[k] = String(v); };
  e.getAttribute = function (k) { return k in e.attrs ? e.attrs[k] : null; };
  e.addEventListener = function (t, f) { e.listeners[t] = f; };
  e.focus = function () { focused = e; };
  e.querySelector = function (s) { return (e.parts || {})[s] || null; };
  return e;
}
var number = el("input"), email = el("input"), fieldError = el("span"), query = el("input");
var booking = el("form");
booking.elements = {patient_id: number, notify_email: email};
booking.parts = {'[data-error-for="patient_id"]': fieldError};
var search = el("form");
search.elements = {q: query};
search.reset = function () { query.value = ""; };
var list = el("ol");
var config = {patientsUrl: "/api/v1/patients",
  texts: {choose: "Choose", noPatients: "Nobody found.", failed: "failed {detail}",
          network: "network", signedOut: "signed out", forbidden: "forbidden", fields: {}}};
var ids = {"calendar-config": {textContent: JSON.stringify(config)}, "booking-form": booking,
           "booking-patient-search": search, "booking-patients": list};
window.document = {
  getElementById: function (id) { return ids[id] || null; },
  querySelector: function () { return null; },
  createElement: el,
};
var document = window.document;
window.fetch = function (url) {
  sent.push(url);
  var text = JSON.stringify(answer[1]);
  return Promise.resolve({status: answer[0],
                          text: function () { return Promise.resolve(text); }});
};
var tick = function () { return new Promise(function (r) { setImmediate(r); }); };
async function find(typed) {
  query.value = typed;
  search.listeners.submit({preventDefault: function () {}, target: search});
  for (var t = 0; t < 5; t++) await tick();
}
function lines() { return list.children.map(function (c) { return c.textContent; }); }
function buttons() {
  return list.children.map(function (li) {
    return li.children.filter(function (c) { return c.tagName === "BUTTON"; })[0];
  });
}
""".replace("FOUND", json.dumps(FOUND))


def test_a_patient_found_by_name_and_chosen_fills_the_booking_forms_number():
    program = PAGE + SCRIPT + """
(async function () {
  await find("O'ralov");
  var found = lines();
  buttons()[0].listeners.click();
  process.stdout.write(JSON.stringify({sent: sent, found: found, number: number.value,
    chosen: lines(), focus: focused === email}));
})();
"""
    out = run(program)
    assert out["sent"] == ["/api/v1/patients?page_size=10&active=true&q=O'ralov"]
    # Each found patient with what tells namesakes apart: phone and birth date (dd.mm.yyyy).
    assert out["found"] == [
        "№ 41 · Oʻralov Gʻulom · +998901234567 · 01.05.1990Choose",
        "№ 42 · Oʻralova Dilnoza" + "Choose",
    ]
    assert out["number"] == "41"
    assert out["chosen"] == ["№ 41 · Oʻralov Gʻulom · +998901234567 · 01.05.1990"]
    assert out["focus"] is True


def test_nobody_found_or_a_refused_search_is_said_and_a_booking_done_forgets_the_choice():
    program = PAGE + SCRIPT + """
(async function () {
  answer = [200, {items: []}];
  await find("Нетакого");
  var none = lines();
  answer = [401, {status: 401, title: "Unauthorized"}];
  await find("Karimov");
  var refused = fieldError.hidden ? "" : fieldError.textContent;
  answer = [200, {items: [FOUND[0]]}];
  await find("90 123 45 67");
  buttons()[0].listeners.click();
  var chosen = number.value;
  booking.listeners.reset({});
  process.stdout.write(JSON.stringify({none: none, refused: refused, chosen: chosen,
    afterReset: lines(), query: query.value, error: fieldError.hidden}));
})();
""".replace("FOUND", json.dumps(FOUND))
    out = run(program)
    assert out["none"] == ["Nobody found."]
    assert out["refused"] == "signed out"
    assert out["chosen"] == "41"
    assert out == {**out, "afterReset": [], "query": "", "error": True}


def test_a_number_typed_by_hand_drops_the_patient_chosen_before():
    program = PAGE + SCRIPT + """
(async function () {
  await find("Oʻralov");
  buttons()[0].listeners.click();
  number.value = "7";
  number.listeners.input({});
  process.stdout.write(JSON.stringify({lines: lines(), number: number.value}));
})();
"""
    assert run(program) == {"lines": [], "number": "7"}
