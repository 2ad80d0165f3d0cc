"""A staff page whose session ended (timed out, signed out at another tab, the password
changed) is told so by its live indicator, with the way to sign in again, instead of saying
"Reconnecting…" for ever over a list that no longer changes. Run by Playwright's Node.js
with a stand-in WebSocket and page, no browser."""

from __future__ import annotations

import json

from tests.web.page_scripts import run, script
from tests.web.test_socket_script import PAGE

SCRIPT = script("clinic-ws.js")


def _statuses(closes: list[tuple[int, str]], *, query: str | None = None) -> list[str]:
    """The statuses a page following ``queue:1`` goes through when each socket it opens is
    closed as ``closes`` say (the first once live), the last one then let in (its ``hello``);
    ``query``: a page opened with credentials of its own (a patient's ticket, a board's
    token)."""
    holder = (
        "null"
        if query is None
        else "{getAttribute: function () { return %s; }}" % json.dumps(query)
    )
    program = (
        PAGE
        + "window.document = {querySelector: function () { return %s; }};\n" % holder
        + SCRIPT
        + """
var seen = [];
ClinicSocket.onStatus(function (status) { seen.push(status); });
ClinicSocket.subscribe("queue:1", {});
var closes = %s;
closes.forEach(function (close, i) {
  // Live at first; the server closes the next ones before its hello.
  if (i === 0) opened(sockets[i]);
  else { sockets[i].readyState = 1; sockets[i].onopen(); }
  sockets[i].onclose({ code: close[0], reason: close[1] });
  timers.shift()();
});
opened(sockets[closes.length]);
process.stdout.write(JSON.stringify(seen));
""" % json.dumps(closes)
    )
    return run(program)


def test_a_socket_closed_for_its_credentials_says_the_user_is_signed_out_until_let_in():
    for reason in ("credentials required", "access revoked"):
        closes = [(1008, reason), (1008, "credentials required")]
        assert _statuses(closes) == ["connecting", "live", "signedout", "live"], reason


def test_a_network_break_or_a_page_with_its_own_credentials_is_reconnecting():
    assert _statuses([(1006, "")]) == ["connecting", "live", "reconnecting", "live"]
    closes = [(1008, "credentials required")]
    assert _statuses(closes, query="ticket=abc") == ["connecting", "live", "reconnecting", "live"]


def test_the_indicator_of_a_signed_out_page_links_to_signing_in_again():
    program = (
        """
var window = globalThis, made = [];
function node(tag) {
  var n = {tag: tag, attrs: {}, children: [], hidden: true, textContent: "",
    setAttribute: function (k, v) { n.attrs[k] = v; },
    getAttribute: function (k) { return n.attrs[k]; },
    appendChild: function (c) { n.children.push(c); return c; }};
  return n;
}
var indicator = node("span");
indicator.attrs["data-label-signedout"] = "Signed out: sign in again";
var document = {querySelector: function () { return indicator; },
                createElement: function (tag) { return node(tag); },
                getElementById: function () { return null; }};
window.document = document;
window.location = {href: "http://clinic/queue/desk"};
var listener = null;
window.ClinicSocket = {onStatus: function (fn) { listener = fn; }};
"""
        + script("layout.js")
        + """
listener("signedout");
process.stdout.write(JSON.stringify({hidden: indicator.hidden, state: indicator.attrs["data-state"],
  links: indicator.children.map(function (c) { return [c.tag, c.href, c.textContent]; })}));
"""
    )
    shown = run(program)
    assert shown == {
        "hidden": False,
        "state": "signedout",
        "links": [["a", "http://clinic/queue/desk", "Signed out: sign in again"]],
    }
