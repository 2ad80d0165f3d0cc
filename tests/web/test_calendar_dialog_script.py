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


def test_a_move_ending_after_the_dialog_was_opened_for_another_visit_is_not_said_there():
    # Visit 9's move is followed; the dialog is opened for visit 10 before it ends: "Moved to
    # ..." under visit 10 would say the wrong patient was moved.
    page = PAGE.replace(json.dumps(VISIT), json.dumps(VISIT) + ", " + json.dumps(OTHER))
    job = {"id": "j1", "channel": "job:j1", "status": "queued", "progress": 0}
    done = {"status": "succeeded", "result": {"to": {"starts_at": "2030-03-02T08:00:00Z"}}}
    program = (
        page + "var subs = {};\nwindow.ClinicSocket.subscribe = function (channel, h) {"
        " subs[channel] = h; return {unsubscribe: function () {}}; };\n" + SCRIPT + f"""
(async function () {{
  var tick = function () {{ return new Promise(function (r) {{ setImmediate(r); }}); }};
  for (var t = 0; t < 3; t++) await tick();
  var slots = {{}};
  drawn.forEach(function (item) {{
    var node = item.children[0];
    if (node.attrs["data-visit"]) slots[node.attrs["data-visit"]] = node;
  }});
  slots["9"].listeners.click();
  dialogForm.elements.reason.value = "asked";
  dialogForm.listeners.submit({{preventDefault: function () {{}}, target: dialogForm}});
  waiting.shift()({{status: 202, body: {json.dumps(job)}}});
  for (var t = 0; t < 3; t++) await tick();
  var moving = result.textContent;
  slots["10"].listeners.click();
  subs["job:j1"].onEvent({{type: "job.succeeded", data: {json.dumps(done)}}});
  process.stdout.write(JSON.stringify({{moving: moving, after: result.textContent}}));
}})();
"""
    )
    assert run(program) == {"moving": "moving", "after": ""}
