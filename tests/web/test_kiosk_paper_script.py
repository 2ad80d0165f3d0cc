"""One paper a ticket at the kiosk: a touch on a queue whose tickets its thermal printer
prints opens no browser print, a touch on another queue opens the printable ticket. Run by
the Node.js that comes with Playwright, with the page's elements stood in for (no browser,
well under a second)."""

from __future__ import annotations

from tests.web.page_scripts import STAND_IN, run, script

SCRIPT = script("queue.js") + script("once.js") + script("kiosk.js")

PAGE = """
var opened = [], clicks = {};
function kioskButton(queueId) {
  var button = standIn();
  button.getAttribute = function (name) {
    return {"data-name": "Therapy", "data-issue-url": "/api/v1/queues/" + queueId + "/tickets",
            "data-queue-id": String(queueId)}[name];
  };
  button.addEventListener = function (type, fn) { clicks[queueId] = fn; };
  button.querySelector = function () { return standIn(); };
  return button;
}
var buttons = [kioskButton(1), kioskButton(2)];
var config = {printUrl: "/ticket/{id}/print", ticketsOnPaper: [1], texts: {refusals: {}}};
var document = standIn();
document.querySelectorAll = function () { return buttons; };
document.querySelector = function () { return null; };
document.getElementById = function (id) {
  return id === "kiosk-config" ? {textContent: JSON.stringify(config)} : standIn();
};
window.document = document;
window.open = function () {
  var shown = {location: {}, close: function () {}};
  opened.push(shown);
  return shown;
};
var next = 0;
window.fetch = function () {
  next += 1;
  var body = JSON.stringify({id: next, code: "T-00" + next});
  return Promise.resolve({status: 201, text: function () { return Promise.resolve(body); }});
};
window.ClinicSocket = { subscribe: function () {} };
window.setTimeout = function () { return 1; };
window.clearTimeout = function () {};
"""


def test_only_a_queue_without_a_thermal_printer_opens_the_browser_print():
    program = STAND_IN + PAGE + SCRIPT + """
(async function () {
  var tick = function () { return new Promise(function (r) { setImmediate(r); }); };
  clicks[1]();
  for (var t = 0; t < 5; t++) await tick();
  var afterPrinted = opened.length;
  clicks[2]();
  for (var t = 0; t < 5; t++) await tick();
  process.stdout.write(JSON.stringify({afterPrinted: afterPrinted,
    opened: opened.map(function (w) { return w.location.href; })}));
})();
"""
    assert run(program) == {"afterPrinted": 0, "opened": ["/ticket/2/print"]}
