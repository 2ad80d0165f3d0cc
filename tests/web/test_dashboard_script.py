"""The manager's dashboard names each queue as the other pages name it, in the page's
language (its department, and the doctor of a doctor's queue), not by its code."""

from __future__ import annotations

import json
import re
from html import unescape

from tests.web.page_scripts import STAND_IN, run, script

PAGE = STAND_IN + """
var nodes = {}, items = [];
var document = standIn();
document.getElementById = function (id) {
  if (id === "dashboard-config") return { textContent: JSON.stringify(CONFIG) };
  if (!nodes[id]) {
    nodes[id] = standIn();
    nodes[id].appendChild = function (child) { if (id === "dash-queues") items.push(child); };
  }
  return nodes[id];
};
document.createElement = function () { return standIn(); };
window.document = document;
window.fetch = function () {
  return Promise.resolve({ ok: true, json: function () { return Promise.resolve(DATA); } });
};
window.ClinicMoney = function () { return function (x) { return String(x); }; };
window.ClinicSocket = { onStatus: function () {}, subscribe: function () {} };
"""


def _queues_shown(config: dict, queues: list[dict]) -> list[str]:
    data = {
        "revenue": {"net": 0, "payments": 0, "refunded": 0},
        "visits": {"total": 0, "by_status": {}},
        "queue": {"waiting": sum(q["waiting"] for q in queues), "queues": queues},
        "channels": [],
    }
    program = (
        f"var CONFIG = {json.dumps(config)}; var DATA = {json.dumps(data)};\n"
        + PAGE
        + script("dashboard.js")
        + "\nsetTimeout(function () { process.stdout.write(JSON.stringify("
        "items.map(function (li) { return String(li.textContent); }))); }, 20);"
    )
    return run(program)


def test_the_dashboard_names_the_queues_in_the_page_language(runtime, client_as):
    from clinic.queue import admin as queue_admin
    from clinic.reference import directory as reference

    with runtime.db.transaction() as s:
        department = reference.create_department(
            s, {"code": "dash", "ticket_prefix": "D", "name_ru": "Терапия",
                "name_uz": "Terapiya", "name_en": "Therapy"},
        )  # fmt: skip
        queue = queue_admin.create_queue(s, {"code": "ther-dash", "department_id": department.id})
        queue_id = queue.id
    manager = client_as("manager")
    html = manager.get("/reports/dashboard?lang=uz").get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="dashboard-config">(.*?)</script>', html)
    config = json.loads(unescape(found.group(1)))
    shown = _queues_shown(config, [{"queue_id": queue_id, "code": "ther-dash", "waiting": 3}])
    assert shown == ["Terapiya: 3"]
    # A queue opened after the page was: its code, as before.
    assert _queues_shown(config, [{"queue_id": 999999, "code": "NEW-1", "waiting": 1}]) == [
        "NEW-1: 1"
    ]
