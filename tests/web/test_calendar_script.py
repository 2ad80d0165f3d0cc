"""The appointments calendar sends one booking, move or cancellation a press: a second press
(or Enter) while the first is on its way would be refused (the slot is taken now, the visit
has changed) and put that refusal in place of "Booked." or "Visit cancelled.". Run by the
Node.js that comes with Playwright, with the page's elements stood in for (no browser, well
under a second)."""

from __future__ import annotations

import json

from tests.web.page_scripts import STAND_IN, run, script

SCRIPT = script("once.js") + script("visits.js")

VISIT = {
    "id": 9,
    "doctor_id": 2,
    "status": "scheduled",
    "starts_at": "2030-03-02T05:00:00Z",
    "patient_name": "Ivanov",
    "services": [],
}

PAGE = STAND_IN + """
var document = standIn(), posted = [], waiting = [], drawn = [];
function box() { return {hidden: true, textContent: ""}; }
function node(extra) {
  var made = {attrs: {}, listeners: {}, disabled: false, hidden: false, value: "",
    addEventListener: function (type, fn) { made.listeners[type] = fn; },
    setAttribute: function (name, value) { made.attrs[name] = value; },
    getAttribute: function (name) { return made.attrs[name]; },
    appendChild: function () {}, focus: function () {},
    querySelectorAll: function () { return []; }};
  return Object.assign(made, extra || {});
}
var message = box(), failure = box(), result = box();
var bookButton = node(), moveButton = node(), cancelButton = node();
var form = node({elements: {patient_id: node({value: "5"}), doctor_id: node({value: "2"}),
                            starts_at: node({value: "2030-03-02T06:00:00Z"}),
                            comment: node(), notify_email: node(), service_id: node()},
                 reset: function () {},
                 querySelector: function (s) {
                   return s === "[data-earliest]" ? node() : bookButton;
                 }});
var dialogForm = node({elements: {day: node({value: "2030-03-02"}), doctor_id: node({value: "2"}),
                                  starts_at: node({value: "2030-03-02T07:00:00Z"}),
                                  reason: node({value: "asked"})},
                       querySelector: function (s) {
                         return s.indexOf("submit") >= 0 ? moveButton : box();
                       }});
var cancelForm = node({elements: {reason: node({value: "asked"}), by: node({value: "patient"})},
                       reset: function () {},
                       querySelector: function (s) {
                         return s.indexOf("submit") >= 0 ? cancelButton : box();
                       }});
var dialog = node({showModal: function () {}, close: function () {},
  querySelector: function (s) {
    return {"[data-result]": result, "[data-visit]": box(), "[data-progress]": node(),
            "[data-close]": node()}[s];
  }});
var elements = {"calendar-message": message, "calendar-error": failure, "booking-form": form,
                "reschedule-dialog": dialog, "reschedule-form": dialogForm,
                "cancel-visit-form": cancelForm, "booking-slot": node()};
document.getElementById = function (id) { return elements[id] || null; };
window.document = document;
var list = {appendChild: function (item) { drawn.push(item); }};
document.querySelectorAll = function () {
  return [{getAttribute: function () { return "2"; }, querySelector: function () { return list; }}];
};
window.ClinicQueue = {
  config: function () {
    return {texts: {booked: "booked", cancelled: "cancelled", conflicts: {}, invalid: {},
                    statuses: {}, network: "no network", moving: "moving"}, reasonMax: 500,
            day: "2030-03-02", doctorId: 2, channel: "visits_doctor:2", doctors: [],
            timezone: "Asia/Tashkent"};
  },
  fill: function (t) { return String(t); },
  element: function (tag) { var made = node(); made.tag = tag; made.children = [];
    made.appendChild = function (c) { made.children.push(c); }; return made; },
  problem: function () { return "failed"; },
  api: function (method, url) {
    if (method === "GET") {
      var visits = url.indexOf("/visits?") >= 0 ? [VISIT] : [];
      return Promise.resolve({status: 200, body: visits});
    }
    posted.push(url.replace(/^\\/api\\/v1\\/visits/, ""));
    return new Promise(function (resolve, reject) { waiting.push(resolve); });
  },
};
window.ClinicSocket = {subscribe: function () { return {unsubscribe: function () {}}; }};
""".replace("VISIT", json.dumps(VISIT))


REFUSED = {"status": 409, "body": {"code": "status_changed", "detail": "the visit changed"}}


def _pressed_twice(press: str, answer: dict) -> dict:
    """``press`` (a JavaScript statement) twice before the API answers, then ``answer`` to
    the first request and a refusal (the visit changed meanwhile) to any other: what was
    posted, and what the page and the dialog say."""
    program = PAGE + SCRIPT + f"""
(async function () {{
  var tick = function () {{ return new Promise(function (r) {{ setImmediate(r); }}); }};
  for (var t = 0; t < 3; t++) await tick();
  var slot = drawn.map(function (item) {{ return item.children[0]; }})
    .filter(function (n) {{ return n.attrs["data-visit"]; }})[0];
  slot.listeners.click();
  // Typed in the dialog just opened, for the move and for the cancellation.
  dialogForm.elements.reason.value = "asked";
  cancelForm.elements.reason.value = "asked";
  {press};
  {press};
  waiting.forEach(function (resolve, i) {{
    resolve(i ? {json.dumps(REFUSED)} : {json.dumps(answer)});
  }});
  for (var t = 0; t < 5; t++) await tick();
  process.stdout.write(JSON.stringify({{posted: posted, message: message.textContent,
    failure: failure.textContent, result: result.textContent,
    enabled: [bookButton, moveButton, cancelButton].every(function (b) {{ return !b.disabled; }})
  }}));
}})();
"""
    return run(program)


def _submit(name: str) -> str:
    return f"{name}.listeners.submit({{preventDefault: function () {{}}, target: {name}}})"


def test_a_booking_pressed_twice_books_once_and_says_booked():
    done = _pressed_twice(_submit("form"), {"status": 201, "body": {**VISIT, "id": 10}})
    assert done["posted"] == [""]
    assert (done["message"], done["failure"], done["enabled"]) == ("booked", "", True)


def test_a_cancellation_pressed_twice_cancels_once_and_says_cancelled():
    done = _pressed_twice(_submit("cancelForm"), {"status": 200, "body": VISIT})
    assert done["posted"] == ["/9/cancel"]
    assert (done["result"], done["enabled"]) == ("cancelled", True)


def test_a_move_pressed_twice_is_asked_once():
    job = {"id": "j1", "channel": "job:j1", "status": "queued", "progress": 0}
    done = _pressed_twice(_submit("dialogForm"), {"status": 202, "body": job})
    assert done["posted"] == ["/9/reschedule"]
    assert done["enabled"] is True
