"""A staff page's API call refused by the CSRF check (its session was begun anew since the
page was loaded: signed in again in another tab after the old session ended) asks the
session's token and is sent once more, instead of saying "The action failed: The CSRF
tokens do not match." in English. The refusal did nothing, so nothing is done twice. The
pages' calls (queue.js) run by the Node.js that comes with Playwright; the server's side
of it on the application itself."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ONE_BACKEND
from tests.web.page_scripts import run, script

PAGE = """
var window = globalThis, sent = [];
var meta = {content: "old", getAttribute: function () { return meta.content; },
            setAttribute: function (k, v) { meta.content = v; }};
window.document = {querySelector: function () { return meta; },
                   getElementById: function () { return null; }};
function reply(status, body) {
  return Promise.resolve({status: status, json: function () { return Promise.resolve(body); },
                          text: function () { return Promise.resolve(JSON.stringify(body)); }});
}
window.fetch = function (url, options) {
  options = options || {};
  sent.push([options.method || "GET", url, (options.headers || {})["X-CSRFToken"] || null]);
  return Promise.resolve(ANSWERS.shift());
};
"""

CSRF = [400, {"status": 400, "title": "Bad Request", "detail": "The CSRF tokens do not match."}]


def _call(answers: list) -> dict:
    program = (
        PAGE.replace("Promise.resolve(ANSWERS.shift())", "reply.apply(null, ANSWERS.shift())")
        + f"var ANSWERS = {json.dumps(answers)};\n"
        + script("queue.js")
        + """
ClinicQueue.api("POST", "/api/v1/queues/1/tickets", {source: "desk"}).then(function (answer) {
  process.stdout.write(JSON.stringify({status: answer.status, sent: sent}));
});
"""
    )
    return run(program)


def test_a_call_refused_for_a_stale_token_is_sent_again_with_the_sessions_token():
    done = _call([CSRF, [200, {"csrf_token": "new"}], [201, {"id": 12}]])
    assert done == {
        "status": 201,
        "sent": [
            ["POST", "/api/v1/queues/1/tickets", "old"],
            ["GET", "/api/v1/session/csrf", None],
            ["POST", "/api/v1/queues/1/tickets", "new"],
        ],
    }


def test_a_call_refused_again_is_not_sent_a_third_time():
    done = _call([CSRF, [200, {"csrf_token": "new"}], CSRF])
    assert done["status"] == 400 and len(done["sent"]) == 3
    other = [422, {"status": 422, "errors": {"comment": ["too long"]}}]
    assert _call([other])["sent"] == [["POST", "/api/v1/queues/1/tickets", "old"]]


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_the_sessions_token_is_what_a_page_asks_for_after_signing_in_again(client_as):
    """The server's side: a token of the session before is refused as the script expects
    (400, "CSRF" in its detail) and did nothing; the one /api/v1/session/csrf gives now is
    taken."""
    desk = client_as("cashier")
    old = desk.get("/api/v1/session/csrf").get_json()["csrf_token"]
    name = desk.username
    desk.delete("/api/v1/session")
    desk.sign_in(name)
    refused = desk.post(
        "/api/v1/payments/shifts", json={"opening_cash": 0}, headers={"X-CSRFToken": old}
    )
    assert refused.status_code == 400 and "CSRF" in refused.get_json()["detail"]
    assert desk.get("/api/v1/payments/shifts/current").get_json()["shift"] is None
    fresh = desk.get("/api/v1/session/csrf").get_json()["csrf_token"]
    taken = desk.post(
        "/api/v1/payments/shifts", json={"opening_cash": 0}, headers={"X-CSRFToken": fresh}
    )
    assert taken.status_code == 201, taken.get_json()
