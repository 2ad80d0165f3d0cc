"""The calendar's move dialog opened for another visit starts without the reason typed for
the last one: "Cancel the visit" asks for a reason, and must not take the one given for
moving (or cancelling) another patient's visit. Run by the Node.js that comes with
Playwright, with the page's elements stood in for (no browser, well under a second)."""

from __future__ import annotations

import json

from tests.web.page_scripts import run
from tests.web.test_calendar_script import PAGE, SCRIPT, VISIT

OTHER = {**VISIT, "id": 10, "starts_at": "2030-03-02T06:00:00Z", "patient_name": "Petrov"}


def test_the_dialog_of_another_visit_asks_for_its_own_reason():
    page = PAGE.replace(json.dumps(VISIT), json.dumps(VISIT) + ", " + json.dumps(OTHER))
    program = page + SCRIPT + """
(async function () {
  var tick = function () { return new Promise(function (r) { setImmediate(r); }); };
  for (var t = 0; t < 3; t++) await tick();
  var slots = {};
  drawn.forEach(function (item) {
    var node = item.children[0];
    if (node.attrs["data-visit"]) slots[node.attrs["data-visit"]] = node;
  });
  slots["9"].listeners.click();
  dialogForm.elements.reason.value = "asked for the evening";
  slots["10"].listeners.click();
  process.stdout.write(JSON.stringify(dialogForm.elements.reason.value));
})();
"""
    assert run(program) == ""
