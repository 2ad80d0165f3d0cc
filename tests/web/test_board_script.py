"""The display board's script across midnight: the board shows the clinic day it shows, as a
board opened afresh would. Run by the Node.js that comes with Playwright, with the page's
elements stood in for (no browser, well under a second)."""

from __future__ import annotations

import json

from tests.web.page_scripts import STAND_IN, run, script

PAGE = """
function node(tag) {
  var kept = { tag: tag, children: [], attrs: {} };
  kept.appendChild = function (child) { kept.children.push(child); };
  kept.setAttribute = function (name, value) { kept.attrs[name] = String(value); };
  kept.getAttribute = function (name) { return kept.attrs[name]; };
  kept.addEventListener = function () {};
  Object.defineProperty(kept, "textContent", {
    get: function () { return kept.text || ""; },
    set: function (value) { kept.text = String(value); if (value === "") kept.children = []; },
  });
  return kept;
}
var elements = {};
var document = standIn();
document.getElementById = function (id) { return elements[id] || (elements[id] = node(id)); };
document.createElement = node;
var waitingCell = node("strong");
document.querySelector = function () { return waitingCell; };
var channels = {};
window.ClinicSocket = {
  subscribe: function (channel, handlers) { channels[channel] = handlers; },
  onStatus: function () {},
};
window.setTimeout = function () {};
window.setInterval = function () {};
window.speechSynthesis = undefined;
window.AudioContext = undefined;
"""

CONFIG = {"board": 1, "queues": [{"id": 2, "name": "Cardiology", "room": "12"}], "voice": [],
          "speech": {}, "chime": False, "timezone": "Asia/Tashkent", "checkUrl": "/check",
          "version": "v"}  # fmt: skip


def _board_after(snapshot: dict, events: list[dict]) -> dict:
    """The codes the board shows calling now and among the last calls, and how many it says
    wait, after the snapshot of queue 2 and then ``events`` on its channel."""
    program = (
        STAND_IN
        + PAGE
        + script("queue.js")
        + f"\nwindow.ClinicQueue.config = function () {{ return {json.dumps(CONFIG)}; }};\n"
        + script("board.js")
        + f"\nchannels['board:2'].onSnapshot({json.dumps(snapshot)});"
        + f"\n{json.dumps(events)}.forEach(channels['board:2'].onEvent);"
        + """
function codes(id) {
  return elements[id].children.map(function (row) { return row.attrs["data-code"]; });
}
process.stdout.write(JSON.stringify({
  calling: codes("board-calling"), recent: codes("board-recent"), waiting: waitingCell.text,
}));
"""
    )
    return run(program)


def _view(ticket_id: int, code: str, status: str, called_at: str | None) -> dict:
    return {"ticket_id": ticket_id, "code": code, "queue_id": 2, "room": "12", "status": status,
            "recalls": 0, "called_at": called_at}  # fmt: skip


def _event(type_: str, view: dict, day: str, waiting: int) -> dict:
    return {"type": type_, "channel": "board:2", "data": {**view, "day": day, "waiting": waiting}}


EVENING, NIGHT = "2026-03-01T18:40:00+00:00", "2026-03-01T19:05:00+00:00"  # 23:40, 00:05 local
YESTERDAY = {"queue_id": 2, "day": "2026-03-01", "waiting": 1,
             "calling": [_view(41, "K-041", "called", EVENING)],
             "last_calls": [_view(41, "K-041", "called", EVENING),
                            _view(40, "K-040", "served", "2026-03-01T18:20:00+00:00")]}  # fmt: skip


def test_the_new_days_first_call_takes_the_day_befores_calls_off_the_board():
    """Past midnight in Tashkent the new day's first patient is called while the day before
    is still open (its last patient with his doctor): the board shows the new day's call and
    count, as it would if opened now, not yesterday's calls beside it."""
    new_call = _view(1, "K-001", "called", NIGHT)
    after = _board_after(YESTERDAY, [_event("ticket.called", new_call, "2026-03-02", 2)])
    assert after == {"calling": ["K-001"], "recent": [], "waiting": "2"}


def test_the_day_before_closing_after_midnight_does_not_come_back_on_the_new_days_board():
    """The day before closes after the new day's call: its patient with the doctor becomes a
    no-show of that day, which the board of the new day does not list among its calls."""
    new_call = _view(1, "K-001", "called", NIGHT)
    events = [
        _event("ticket.called", new_call, "2026-03-02", 2),
        _event("ticket.served", _view(41, "K-041", "served", EVENING), "2026-03-01", 0),
        _event("ticket.day_closed", _view(42, "K-042", "no_show", None), "2026-03-01", 2),
    ]
    assert _board_after(YESTERDAY, events) == {"calling": ["K-001"], "recent": [], "waiting": "2"}
    # A board opened after midnight shows the new day from the start, and keeps showing it.
    today = {"queue_id": 2, "day": "2026-03-02", "waiting": 2, "calling": [new_call],
             "last_calls": [new_call]}  # fmt: skip
    assert _board_after(today, events[1:]) == {"calling": ["K-001"], "recent": [], "waiting": "2"}


def test_a_board_follows_the_days_calls_as_before():
    served = _view(41, "K-041", "served", EVENING)
    after = _board_after(YESTERDAY, [_event("ticket.served", served, "2026-03-01", 1)])
    assert after == {"calling": [], "recent": ["K-041", "K-040"], "waiting": "1"}


def _board_told_of_a_change(version_now: str, event: str = "queue.changed") -> dict:
    """What the board does on ``event`` when the server draws its page as ``version_now``:
    the questions it asks, and whether it reloads."""
    program = (
        STAND_IN
        + PAGE
        + script("queue.js")
        + f"\nwindow.ClinicQueue.config = function () {{ return {json.dumps(CONFIG)}; }};\n"
        + f"var versionNow = {json.dumps(version_now)};\nvar EVENT = {json.dumps(event)};\n"
        + """
var asked = [], reloaded = 0;
window.location = {reload: function () { reloaded += 1; }, assign: function () {}};
window.fetch = function (url) {
  asked.push(url);
  var body = {credential: true, active: true, version: versionNow};
  var answer = {status: 200, ok: true, json: function () { return Promise.resolve(body); }};
  return Promise.resolve(answer);
};
"""
        + script("board.js")
        + """
channels["board:2"].onEvent({type: EVENT, channel: "board:2", data: {queue_id: 2}});
setImmediate(function () {
  process.stdout.write(JSON.stringify({asked: asked, reloaded: reloaded}));
});
"""
    )
    return run(program)


def test_a_board_told_its_queue_changed_reloads_only_when_its_page_is_out_of_date():
    """A queue renamed or moved to another room: the board asks at once whether the page it
    was drawn from is still the server's (its name and room are on it), and reloads if not."""
    assert _board_told_of_a_change("v2") == {"asked": ["/check"], "reloaded": 1}
    assert _board_told_of_a_change("v") == {"asked": ["/check"], "reloaded": 0}


def test_a_board_whose_queue_is_switched_on_again_asks_whether_its_page_is_out_of_date():
    """Switched on with another room, or changed while it was off (no ``queue.changed`` then):
    the board asks at once, as after a change, and reloads if its page is old."""
    assert _board_told_of_a_change("v2", "queue.switched_on") == {
        "asked": ["/check"],
        "reloaded": 1,
    }
    assert _board_told_of_a_change("v", "queue.switched_on") == {"asked": ["/check"], "reloaded": 0}


def _board_whose_socket_is_refused(check: dict) -> dict:
    """What the board shows and does when its socket is closed for its credential (the
    client says "signedout"), the board's check answering ``check``."""
    program = (
        STAND_IN
        + PAGE
        + script("queue.js")
        + f"\nwindow.ClinicQueue.config = function () {{ return {json.dumps(CONFIG)}; }};\n"
        + f"var check = {json.dumps(check)};\n"
        + """
var asked = [], reloaded = 0, sent = [], heard = null;
window.ClinicSocket.onStatus = function (listener) { heard = listener; };
window.location = {
  reload: function () { reloaded += 1; }, assign: function (url) { sent.push(url); },
};
window.fetch = function (url) {
  asked.push(url);
  var answer = {status: check.status, ok: check.status === 200,
                json: function () { return Promise.resolve(check.body); }};
  return Promise.resolve(answer);
};
"""
        + script("board.js")
        + """
heard("live");
heard("signedout");
var shown = elements["board"].attrs["data-connection"];
setImmediate(function () {
  process.stdout.write(JSON.stringify({shown: shown, asked: asked, sent: sent,
                                       reloaded: reloaded}));
});
"""
    )
    return run(program)


def test_a_board_whose_socket_is_refused_says_so_and_asks_at_once_where_to_go():
    """Revoked: to the pairing page; switched off: the page again, which says it is off. Not
    at the next five-minute round, and not with the last calls standing as if live."""
    revoked = {"status": 401, "body": {"credential": False, "pair_url": "/board/pair"}}
    assert _board_whose_socket_is_refused(revoked) == {
        "shown": "reconnecting", "asked": ["/check"], "sent": ["/board/pair"], "reloaded": 0
    }  # fmt: skip
    off = {"status": 200, "body": {"credential": True, "active": False, "version": ""}}
    assert _board_whose_socket_is_refused(off) == {
        "shown": "reconnecting", "asked": ["/check"], "sent": [], "reloaded": 1
    }  # fmt: skip
