"""ClinicSocket (web/static/js/clinic-ws.js) against a stand-in WebSocket: what it keeps and
what it gives up when the server closes. Run by Playwright's Node.js, no browser."""

from __future__ import annotations

import json

from tests.web.page_scripts import run, script

SCRIPT = script("clinic-ws.js")

PAGE = """
var window = globalThis, sockets = [], timers = [], delays = [], errors = [], now = 1000;
Date.now = function () { return now; };
Math.random = function () { return 0; };
function FakeSocket(url) {
  this.url = url; this.readyState = 0; this.sent = []; sockets.push(this);
}
FakeSocket.prototype.send = function (text) { this.sent.push(JSON.parse(text)); };
FakeSocket.prototype.close = function () {};
window.WebSocket = FakeSocket;
window.location = { protocol: "http:", host: "clinic" };
window.sessionStorage = { getItem: function () { return null; }, setItem: function () {},
  removeItem: function () {} };
window.setTimeout = function (fn, delay) { timers.push(fn); delays.push(delay); return 1; };
window.clearTimeout = function () {};
window.setInterval = function () { return 1; };
window.clearInterval = function () {};
window.addEventListener = function () {};
function opened(ws) {
  ws.readyState = 1;
  ws.onopen();
  ws.onmessage({ data: JSON.stringify({ op: "hello", heartbeat: 25 }) });
}
"""


def _after_close(code: int, reason: str) -> dict:
    """The page follows ``queue:1``; the server closes with ``code`` and ``reason`` before
    answering its subscription; the client reconnects. What the page was told, and what the
    new socket asked for."""
    program = PAGE + SCRIPT + """
ClinicSocket.subscribe("queue:1", { onError: function (reason) { errors.push(reason); } });
opened(sockets[0]);
sockets[0].onclose({ code: %d, reason: %s });
timers.shift()();
opened(sockets[1]);
process.stdout.write(JSON.stringify({ errors: errors, asked: sockets[1].sent }));
""" % (code, json.dumps(reason))
    return run(program)


def test_a_socket_closed_for_its_credentials_keeps_every_channel_for_the_next_socket():
    """``access revoked`` (signed out, a password changed) blames no channel: once the user
    signs in again the page's channels all come back, none left frozen."""
    for reason in ("access revoked", "credentials required", "too many messages"):
        after = _after_close(1008, reason)
        assert after["errors"] == [], reason
        assert after["asked"] == [{"op": "subscribe", "channel": "queue:1"}], reason


def test_a_refused_channel_is_given_up():
    after = _after_close(1008, "channel not allowed")
    assert after["errors"] == ["not allowed"]
    assert after["asked"] == []


def test_a_server_that_stays_away_is_retried_less_and_less_often():
    """The page was live for a minute, then the server went away: every failed attempt
    doubles the wait, rather than every screen of the clinic retrying twice a second."""
    program = PAGE + SCRIPT + """
ClinicSocket.subscribe("queue:1", {});
opened(sockets[0]);
now += 60000;
sockets[0].onclose({ code: 1006, reason: "" });
for (var i = 1; i <= 3; i++) {
  now += delays[delays.length - 1];
  timers.shift()();
  sockets[i].onclose({ code: 1006, reason: "" });  // refused: it never opened
}
process.stdout.write(JSON.stringify(delays));
"""
    assert run(program) == [500, 1000, 2000, 4000]


def test_a_channel_left_before_its_answer_does_not_take_the_blame_for_the_next_refusal():
    """The page leaves ``queue:1`` before the server answered it, and ``queue:2`` is refused
    (too many channels). The server answers in order, but not a subscription left before it
    started: left at once, ``queue:1`` would take the blame and ``queue:2`` wait for ever."""
    program = PAGE + SCRIPT + """
var two = [];
ClinicSocket.subscribe("queue:1", {});
ClinicSocket.subscribe("queue:2", { onError: function (reason) { two.push(reason); } });
var ws = sockets[0];
opened(ws);
ClinicSocket.unsubscribe("queue:1");
function answer(message) { ws.onmessage({ data: JSON.stringify(message) }); }
if (!ws.sent.some(function (m) { return m.op === "unsubscribe"; })) {
  answer({ op: "snapshot", channel: "queue:1", last_id: 0, data: null });
  answer({ op: "subscribed", channel: "queue:1", last_id: 0 });
}
answer({ op: "error", code: "too_many_channels", detail: "at most 200 channels a socket" });
process.stdout.write(JSON.stringify({ two: two, last: ws.sent[ws.sent.length - 1] }));
"""
    after = run(program)
    assert after["two"] == ["too_many_channels: at most 200 channels a socket"]
    assert after["last"] == {"op": "unsubscribe", "channel": "queue:1"}


def test_a_handshake_that_never_completes_is_given_up_and_tried_again():
    """The server's host took the connection but never answers the handshake (its worker's
    connection slots all taken, a proxy waiting on a server gone): the socket stays
    "connecting" with no close and no error. Browsers wait minutes for it (Chromium four),
    with the board showing "reconnecting" long after the server is back; the page gives it
    up after a heartbeat period and tries a new socket."""
    program = PAGE + SCRIPT + """
var intervals = [];
window.setInterval = function (fn) { intervals.push(fn); return intervals.length; };
window.clearInterval = function (id) { intervals[id - 1] = null; };
function tick(ms) {
  now += ms;
  intervals.slice().forEach(function (fn) { if (fn) fn(); });
}
ClinicSocket.subscribe("queue:1", {});
tick(10000);
var early = { sockets: sockets.length, timers: timers.length };
tick(20000);  // 30 s without an answer to the handshake
var given_up = timers.length;
if (given_up) timers.shift()();
if (sockets.length > 1) opened(sockets[1]);
tick(10000);  // an open socket within its heartbeat is kept
process.stdout.write(JSON.stringify({
  early: early, given_up: given_up, sockets: sockets.length,
  asked: sockets.length > 1 ? sockets[1].sent : [], status: ClinicSocket.status(),
}));
"""
    after = run(program)
    assert after["early"] == {"sockets": 1, "timers": 0}
    assert after["given_up"] == 1
    assert after["sockets"] == 2
    assert after["asked"] == [{"op": "subscribe", "channel": "queue:1"}]
    assert after["status"] == "live"


# The page is hidden, then looked at again: a phone unlocked, a tab brought to the front.
LOOKED_AT = """
var shown = {}, timeouts = [];
window.document = { visibilityState: "hidden", querySelector: function () { return null; },
  addEventListener: function (name, fn) { shown[name] = fn; } };
function lookAgain() { window.document.visibilityState = "visible"; shown.visibilitychange(); }
"""


def _looked_at_again(after_probe: str) -> dict:
    """The page follows ``queue:1`` over an open socket and is looked at again; then
    ``after_probe`` runs, and what became of the socket is told."""
    program = PAGE + LOOKED_AT + SCRIPT + """
window.setTimeout = function (fn, delay) { timeouts.push({ fn: fn, delay: delay }); return 1; };
ClinicSocket.subscribe("queue:1", {});
var ws = sockets[0];
opened(ws);
ws.onmessage({ data: JSON.stringify({ op: "subscribed", channel: "queue:1", last_id: 0 }) });
now += 60000;
lookAgain();
var asked = ws.sent[ws.sent.length - 1], waits = timeouts.map(function (t) { return t.delay; });
%s
timeouts.splice(0).forEach(function (t) { now += t.delay; t.fn(); });
process.stdout.write(JSON.stringify({ asked: asked, waits: waits, sockets: sockets.length,
  status: ClinicSocket.status() }));
""" % after_probe
    return run(program)


def test_a_socket_that_slept_with_the_phone_is_asked_at_once_and_replaced_when_silent():
    """A socket that slept with the phone is often dead without knowing it: looked at again,
    the page asks at once and, with no answer within five seconds, opens a new one, rather
    than showing a stale place until the next heartbeat finds out."""
    after = _looked_at_again("")
    assert after["asked"] == {"op": "ping"}
    assert after["waits"] == [5000]
    assert after["status"] == "reconnecting"
    assert after["sockets"] == 1  # the new one follows after its backoff


def test_a_socket_that_answers_when_the_page_is_looked_at_again_is_kept():
    after = _looked_at_again('now += 200; ws.onmessage({ data: JSON.stringify({ op: "pong" }) });')
    assert after["asked"] == {"op": "ping"}
    assert after["status"] == "live"


def test_a_reconnect_waiting_for_its_turn_goes_at_once_when_the_page_is_looked_at_again():
    program = PAGE + LOOKED_AT + SCRIPT + """
ClinicSocket.subscribe("queue:1", {});
opened(sockets[0]);
sockets[0].onclose({ code: 1006, reason: "" });
var before = sockets.length;
lookAgain();
process.stdout.write(JSON.stringify({ before: before, after: sockets.length }));
"""
    assert run(program) == {"before": 1, "after": 2}
