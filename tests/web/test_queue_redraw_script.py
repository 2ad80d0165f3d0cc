"""A screen told that what it shows of a queue changed (``queue.changed``) redraws the queue's
name and room from its own page loaded again, one load at a time: a change told while a load
is on its way loads the page once more after it, so the screen ends on the last change. Run
by the Node.js that comes with Playwright, with the page's elements stood in for (no
browser, well under a second)."""

from __future__ import annotations

from tests.web.page_scripts import STAND_IN, run, script

# A page whose "#doctor" element holds two labels; each load of the page answers the names
# the server has at that moment, and is held until the program lets it go.
PAGE = """
function label(text) { return {textContent: text, hidden: false}; }
function queueElement(name, room) {
  var labels = [label(name), label(room)];
  return {
    labels: labels,
    querySelectorAll: function () { return labels; },
    getAttribute: function () { return null; },
    setAttribute: function () {},
  };
}
var shown = queueElement("Cardiology", "K · Room 12");
var document = {querySelector: function (s) { return s === "#doctor" ? shown : null; }};
window.document = document;
var server = {name: "Cardiology", room: "K · Room 12"};
var loads = [];
window.location = {href: "/queue/doctor"};
window.fetch = function () {
  return new Promise(function (resolve) {
    loads.push(function () {
      var drawn = queueElement(server.name, server.room);
      resolve({ok: true, text: function () { return Promise.resolve(drawn); }});
    });
  });
};
window.DOMParser = function () {
  this.parseFromString = function (drawn) {
    return {querySelector: function (s) { return s === "#doctor" ? drawn : null; }};
  };
};
function settle(then) { setImmediate(function () { setImmediate(then); }); }
function texts() { return shown.labels.map(function (l) { return l.textContent; }); }
"""


def test_changes_told_during_a_load_end_on_the_last_change():
    program = STAND_IN + PAGE + script("queue.js") + """
var Q = window.ClinicQueue, seen = {};
server.name = "Cardiology and ECG";
Q.redrawOne("#doctor");
server.room = "K · Room 14";            // changed again while the first load is on its way
Q.redrawOne("#doctor");
Q.redrawOne("#doctor");
seen.loadsAtOnce = loads.length;
loads[0]();  // the first load answers what the server drew then: the new name, room 14 too
settle(function () {
  seen.afterFirst = texts();
  seen.loads = loads.length;             // one more load, for the changes told meanwhile
  server.room = "K · Room 15";
  loads[1]();
  settle(function () {
    seen.afterSecond = texts();
    seen.loadsInAll = loads.length;
    process.stdout.write(JSON.stringify(seen));
  });
});
"""
    assert run(program) == {
        "loadsAtOnce": 1,
        "afterFirst": ["Cardiology and ECG", "K · Room 14"],
        "loads": 2,
        "afterSecond": ["Cardiology and ECG", "K · Room 15"],
        "loadsInAll": 2,
    }
