"""The doctor's screen calls without naming a room, so that the server sends the patient where
the doctor works at that moment: his queue's room or his own changed by an administrator
since the page was loaded, or his hours in another room now, his calls are not refused as
naming a room no longer his. The room the screen shows patients of ("With you now", and
whether the room is busy) follows what the server says: each call's answer, and the page
loaded again when the queues change. Run by the Node.js that comes with Playwright, with the
page's elements stood in for (no browser, well under a second)."""

from __future__ import annotations

import json

from tests.web.page_scripts import doctor_document, run, script

SCRIPT = script("queue.js") + script("doctor.js")


def _ticket(number: int, status: str = "waiting", room_id: int | None = None) -> dict:
    return {
        "id": number,
        "code": f"T-{number:03d}",
        "status": status,
        "priority": "normal",
        "queued_at": f"2026-12-06T04:{number:02d}:00Z",
        "called_at": "2026-12-06T05:00:00Z" if room_id is not None else None,
        "room_id": room_id,
        "room": str(room_id) if room_id is not None else None,
    }


# The page loaded with room 3 as where its calls go; the server's answers, and the page as
# the server draws it again (``drawn``), are held until the program lets them go.
PAGE = (
    """
var window = globalThis, posted = [], answers = [], handlers = {}, drawn = null;
function el(tag) {
  var e = {tagName: String(tag || "div").toUpperCase(), children: [], attrs: {}, listeners: {},
           hidden: false, disabled: false, own: "", options: []};
  Object.defineProperty(e, "textContent", {
    get: function () { return e.own; },
    set: function (v) { e.own = String(v); e.children = []; }});
  e.appendChild = function (c) {
    if (e.children.indexOf(c) < 0) e.children.push(c);
    return c;
  };
  e.setAttribute = function (k, v) { e.attrs[k] = String(v); };
  e.getAttribute = function (k) { return e.attrs[k]; };
  e.addEventListener = function (t, f) { e.listeners[t] = f; };
  e.querySelector = function () { return el(); };
  e.querySelectorAll = function () { return []; };
  e.cloneNode = function () { return el(); };
  e.remove = function () {};
  return e;
}
"""
    + doctor_document(doctorId=5)
    + """["current-template", "postponed-template", "no-show-template"].forEach(function (id) {
  ids[id] = {content: {firstElementChild: el()}};
});
window.document = doc;
var document = doc;
window.location = {href: "/queue/doctor?queue=1"};
window.fetch = function (url, options) {
  if (!options.method) {  // the page itself, loaded again
    return Promise.resolve({ok: true, text: function () { return Promise.resolve("page"); }});
  }
  posted.push({url: url, body: JSON.parse(options.body)});
  return new Promise(function (resolve) { answers.push(resolve); });
};
window.DOMParser = function () {
  this.parseFromString = function () {
    return {
      getElementById: function (id) {
        return id === "doctor-config" ? {textContent: JSON.stringify(drawn)} : null;
      },
      querySelector: function () { return null; },
    };
  };
};
window.ClinicSocket = {subscribe: function (channel, h) { handlers[channel] = h; }};
function answer(status, body) {
  answers.shift()({status: status,
                   text: function () { return Promise.resolve(JSON.stringify(body)); }});
}
function settle() {
  var tick = function () { return new Promise(function (r) { setImmediate(r); }); };
  return [1, 2, 3, 4, 5, 6].reduce(function (p) { return p.then(tick); }, Promise.resolve());
}
function withHim() {
  return ids["current"].children.map(function (c) { return Number(c.attrs["data-ticket-id"]); });
}
function screen() {
  return {withHim: withHim(), nobodyWithHim: !ids["current-empty"].hidden,
          callNext: !ids["call-next"].disabled, busy: !ids["room-busy"].hidden};
}
"""
)


def _snapshot(tickets: list[dict]) -> str:
    return json.dumps({"day": "2026-12-06", "waiting": 2, "counts": {}, "tickets": tickets})


def test_call_next_names_no_room_and_the_screen_follows_the_room_it_answers():
    """The room was changed since the page was loaded (room 7 now): "Call next" names no
    room, and the patient the server called into room 7 is with the doctor on the screen,
    which holds "Call next" until he is done."""
    tickets = [_ticket(1), _ticket(2)]
    called = {**_ticket(1, "called", 7), "waiting": 1}
    program = PAGE + SCRIPT + f"""
(async function () {{
  handlers["queue:1"].onSnapshot({_snapshot(tickets)});
  ids["call-next"].listeners.click();
  answer(200, {json.dumps(called)});
  await settle();
  process.stdout.write(JSON.stringify({{posted: posted, screen: screen()}}));
}})();
"""
    assert run(program) == {
        "posted": [{"url": "/api/v1/queues/1/call-next", "body": {}}],
        "screen": {"withHim": [1], "nobodyWithHim": False, "callNext": False, "busy": True},
    }


def test_call_back_names_no_room_and_the_screen_follows_the_room_it_answers():
    tickets = [_ticket(1), {**_ticket(4), "status": "postponed"}]
    called = {**_ticket(4, "called", 9), "waiting": 1}
    program = PAGE + SCRIPT + f"""
(async function () {{
  handlers["queue:1"].onSnapshot({_snapshot(tickets)});
  var card = {{getAttribute: function () {{ return "4"; }}, querySelector: function () {{
    return el(); }}}};
  var button = {{getAttribute: function () {{ return "call-back"; }},
                closest: function () {{ return card; }}}};
  ids["doctor"].listeners.click({{target: {{closest: function () {{ return button; }}}}}});
  answer(200, {json.dumps(called)});
  await settle();
  handlers["queue:1"].onEvent({{type: "ticket.called", data: {json.dumps(called)}}});
  process.stdout.write(JSON.stringify({{posted: posted, screen: screen()}}));
}})();
"""
    assert run(program) == {
        "posted": [{"url": "/api/v1/tickets/4/call-back", "body": {}}],
        "screen": {"withHim": [4], "nobodyWithHim": False, "callNext": False, "busy": True},
    }


def test_the_queues_room_changed_the_screen_shows_the_patients_of_the_new_room():
    """The queue's room was changed (room 3 to room 7) while a colleague's screen or the
    desk called a patient into room 7: told of the change, the screen loads its page again
    and shows the patients of the room its calls go to now; a page drawn for another queue
    (the doctor has several) leaves it as it is."""
    tickets = [_ticket(1, "called", 7), _ticket(2)]
    program = PAGE + SCRIPT + f"""
(async function () {{
  handlers["queue:1"].onSnapshot({_snapshot(tickets)});
  var before = screen();
  drawn = {{queue: 2, roomId: 8, queueNames: {{}}}};
  handlers["queues:all"].onEvent({{type: "queue.changed", data: {{queue_id: 2}}}});
  await settle();
  var otherQueue = screen();
  drawn = {{queue: 1, roomId: 7, queueNames: {{}}}};
  handlers["queues:all"].onEvent({{type: "queue.changed", data: {{queue_id: 1}}}});
  await settle();
  process.stdout.write(JSON.stringify({{before: before, otherQueue: otherQueue,
                                        after: screen()}}));
}})();
"""
    nobody = {"withHim": [], "nobodyWithHim": True, "callNext": True, "busy": False}
    assert run(program) == {
        "before": nobody,
        "otherQueue": nobody,
        "after": {"withHim": [1], "nobodyWithHim": False, "callNext": False, "busy": True},
    }
