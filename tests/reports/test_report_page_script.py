"""The report page's script and what the page hands it, without a browser: the reports
offered in their order, a failed job said in the page's language by its code, and a job's
channel the socket refuses said rather than waited for."""

from __future__ import annotations

import ast
import json
import re
from html import unescape
from pathlib import Path

import pytest

from tests.conftest import ONE_BACKEND
from tests.web.page_scripts import STAND_IN, run, script

ROOT = Path(__file__).resolve().parents[2]

# The page: each element a stand-in keeping what the script sets, the report form's Build
# button a plain one, fetch answering every request with ANSWER, and the socket keeping the
# handlers each subscription was given.
PAGE = STAND_IN + """
var nodes = {}, listeners = {}, offered = [], subscriptions = [];
var build = { disabled: false };
function node(id) {
  if (!nodes[id]) {
    nodes[id] = standIn();
    nodes[id].addEventListener = function (type, fn) { listeners[id + ":" + type] = fn; };
    nodes[id].appendChild = function (child) {
      if (id === "report-kind") offered.push(child.value);
    };
  }
  return nodes[id];
}
node("report-form").querySelector = function () { return build; };
var document = standIn();
document.getElementById = function (id) {
  if (id === "reports-config") return { textContent: JSON.stringify(CONFIG) };
  return node(id);
};
document.createElement = function () { return standIn(); };
window.document = document;
window.fetch = function () {
  return Promise.resolve({
    status: ANSWER.status, ok: ANSWER.status < 300,
    json: function () { return Promise.resolve(ANSWER.body); },
  });
};
window.console = { warn: function () {}, error: function () {} };
window.ClinicSocket = {
  subscribe: function (channel, handlers) {
    subscriptions.push({ channel: channel, handlers: handlers });
    return { unsubscribe: function () {} };
  },
};
"""


def _program(config: dict, answer: dict, then: str) -> str:
    return (
        f"var CONFIG = {json.dumps(config)}; var ANSWER = {json.dumps(answer)};\n"
        + PAGE
        + script("reports.js")
        + "\nsetTimeout(function () {\n"
        + then
        + "\n}, 20);"
    )


def _config(client, language: str = "en") -> dict:
    html = client.get(f"/reports?lang={language}").get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="reports-config">(.*?)</script>', html)
    return json.loads(unescape(found.group(1)))


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_the_reports_are_offered_in_their_order_revenue_first(client_as):
    """docs/reports.md lists revenue, visits, queue KPIs, shifts and reconciliation: the form
    offers them so, revenue first and chosen, not in the alphabetical order of their codes."""
    config = _config(client_as("manager"))
    offered = run(
        _program(
            config, {"status": 200, "body": []}, "process.stdout.write(JSON.stringify(offered));"
        )
    )
    assert offered == ["revenue", "visits", "queue", "shifts", "reconciliation"]


def _failure_codes() -> set[str]:
    """What a report job's ``error`` is told by (tasks/base.py): the ``code`` of an error a
    job task raises (``TimedOut``), and of one the task writes itself (a job given up after
    too many attempts); the ``type`` of one written without a code."""
    tree = ast.parse((ROOT / "tasks" / "base.py").read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.Assign) and [ast.unparse(t) for t in item.targets] == [
                    "code"
                ]:
                    found.add(item.value.value)
        if isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            if "type" in keys:
                value = node.values[keys.index("code" if "code" in keys else "type")]
                if isinstance(value, ast.Constant):
                    found.add(value.value)
    return found


def test_the_scan_finds_the_ways_a_job_fails():
    assert {"time_limit", "too_many_attempts"} <= _failure_codes()


def _failure_words(app, language: str) -> dict[str, str]:
    from web.reports.pages import job_failure_texts

    with app.test_request_context(f"/reports?lang={language}"):
        return job_failure_texts()


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_every_way_a_report_job_fails_has_words_of_its_own(app):
    said = _failure_words(app, "en")
    assert sorted(_failure_codes() - set(said)) == []


@pytest.mark.parametrize("backend", [ONE_BACKEND])
@pytest.mark.parametrize("language", ["ru", "uz"])
def test_the_failures_of_a_report_job_are_worded_in_russian_and_uzbek(app, language):
    english = _failure_words(app, "en")
    said = _failure_words(app, language)
    assert [code for code in sorted(_failure_codes()) if said[code] == english[code]] == []


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_a_job_channel_the_socket_refuses_is_said_not_waited_for(client_as):
    """A socket following its most channels refuses one more (too_many_channels): the page
    says the report cannot be followed instead of "Waiting for a worker…" for ever."""
    config = _config(client_as("manager"))
    job = {"id": "a" * 32, "status": "queued", "channel": "job:" + "a" * 32}
    then = """
listeners["report-form:submit"]({ preventDefault: function () {} });
setTimeout(function () {
  var followed = subscriptions.filter(function (s) { return s.channel === CHANNEL; })[0];
  if (followed && followed.handlers.onError) followed.handlers.onError("too_many_channels: 50");
  process.stdout.write(JSON.stringify({
    followed: Boolean(followed),
    error: String(nodes["report-error"].textContent),
    hidden: nodes["report-error"].hidden,
  }));
}, 20);
"""
    shown = run(
        _program(
            config,
            {"status": 202, "body": job},
            f"var CHANNEL = {json.dumps(job['channel'])};" + then,
        )
    )
    assert shown == {
        "followed": True,
        "error": config["texts"]["unfollowable"],
        "hidden": False,
    }
