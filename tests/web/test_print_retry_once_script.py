"""A desk's Retry of a failed print job is sent once a press: a second press while the first
is on its way would be refused ("already sent again") and say so under a job that went to
the printer. Refused, the button can be pressed again. Run by the Node.js that comes with
Playwright, with the page's elements stood in for (no browser)."""

from __future__ import annotations

import json

from tests.web.page_scripts import run
from tests.web.test_print_status_script import PAGE, SCRIPT

CONFIG = {
    "texts": {
        "states": {},
        "retry": "Retry",
        "pdf": "PDF",
        "copy": "copy",
        "retrying": "retrying",
        "out_of_paper": "paper",
        "failed": "failed: {detail}",
        "network": "network",
        "signedOut": "signed out",
        "forbidden": "forbidden",
        "refusals": {"retried": "already sent again"},
    },
    "urls": {"retry": "/print-jobs/{id}/retry", "pdf": "/print-jobs/{id}/pdf"},
    "out_of_paper": "out_of_paper",
}


def _pressed_twice(answer: str) -> dict:
    program = (
        f"var CONFIG = {json.dumps(CONFIG)};\nvar ANSWER;"
        + PAGE
        + """
var posted = 0, answers = [];
window.fetch = function () {
  posted += 1;
  return new Promise(function (resolve) { answers.push(resolve); });
};
"""
        + SCRIPT
        + f"""
handlers.onSnapshot({{jobs: [{{id: 7, state: "failed", title: "Чек 12", copy: false,
                             attempts: 3, last_error: "refused"}}]}});
var button = box.all().filter(function (e) {{ return e.tag === "button"; }})[0];
button.listeners.click();
var busy = button.disabled === true;
if (!button.disabled) button.listeners.click();
answers.forEach(function (resolve) {{ resolve({answer}); }});
setTimeout(function () {{
  process.stdout.write(JSON.stringify({{posted: posted, busy: busy,
                                        after: button.disabled === true}}));
}}, 20);
"""
    )
    return run(program)


def test_retry_pressed_twice_is_sent_once():
    done = _pressed_twice("{status: 202, json: function () { return Promise.resolve({}); }}")
    assert (done["posted"], done["busy"]) == (1, True)


def test_a_refused_retry_can_be_pressed_again():
    refused = "{status: 409, json: function () { return Promise.resolve({code: 'retried'}); }}"
    assert _pressed_twice(refused)["after"] is False


def test_a_job_sent_again_already_offers_no_retry():
    program = f"var CONFIG = {json.dumps(CONFIG)};\nvar ANSWER;" + PAGE + SCRIPT + """
handlers.onSnapshot({jobs: [
  {id: 7, state: "failed", title: "Чек 12", copy: false, attempts: 3, last_error: "refused"},
  {id: 9, state: "failed", title: "Чек 13", copy: false, attempts: 3, last_error: "refused"}]});
handlers.onEvent({data: {job: {id: 8, state: "queued", title: "Чек 12", copy: false,
                               attempts: 0, last_error: null, retry_of_id: 7}}});
process.stdout.write(JSON.stringify(box.all().filter(function (e) {
  return e.tag === "button";
}).map(function (b) { return b.listeners.click ? "retry" : "?"; }).length));
"""
    # Job 9 still offers its Retry; job 7, sent again as job 8, no more.
    assert run(program) == 1


def test_a_retry_refused_for_a_stale_token_is_sent_again_with_the_sessions_token():
    # The session begun anew since the page was loaded: asked again with its token, as the
    # desk's other calls are (queue.js), instead of saying the CSRF check's English words.
    program = (
        f"var CONFIG = {json.dumps(CONFIG)};\nvar ANSWER;"
        + PAGE
        + """
var tokens = [], renewed = 0;
var meta = {getAttribute: function () { return renewed ? "new" : "old"; }};
document.querySelector = function () { return meta; };
window.ClinicQueue = {renewCsrfToken: function () { renewed += 1; return Promise.resolve(true); }};
var answers = [
  {status: 400, json: function () {
    return Promise.resolve({status: 400, detail: "The CSRF tokens do not match."}); }},
  {status: 202, json: function () { return Promise.resolve({id: 8}); }}];
window.fetch = function (url, options) {
  tokens.push(options.headers["X-CSRFToken"]);
  return Promise.resolve(answers.shift());
};
"""
        + SCRIPT
        + """
handlers.onSnapshot({jobs: [{id: 7, state: "failed", title: "Чек 12", copy: false,
                             attempts: 3, last_error: "refused"}]});
var button = box.all().filter(function (e) { return e.tag === "button"; })[0];
button.listeners.click();
setTimeout(function () {
  var shown = box.all().filter(function (e) {
    return e.getAttribute("role") === "alert" && !e.hidden;
  }).map(function (e) { return e.textContent; });
  process.stdout.write(JSON.stringify({tokens: tokens, renewed: renewed, shown: shown}));
}, 20);
"""
    )
    assert run(program) == {"tokens": ["old", "new"], "renewed": 1, "shown": []}
