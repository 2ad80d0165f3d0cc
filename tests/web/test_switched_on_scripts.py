"""A queue that was switched off when the desk or the kiosk loaded appears there once it is
switched on, without a reload: the page follows ``queues:all``, takes the queue's card or
button from the page loaded again, and follows its channel, whose snapshot says whether the
queue is on. Run by the Node.js that comes with Playwright, with the page's elements stood in
for (no browser, well under a second)."""

from __future__ import annotations

from tests.web.page_scripts import STAND_IN, run, script
from tests.web.test_desk_script import PAGE as DESK_PAGE
from tests.web.test_desk_script import SCRIPT as DESK_SCRIPT

KIOSK_SCRIPT = script("queue.js") + script("once.js") + script("kiosk.js")

# The page as loaded again: the queue's element, the one after it, and the configuration.
LOADED = """
var fetched = [];
function loadedPage(elements, config) {
  return {
    querySelector: function (selector) {
      var id = /data-queue-id="(\\d+)"/.exec(selector);
      return id ? elements[id[1]] || null : null;
    },
    getElementById: function (id) {
      return id === config.id ? {textContent: JSON.stringify(config.data)} : null;
    },
  };
}
function servePage(url, loaded) {
  var fetchOther = window.fetch;
  window.location = {href: url};
  window.fetch = function (asked, options) {
    if (asked !== url) return fetchOther(asked, options);
    fetched.push(asked);
    return Promise.resolve({ok: true, text: function () { return Promise.resolve("<html>"); }});
  };
  window.DOMParser = function () {
    this.parseFromString = function () { return loaded; };
  };
}
function settle(then) { setTimeout(function () { setTimeout(then, 0); }, 0); }
"""

KIOSK_PAGE = """
var opened = [], clicks = {}, channels = {};
function kioskButton(queueId) {
  var button = standIn();
  var count = {textContent: "0"};
  button.count = count;
  button.hidden = false;
  button.getAttribute = function (name) {
    return {"data-name": "Therapy", "data-issue-url": "/api/v1/queues/" + queueId + "/tickets",
            "data-queue-id": String(queueId)}[name];
  };
  button.addEventListener = function (type, fn) { clicks[queueId] = fn; };
  button.querySelector = function () { return count; };
  button.nextElementSibling = null;
  return button;
}
var shown = {1: kioskButton(1)};
var grid = {added: [], appendChild: function (e) {
  grid.added.push(e); shown[e.getAttribute("data-queue-id")] = e; return e; }};
var empty = {hidden: false};
var config = {printUrl: "/kiosk/ticket/{id}/print", ticketsOnPaper: [], texts: {refusals: {}}};
var document = standIn();
document.querySelectorAll = function () {
  return Object.keys(shown).map(function (id) { return shown[id]; });
};
document.querySelector = function (selector) {
  var id = /data-queue-id="(\\d+)"/.exec(selector);
  if (id) return shown[id[1]] || null;
  if (selector === ".kiosk__grid") return grid;
  if (selector === ".kiosk .empty") return empty;
  return null;
};
document.importNode = function (node) { node.imported = true; return node; };
document.getElementById = function (id) {
  return id === "kiosk-config" ? {textContent: JSON.stringify(config)} : standIn();
};
window.document = document;
window.open = function () {
  var page = {location: {}, close: function () {}};
  opened.push(page);
  return page;
};
window.fetch = function () {
  var body = JSON.stringify({id: 7, code: "L-001"});
  return Promise.resolve({status: 201, text: function () { return Promise.resolve(body); }});
};
window.ClinicSocket = {subscribe: function (channel, h) { channels[channel] = h; return {}; }};
window.setTimeout = setTimeout;
window.clearTimeout = function () {};
var fresh = kioskButton(2);
"""


def test_a_queue_switched_on_gets_its_kiosk_button_without_a_reload():
    program = (
        STAND_IN
        + LOADED
        + KIOSK_PAGE
        + """servePage("/kiosk", loadedPage({2: fresh},
            {id: "kiosk-config", data: {ticketsOnPaper: [2]}}));"""
        + KIOSK_SCRIPT
        + """
var seen = {};
channels["queues:all"].onSnapshot({active: [1]});
seen.fetchedForShown = fetched.length;
channels["queues:all"].onEvent({type: "queue.switched_on", data: {queue_id: 2}});
channels["queues:all"].onEvent({type: "queue.switched_on", data: {queue_id: 2}});
settle(function () {
  seen.fetched = fetched.slice();
  seen.added = grid.added.map(function (b) {
    return [b.getAttribute("data-queue-id"), b.imported];
  });
  seen.empty = empty.hidden;
  seen.followed = Object.keys(channels).sort();
  channels["queues:all"].onEvent({type: "queue.switched_on", data: {queue_id: 2}});
  channels["board:2"].onSnapshot({queue_id: 2, waiting: 4, active: true});
  seen.count = fresh.count.textContent;
  clicks[2]();
  settle(function () {
    seen.fetchedAfter = fetched.length;
    seen.browserPrints = opened.length;  // its thermal printer prints it, as the page says
    process.stdout.write(JSON.stringify(seen));
    process.exit(0);  // not waiting out the issued ticket's time on the screen
  });
});
"""
    )
    assert run(program) == {
        "fetchedForShown": 0,
        "fetched": ["/kiosk"],
        "added": [["2", True]],
        "empty": True,
        "followed": ["board:1", "board:2", "queues:all"],
        "count": "4",
        # Switched on again while on the page: its labels are drawn again from it loaded anew.
        "fetchedAfter": 2,
        "browserPrints": 0,
    }


def test_a_kiosk_back_on_its_socket_hides_a_queue_switched_off_meanwhile():
    program = STAND_IN + LOADED + KIOSK_PAGE + KIOSK_SCRIPT + """
var seen = [];
var board = channels["board:1"], button = shown[1];
board.onSnapshot({queue_id: 1, waiting: 2, active: false}); seen.push(button.hidden);
board.onSnapshot({queue_id: 1, waiting: 2, active: true}); seen.push(button.hidden);
process.stdout.write(JSON.stringify(seen));
"""
    assert run(program) == [True, False]


DESK = """
var prints = [], grid = {placed: [], insertBefore: function (e, before) {
  grid.placed.push([e.getAttribute("data-queue-id"), before.getAttribute("data-queue-id")]);
  return e; }};
card.parentNode = grid;
function deskCard(queueId) {
  var issueForm = form({"button[type=submit]": el("button"),
                        "input[name=priority]:checked": {value: "normal"}},
                       {comment: {value: ""}});
  var c = el("section");
  c.attrs["data-queue-id"] = String(queueId);
  c.parts = {"[data-tickets]": el("ol"), "[data-waiting]": el("strong"),
             "[data-summary]": el("p"),
             "[data-filter]": {value: "", addEventListener: function () {}},
             "[data-more]": el("button"), "form": issueForm, "[data-print-scope]": el("div")};
  return c;
}
var fresh = deskCard(2), freshOne = deskCard(1);
fresh.nextElementSibling = freshOne;
document.querySelector = function (selector) {
  return /data-queue-id="1"/.test(selector) ? card : null;
};
document.importNode = function (node) { return node; };
window.ClinicPrintStatus = {follow: function (box) {
  prints.push(box === fresh.parts["[data-print-scope]"]);
}};
servePage("/queue/desk", loadedPage({1: freshOne, 2: fresh}, {id: "desk-config", data: {}}));
"""


def test_a_queue_switched_on_gets_its_desk_card_in_its_place_without_a_reload():
    program = DESK_PAGE + LOADED + DESK + DESK_SCRIPT + """
var seen = {};
listing.onSnapshot({active: [1, 2]});
settle(function () {
  seen.fetched = fetched;
  seen.placed = grid.placed;
  seen.prints = prints;
  handlers.onSnapshot({queue_id: 2, day: "2026-03-02", tickets: [], waiting: 0, counts: {},
                       active: false});
  seen.hiddenWhileOff = fresh.hidden;
  handlers.onEvent({type: "queue.switched_on", data: {queue_id: 2}});
  seen.hiddenWhenOn = fresh.hidden;
  process.stdout.write(JSON.stringify(seen));
});
"""
    assert run(program) == {
        "fetched": ["/queue/desk"],
        "placed": [["2", "1"]],
        "prints": [True],
        "hiddenWhileOff": True,
        "hiddenWhenOn": False,
    }


def test_a_kiosk_missing_several_queues_loads_its_page_once_for_them_all():
    program = (
        STAND_IN
        + LOADED
        + KIOSK_PAGE
        + """var third = kioskButton(3);
servePage("/kiosk", loadedPage({2: fresh, 3: third}, {id: "kiosk-config", data: {}}));"""
        + KIOSK_SCRIPT
        + """
channels["queues:all"].onSnapshot({active: [1, 2, 3]});
settle(function () {
  process.stdout.write(JSON.stringify({fetched: fetched.length,
    added: grid.added.map(function (b) { return b.getAttribute("data-queue-id"); })}));
});
"""
    )
    assert run(program) == {"fetched": 1, "added": ["2", "3"]}


def test_a_queue_made_while_the_kiosk_is_open_gets_its_button_without_a_reload():
    program = (
        STAND_IN
        + LOADED
        + KIOSK_PAGE
        + """servePage("/kiosk", loadedPage({2: fresh}, {id: "kiosk-config", data: {}}));"""
        + KIOSK_SCRIPT
        + """
channels["queues:all"].onSnapshot({active: [1]});
channels["queues:all"].onEvent({type: "queue.created", data: {queue_id: 2}});
settle(function () {
  process.stdout.write(JSON.stringify({fetched: fetched,
    added: grid.added.map(function (b) { return b.getAttribute("data-queue-id"); }),
    followed: Object.keys(channels).sort()}));
});
"""
    )
    assert run(program) == {
        "fetched": ["/kiosk"],
        "added": ["2"],
        "followed": ["board:1", "board:2", "queues:all"],
    }


def test_a_queue_switched_on_again_redraws_the_kiosk_buttons_labels_it_kept_hidden():
    """Switched off, its button hidden; switched on again with another doctor or room (or
    changed while it was off): the button shows the labels of the page loaded again, not
    those it was hidden with."""
    program = (
        STAND_IN
        + LOADED
        + KIOSK_PAGE
        + """
function labelled(text) {
  var label = {textContent: text, hidden: false};
  return label;
}
var kept = shown[1], keptLabel = labelled("Therapy · Dr Ivanov");
kept.querySelectorAll = function () { return [keptLabel]; };
kept.setAttribute = function (name, value) {
  kept.attrs = kept.attrs || {};
  kept.attrs[name] = value;
};
var again = kioskButton(1), againLabel = labelled("Therapy · room 44");
again.querySelectorAll = function () { return [againLabel]; };
servePage("/kiosk", loadedPage({1: again}, {id: "kiosk-config", data: {}}));
"""
        + KIOSK_SCRIPT
        + """
channels["board:1"].onEvent({type: "queue.switched_off", data: {queue_id: 1}});
var hidden = kept.hidden;
channels["board:1"].onEvent({type: "queue.switched_on", data: {queue_id: 1}});
channels["queues:all"].onEvent({type: "queue.switched_on", data: {queue_id: 1}});
settle(function () {
  process.stdout.write(JSON.stringify({
    hiddenWhileOff: hidden, shownNow: !kept.hidden, fetched: fetched, label: keptLabel.textContent,
  }));
});
"""
    )
    assert run(program) == {
        "hiddenWhileOff": True,
        "shownNow": True,
        "fetched": ["/kiosk"],
        "label": "Therapy · room 44",
    }
