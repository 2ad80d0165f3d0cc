"""A desk's Retry of a failed print job that the server refuses (another desk sent it again
already, the session ended, the server is away) says so in the page's language, instead of
nothing happening. Run by the Node.js that comes with Playwright, with the page's elements
stood in for (no browser)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ONE_BACKEND
from tests.web.page_scripts import run, script

SCRIPT = script("print-status.js")

PAGE = """
var window = globalThis;
function Element(tag) {
  this.tag = tag; this.children = []; this.attributes = {}; this.listeners = {};
  this.hidden = false; this.className = ""; this._text = "";
}
Object.defineProperty(Element.prototype, "textContent", {
  get: function () {
    return this._text + this.children.map(function (c) { return c.textContent; }).join("");
  },
  set: function (value) { this._text = String(value); this.children = []; },
});
Element.prototype.appendChild = function (child) { this.children.push(child); return child; };
Element.prototype.insertBefore = function (child) { this.children.unshift(child); return child; };
Element.prototype.setAttribute = function (name, value) { this.attributes[name] = String(value); };
Element.prototype.getAttribute = function (name) {
  return name in this.attributes ? this.attributes[name] : null;
};
Element.prototype.addEventListener = function (type, fn) { this.listeners[type] = fn; };
Element.prototype.all = function () {
  var found = [this];
  this.children.forEach(function (c) { found = found.concat(c.all()); });
  return found;
};
var box = new Element("div");
box.setAttribute("data-print-scope", "cashier");
var holder = { textContent: JSON.stringify(CONFIG) };
var handlers = null;
var document = {
  getElementById: function (id) { return id === "print-status-config" ? holder : null; },
  querySelector: function () { return null; },
  querySelectorAll: function () { return [box]; },
  createElement: function (tag) { return new Element(tag); },
};
window.document = document;
window.ClinicSocket = { subscribe: function (channel, h) { handlers = h; return {}; } };
window.fetch = function () { return ANSWER; };
"""


def _said_after_retry(config: dict, answer: str) -> str:
    program = (
        f"var CONFIG = {json.dumps(config)};\nvar ANSWER; "
        + PAGE
        + f"ANSWER = {answer};\n"
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
  process.stdout.write(JSON.stringify(shown));
}, 20);
"""
    )
    return run(program)


@pytest.mark.parametrize(
    "answer, words",
    [
        # Another desk pressed Retry first: the refusal's code, in the page's words.
        (
            "Promise.resolve({status: 409, json: function () {"
            ' return Promise.resolve({code: "retried", detail: "retried already"}); }})',
            ("refusals", "retried"),
        ),
        (
            "Promise.resolve({status: 401, json: function () { return Promise.resolve({}); }})",
            ("signedOut",),
        ),
        ("Promise.reject(new TypeError('Failed to fetch'))", ("network",)),
    ],
)
@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_a_refused_retry_is_said_on_the_desk(app, answer, words, backend):
    from web.printing.pages import print_status_config

    with app.test_request_context("/?lang=ru"):
        config = print_status_config()
    expected = config["texts"]
    for key in words:
        expected = expected.get(key) if isinstance(expected, dict) else None
    assert isinstance(expected, str) and expected, config["texts"]
    assert _said_after_retry(config, answer) == [expected]
