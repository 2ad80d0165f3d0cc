"""The doctor's "Call next" waits for its answer even when the queue's channel redraws the
screen meanwhile (a ticket issued at the desk): pressed again before the called patient is
on the screen, it would be refused as a room still busy "from another of your queues". Run
by the Node.js that comes with Playwright, with the page's elements stood in for (no
browser, well under a second)."""

from __future__ import annotations

import json

from tests.web.page_scripts import doctor_document, run, script

SCRIPT = script("queue.js") + script("doctor.js")


def _ticket(number: int) -> dict:
    return {
        "id": number,
        "code": f"T-{number:03d}",
        "status": "waiting",
        "priority": "normal",
        "queued_at": f"2026-12-06T04:{number:02d}:00Z",
        "room_id": None,
    }


_ELEMENTS = """
var window = globalThis, posted = [], answers = [], handlers = null;
function el(tag) {
  var e = {tagName: String(tag || "div").toUpperCase(), children: [], attrs: {}, listeners: {},
           hidden: false, disabled: false, own: ""};
  Object.defineProperty(e, "textContent", {
    get: function () { return e.own; },
    set: function (v) { e.own = String(v); e.children = []; }});
  e.appendChild = function (c) { e.children.push(c); return c; };
  e.setAttribute = function (k, v) { e.attrs[k] = String(v); };
  e.getAttribute = function (k) { return e.attrs[k]; };
  e.addEventListener = function (t, f) { e.listeners[t] = f; };
  e.querySelector = function () { return el(); };
  e.querySelectorAll = function () { return []; };
  return e;
}
"""
_REST = """
window.document = doc;
var document = doc;
window.fetch = function (url, options) {
  posted.push(url);
  return new Promise(function (resolve) { answers.push(resolve); });
};
// The queue's own channel (the screen also follows queues:all for its transfer list).
window.ClinicSocket = {subscribe: function (channel, h) {
  if (channel !== "queues:all") handlers = h;
}};
"""


def _page(**config) -> str:
    """The page stood in for, the screen's config as :func:`doctor_document` makes it."""
    return _ELEMENTS + doctor_document(**config) + _REST


PAGE = _page()


def test_call_next_waits_for_its_answer_through_a_redraw():
    waiting = [_ticket(1), _ticket(2)]
    issued = {"type": "ticket.created", "data": {**_ticket(3), "waiting": 3}}
    program = PAGE + SCRIPT + f"""
(async function () {{
  var tick = function () {{ return new Promise(function (r) {{ setImmediate(r); }}); }};
  var callNext = ids["call-next"];
  handlers.onSnapshot({{day: "2026-12-06", waiting: 2, counts: {{waiting: 2}},
                        tickets: {json.dumps(waiting)}}});
  callNext.listeners.click();
  handlers.onEvent({json.dumps(issued)});
  var busy = callNext.disabled;
  if (!callNext.disabled) callNext.listeners.click();
  process.stdout.write(JSON.stringify({{posted: posted.length, busy: busy}}));
}})();
"""
    assert run(program) == {"posted": 1, "busy": True}


def test_the_patient_called_holds_the_room_as_soon_as_the_answer_says_so():
    """The answer to "Call next" names the patient called to the room: until the channel's
    event comes, the button is not offered again (it would be refused as a room busy "from
    another of your queues"), and the patient is on the screen."""
    waiting = [_ticket(1), _ticket(2)]
    called = {**_ticket(1), "status": "called", "room_id": 3, "room": "12",
              "called_at": "2026-12-06T05:00:00Z"}  # fmt: skip
    program = (
        PAGE.replace("e.querySelectorAll = function () { return []; };",
                     "e.querySelectorAll = function () { return []; };\n"
                     "  e.cloneNode = function () { return el(); };\n"
                     "  e.options = [];\n"
                     "  e.remove = function () {};")  # fmt: skip
        + SCRIPT
        + f"""
ids["current-template"].content = {{firstElementChild: el()}};
(async function () {{
  var tick = function () {{ return new Promise(function (r) {{ setImmediate(r); }}); }};
  var callNext = ids["call-next"];
  handlers.onSnapshot({{day: "2026-12-06", waiting: 2, counts: {{waiting: 2}},
                        tickets: {json.dumps(waiting)}}});
  callNext.listeners.click();
  var body = {json.dumps(called)};
  answers.shift()({{status: 200,
                   text: function () {{ return Promise.resolve(JSON.stringify(body)); }}}});
  for (var t = 0; t < 5; t++) await tick();
  process.stdout.write(JSON.stringify({{disabled: callNext.disabled,
                                        busy: !ids["room-busy"].hidden}}));
}})();
"""
    )
    assert run(program) == {"disabled": True, "busy": True}


def test_the_screens_list_the_waiting_by_priority_and_mark_the_privileged():
    """Urgent, returned, privileged, then the walk-ins, whatever came first; a privileged
    patient's line says so, as an urgent or a returned one's does."""
    priorities = ["normal", "privileged", "returned", "urgent", "privileged"]
    waiting = [{**_ticket(n + 1), "priority": p} for n, p in enumerate(priorities)]
    program = PAGE + script("queue.js") + f"""
var Q = window.ClinicQueue, book = new Q.TicketBook();
book.reset({{day: "2026-12-06", counts: {{waiting: 5}}, tickets: {json.dumps(waiting)}}});
var texts = {{statuses: {{}}, urgent: "U", returned: "R", privileged: "P"}};
var row = Q.ticketRow(book.list(["waiting"])[3], texts);
process.stdout.write(JSON.stringify({{
  order: book.list(["waiting"]).map(function (t) {{ return t.id; }}),
  badges: row.children.map(function (c) {{ return c.textContent; }}),
}}));
"""
    assert run(program) == {"order": [4, 3, 2, 5, 1], "badges": ["T-005", "waiting", "P"]}


def test_the_line_names_each_colleagues_booked_patient_and_call_next_says_why_nobody():
    """Two patients checked in for a colleague's visits wait, one for this doctor himself:
    each row names the doctor it waits for, and "Call next" answered with nobody says that
    two wait for their own doctors (not that nobody waits)."""
    karimov = {"reserved_for": "Каримов А.", "reserved_for_id": 8}
    waiting = [{**_ticket(1), **karimov}, {**_ticket(2), **karimov},
               {**_ticket(3), "reserved_for": "Я", "reserved_for_id": 5}]  # fmt: skip
    page = _page(
        doctorId=5,
        texts={
            "forDoctor": "for Dr {doctor}",
            "waitForOwnDoctors": "{count} wait for their own doctors",
        },
    )
    program = page + SCRIPT + f"""
(async function () {{
  var tick = function () {{ return new Promise(function (r) {{ setImmediate(r); }}); }};
  handlers.onSnapshot({{day: "2026-12-06", waiting: 3, counts: {{waiting: 3}},
                        tickets: {json.dumps(waiting)}}});
  ids["call-next"].listeners.click();
  answers.shift()({{status: 204, text: function () {{ return Promise.resolve(""); }}}});
  for (var t = 0; t < 5; t++) await tick();
  process.stdout.write(JSON.stringify({{
    rows: ids["waiting-list"].children.map(function (row) {{
      return row.children.map(function (c) {{ return c.textContent; }}).slice(2);
    }}),
    said: ids["doctor-message"].textContent,
  }}));
}})();
"""
    assert run(program) == {
        "rows": [["for Dr Каримов А."], ["for Dr Каримов А."], ["for Dr Я"]],
        "said": "2 wait for their own doctors",
    }
