"""The calendar's move dialog asks the move and the cancellation each for a reason of its own:
what the registrar typed for one never goes into the other's history, and each is checked
(some words, at most the API's limit) and refused at its own field. Run by the Node.js that
comes with Playwright, with the page's elements stood in for (no browser)."""

from __future__ import annotations

import json

import pytest

from tests.web.page_scripts import run
from tests.web.test_calendar_script import PAGE, SCRIPT, VISIT

# The dialog's forms say a refused reason at their own field; the API's answers are given in
# turn, and what each change was sent with is kept.
SAID_AT_FIELDS = """
var at = {move: box(), cancel: box()};
dialogForm.querySelector = function (s) {
  return s.indexOf("submit") >= 0 ? moveButton : s.indexOf("reason") >= 0 ? at.move : box();
};
cancelForm.querySelector = function (s) {
  return s.indexOf("submit") >= 0 ? cancelButton : s.indexOf("reason") >= 0 ? at.cancel : box();
};
var sent = [], answers = ANSWERS, read = window.ClinicQueue.api;
window.ClinicQueue.api = function (method, url, body) {
  if (method === "GET") return read(method, url);
  sent.push([url.replace(/^\\/api\\/v1\\/visits/, ""), body]);
  return Promise.resolve(answers.shift());
};
window.ClinicQueue.config = function () {
  return {texts: {cancelled: "cancelled", conflicts: {}, invalid: {reason: "why moved?"},
                  cancelReason: "why cancelled?", reasonTooLong: "too long", statuses: {},
                  network: "no network", moving: "moving"},
          day: "2030-03-02", doctorId: 2, channel: "visits_doctor:2", doctors: [],
          timezone: "Asia/Tashkent", reasonMax: 500};
};
"""

MOVED = {"status": 202, "body": {"id": "j1", "channel": "job:j1", "status": "queued"}}
CANCELLED = {"status": 200, "body": VISIT}


def _typed_then(move: str, cancel: str, press: str, answers=(MOVED,)) -> dict:
    """The dialog opened on the visit, ``move`` typed as the move's reason and ``cancel`` as
    the cancellation's, then ``press`` ("move" or "cancel"): what was sent, and what each
    form's reason field says."""
    form = {"move": "dialogForm", "cancel": "cancelForm"}[press]
    program = PAGE + SAID_AT_FIELDS.replace("ANSWERS", json.dumps(list(answers))) + SCRIPT + f"""
(async function () {{
  var tick = function () {{ return new Promise(function (r) {{ setImmediate(r); }}); }};
  for (var t = 0; t < 3; t++) await tick();
  drawn.map(function (item) {{ return item.children[0]; }})
    .filter(function (n) {{ return n.attrs["data-visit"]; }})[0].listeners.click();
  dialogForm.elements.reason.value = {json.dumps(move)};
  cancelForm.elements.reason.value = {json.dumps(cancel)};
  {form}.listeners.submit({{preventDefault: function () {{}}, target: {form}}});
  for (var t = 0; t < 5; t++) await tick();
  process.stdout.write(JSON.stringify({{sent: sent, move: at.move.textContent,
    cancel: at.cancel.textContent, result: result.textContent}}));
}})();
"""
    return run(program)


def test_a_cancellation_is_sent_with_its_own_reason_and_a_move_with_the_moves():
    cancelled = _typed_then("просьба пациента", "пациент отказался", "cancel", [CANCELLED])
    assert cancelled["sent"] == [["/9/cancel", {"by": "patient", "reason": "пациент отказался"}]]
    assert cancelled["result"] == "cancelled"
    moved = _typed_then("просьба пациента", "пациент отказался", "move")
    assert [(url, body["reason"]) for url, body in moved["sent"]] == [
        ("/9/reschedule", "просьба пациента")
    ]


@pytest.mark.parametrize(
    "press, move, cancel, said",
    [
        # A reason typed for the move is no reason to cancel, nor the reverse.
        ("cancel", "просьба пациента", "  ", {"cancel": "why cancelled?", "move": ""}),
        ("move", "", "пациент отказался", {"move": "why moved?", "cancel": ""}),
        # Past the API's limit, in characters as it counts them.
        ("cancel", "", "я" * 501, {"cancel": "too long", "move": ""}),
        ("move", "я" * 501, "", {"move": "too long", "cancel": ""}),
    ],
)
def test_a_reason_left_out_or_too_long_is_said_at_its_own_form_and_nothing_is_sent(
    press, move, cancel, said
):
    done = _typed_then(move, cancel, press)
    assert done["sent"] == []
    assert {"move": done["move"], "cancel": done["cancel"]} == said


def test_a_reason_of_five_hundred_characters_beyond_the_basic_plane_is_sent():
    # 500 characters as the API counts them, 1,000 as JavaScript's length does.
    done = _typed_then("", "\U0001d11e" * 500, "cancel", [CANCELLED])
    assert len(done["sent"]) == 1 and done["cancel"] == ""


def test_the_apis_refusal_of_the_cancellations_reason_is_worded_as_the_cancellations():
    refused = {"status": 422, "body": {"errors": {"reason": ["required"]}, "detail": "say why"}}
    done = _typed_then("просьба пациента", "пациент отказался", "cancel", [refused])
    assert (done["cancel"], done["move"], done["result"]) == ("why cancelled?", "", "")
