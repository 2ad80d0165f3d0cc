"""The cashier's shift forms send one request a press: Enter or a second press while the first
is on its way would be refused ("already open", "open your shift first") and put that refusal
in place of what the first answer said (the closing's count). The drawer's cash, and the
drawers a refund may come from, show the last reading asked. Run by the Node.js that comes
with Playwright, with the page's elements stood in for (no browser, well under a second)."""

from __future__ import annotations

import json

from tests.web.page_scripts import STAND_IN, run, script

SCRIPT = script("money.js") + script("once.js") + script("cashier-shift.js") + script("cashier.js")

PAGE = STAND_IN + """
var document = standIn(), elements = {}, posted = [], waiting = [];
function form(id, field) {
  var submit = null, button = {disabled: false};
  var node = {hidden: false, elements: {}, reset: function () {},
              addEventListener: function (type, fn) { if (type === "submit") submit = fn; },
              querySelector: function () { return button; }};
  node.elements[field] = {value: "500 000"};
  node.press = function () { submit({preventDefault: function () {}, target: node}); };
  node.button = button;
  return node;
}
elements["shift-open"] = form("shift-open", "opening_cash");
elements["shift-close"] = form("shift-close", "counted_cash");
["cashier-status", "cashier-error"].forEach(function (id) {
  elements[id] = {hidden: true, textContent: ""};
});
document.getElementById = function (id) { return (elements[id] = elements[id] || standIn()); };
window.ClinicQueue = {
  config: function () {
    return {texts: {shiftClosed: "closed: {diff}", shiftOpen: "open", noShift: "none",
                    network: "no network", refusals: {shift_open: "already open",
                    no_open_shift: "open your shift first"}, fields: {}},
            money: {}, shiftApi: "/shift", openShiftApi: "/open", closeShiftApi: "/close",
            timezone: "Asia/Tashkent", locale: "ru-RU"};
  },
  fill: function (t, v) { return String(t).replace("{diff}", v && v.diff); },
  say: function (box, text) { box.textContent = text || ""; box.hidden = !text; },
  element: function () { return standIn(); },
  problem: function () { return "failed"; },
  api: function (method, url) {
    if (method === "GET") return Promise.resolve({status: 200, body: {shift: null}});
    posted.push(url);
    return new Promise(function (resolve, reject) { waiting.push({resolve: resolve,
                                                                  reject: reject}); });
  },
};
window.ClinicSocket = { subscribe: function () {} };
"""

SHIFT = {"id": 3, "opened_at": "2026-03-02T04:00:00Z", "cash_in_drawer": 500_000_00}
CLOSED = {"expected_cash": 500_000_00, "counted_cash": 500_000_00, "discrepancy": 0}


def _pressed(form: str, answer) -> dict:
    """Press ``form``'s button twice before the API answers, then let it answer ``answer``
    (``"lost"``: the network lost it): what was posted, said and left of the button."""
    settle = (
        'waiting[0].reject(new Error("lost"))'
        if answer == "lost"
        else f"waiting.forEach(function (w) {{ w.resolve({json.dumps(answer)}); }})"
    )
    program = PAGE + SCRIPT + f"""
(async function () {{
  var tick = function () {{ return new Promise(function (r) {{ setImmediate(r); }}); }};
  await tick();
  var pressed = elements[{json.dumps(form)}];
  pressed.press();
  pressed.press();
  var busy = pressed.button.disabled;
  {settle};
  for (var t = 0; t < 5; t++) await tick();
  process.stdout.write(JSON.stringify({{posted: posted, busy: busy,
    after: pressed.button.disabled, status: elements["cashier-status"].textContent,
    error: elements["cashier-error"].textContent}}));
}})();
"""
    return run(program)


def test_closing_the_shift_pressed_twice_closes_it_once_and_keeps_the_count_said():
    done = _pressed("shift-close", {"status": 200, "body": CLOSED})
    assert done["posted"] == ["/close"]
    assert (done["status"], done["error"]) == ("closed: 0", "")
    assert (done["busy"], done["after"]) == (True, False)


def test_opening_the_shift_pressed_twice_opens_it_once_without_a_refusal():
    done = _pressed("shift-open", {"status": 201, "body": SHIFT})
    assert done["posted"] == ["/open"]
    assert done["error"] == ""
    assert (done["busy"], done["after"]) == (True, False)


def test_a_shift_form_refused_or_unanswered_can_be_sent_again():
    refused = {"status": 422, "body": {"errors": {"counted_cash": ["Not a valid integer."]}}}
    assert _pressed("shift-close", refused)["after"] is False
    lost = _pressed("shift-open", "lost")
    assert (lost["after"], lost["error"]) == (False, "no network")


def test_the_drawers_cash_shown_is_the_last_reading_asked_whichever_answers_first():
    """Two payments close together each have the desk read the shift again: the first
    reading, answered last, does not put the first payment's cash back over the second's."""
    program = (
        STAND_IN
        + """
var document = standIn(), elements = {}, reads = [];
document.getElementById = function (id) { return (elements[id] = elements[id] || standIn()); };
window.ClinicQueue = {
  fill: function (t, v) { return v && v.amount !== undefined ? "cash " + v.amount : String(t); },
  say: function () {},
  api: function (method) {
    if (method !== "GET") return new Promise(function () {});
    return new Promise(function (resolve) { reads.push(resolve); });
  },
};
window.ClinicOnce = { submit: function () {} };
"""
        + script("cashier-shift.js")
        + """
(async function () {
  var tick = function () { return new Promise(function (r) { setImmediate(r); }); };
  var shift = window.ClinicShift({
    config: {texts: {shiftOpen: "open", noShift: "none"}, shiftApi: "/shift"},
    money: function (tiyin) { return String(tiyin / 100); },
    tiyin: function () { return 0; }, since: function () { return "09:00"; },
    fail: function () {}, errorBox: {}, statusBox: {},
  });
  function answer(n, cash) {
    reads[n]({status: 200, body: {shift: {id: 3, opened_at: "2026-03-02T04:00:00Z",
                                          cash_in_drawer: cash}}});
  }
  answer(0, 500000);  // the desk's first reading: the shift as opened
  await tick();
  var said = [elements["shift-state"].textContent];
  shift.refresh();  // the first payment
  shift.refresh();  // the second, before the first reading came
  answer(2, 700000);
  await tick();
  said.push(elements["shift-state"].textContent);
  answer(1, 600000);
  await tick();
  said.push(elements["shift-state"].textContent, shift.id());
  process.stdout.write(JSON.stringify(said));
})();
"""
    )
    assert run(program) == ["cash 5000", "cash 7000", "cash 7000", 3]


def test_the_drawers_listed_for_a_refund_are_the_last_reading_asked():
    """A manager's refunds form lists the drawers open now, read again whenever cash moves:
    a reading answered after a later one does not list its older figures over it."""
    program = (
        STAND_IN
        + """
var reads = [];
function node(tag) {
  var made = {tagName: tag, children: [], value: "", selectedIndex: 0, attrs: {}};
  made.appendChild = function (child) { made.children.push(child); return child; };
  made.setAttribute = function (name, value) { made.attrs[name] = value; };
  return made;
}
window.ClinicQueue = {
  element: function (tag, cls, text) { var made = node(tag); made.text = text; return made; },
  fill: function (t, v) { return v.number + ": " + v.amount; },
  api: function () { return new Promise(function (resolve) { reads.push(resolve); }); },
};
"""
        + script("cashier-drawers.js")
        + """
(async function () {
  var tick = function () { return new Promise(function (r) { setImmediate(r); }); };
  var drawers = window.ClinicDrawers({
    config: {texts: {drawer: "drawer", chooseDrawer: "choose", noDrawers: "none",
                     drawerOf: "{number}: {amount}"}, openShiftsApi: "/shifts"},
    money: function (tiyin) { return String(tiyin / 100); },
    onChange: function () {},
  });
  function answer(n, cash) {
    reads[n]({status: 200, body: [{id: 3, cashier_name: "Dilnoza", cash_in_drawer: cash}]});
  }
  function listed() {
    return drawers.select("").children.slice(1).map(function (o) { return o.text; });
  }
  answer(0, 500000);
  await tick();
  drawers.refresh();
  drawers.refresh();
  answer(2, 700000);
  await tick();
  answer(1, 600000);
  await tick();
  process.stdout.write(JSON.stringify(listed()));
})();
"""
    )
    assert run(program) == ["3: 7000"]
