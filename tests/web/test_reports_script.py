"""The report page's list of subscriptions says the language each report is mailed in: the
same report to one address in Russian and in Uzbek is refused as one subscription, so the
manager who wants the other language must see which one he has."""

from __future__ import annotations

import json
import re
from html import unescape

from tests.web.page_scripts import STAND_IN, run, script

PAGE = STAND_IN + """
var nodes = {}, listed = [];
function node(id) {
  if (!nodes[id]) {
    nodes[id] = standIn();
    nodes[id].appendChild = function (child) { if (id === "subscriptions") listed.push(child); };
  }
  return nodes[id];
}
var document = standIn();
document.getElementById = function (id) {
  if (id === "reports-config") return { textContent: JSON.stringify(CONFIG) };
  return node(id);
};
document.createElement = function () { return standIn(); };
window.document = document;
window.fetch = function () {
  return Promise.resolve({ status: 200, json: function () { return Promise.resolve(SUBS); } });
};
window.ClinicSocket = { subscribe: function () { return { unsubscribe: function () {} }; } };
"""


def _listed(config: dict, subscriptions: list[dict]) -> list[str]:
    program = (
        f"var CONFIG = {json.dumps(config)}; var SUBS = {json.dumps(subscriptions)};\n"
        + PAGE
        + script("reports.js")
        + "\nsetTimeout(function () {"
        " process.stdout.write(JSON.stringify(listed.map(function (li) {"
        " return String(li.textContent); }))); }, 20);"
    )
    return run(program)


def _config(client, language: str) -> dict:
    html = client.get(f"/reports?lang={language}").get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="reports-config">(.*?)</script>', html)
    return json.loads(unescape(found.group(1)))


def test_each_subscription_says_the_language_it_is_mailed_in(client_as):
    config = _config(client_as("manager"), "ru")
    subscription = {
        "id": 1, "active": True, "frequency": "daily", "email": "boss@clinic.uz",
        "params": {"report": "revenue", "by": "day"}, "language": "uz",
    }  # fmt: skip
    [line] = _listed(config, [subscription])
    assert "boss@clinic.uz" in line and "O'zbekcha" in line
    [line] = _listed(config, [{**subscription, "language": "ru"}])
    assert "Русский" in line
