"""The cashier bills a walk-in patient from her desk: she finds and chooses him, his ticket of
today is offered, she adds services from the price list and sees the total, and creates the
invoice; a refusal is said in her language next to what it names. The desk's own scripts
(queue.js, money.js, once.js, cashier-invoice.js) run in the Node.js that comes with Playwright with
the page's elements stood in for and the server's answers given; the texts and addresses
are those the desk page renders (no browser, about a second)."""

from __future__ import annotations

import json
import re
from urllib.parse import unquote

import pytest

from tests.conftest import ONE_BACKEND
from tests.web.page_scripts import run, script

# The page: its elements by id (made when first asked for), each keeping what the script
# sets, its children, attributes and listeners; fetch answers from ``answers`` by request.
PAGE = r"""
var window = globalThis;
function El(tag) {
  this.tagName = String(tag || "div").toUpperCase();
  this.children = []; this.attrs = {}; this.listeners = {}; this.elements = {};
  this.hidden = false; this.disabled = false; this.value = ""; this.own = "";
}
Object.defineProperty(El.prototype, "textContent", {
  get: function () {
    return [this.own].concat(this.children.map(function (c) { return c.textContent; }))
      .filter(Boolean).join(" ");
  },
  set: function (text) { this.own = String(text); this.children = []; },
});
El.prototype.appendChild = function (child) { this.children.push(child); return child; };
El.prototype.setAttribute = function (name, value) { this.attrs[name] = String(value); };
El.prototype.getAttribute = function (name) {
  return name in this.attrs ? this.attrs[name] : null;
};
El.prototype.addEventListener = function (type, fn) {
  (this.listeners[type] = this.listeners[type] || []).push(fn);
};
El.prototype.fire = function (type) {
  var self = this;
  (this.listeners[type] || []).forEach(function (fn) {
    fn({ target: self, preventDefault: function () {} });
  });
};
El.prototype.reset = function () {
  var self = this;
  Object.keys(this.elements).forEach(function (name) { self.elements[name].value = ""; });
};
El.prototype.all = function () {
  return [this].concat.apply([this], this.children.map(function (c) { return c.all(); }))
    .filter(function (e, i, list) { return list.indexOf(e) === i; });
};
El.prototype.querySelector = function () { return this.submitButton; };
El.prototype.focus = function () {};

var byId = {};
var document = {
  getElementById: function (id) { return (byId[id] = byId[id] || new El()); },
  createElement: function (tag) { return new El(tag); },
  querySelector: function (selector) {
    var meta = new El("meta");
    meta.setAttribute("content", selector === 'meta[name="csrf-token"]' ? "csrf-1" : "");
    return meta;
  },
};
window.document = document;
byId["cashier-config"] = new El("script");
byId["cashier-config"].own = JSON.stringify(CONFIG);
["new-invoice-patient", "new-invoice-service"].forEach(function (id) {
  document.getElementById(id).elements.q = new El("input");
});
document.getElementById("new-invoice").submitButton = new El("button");

var sent = [];
window.fetch = function (url, options) {
  sent.push({ method: options.method, url: url, headers: options.headers,
              body: options.body ? JSON.parse(options.body) : null });
  var path = url.split("?")[0];
  var answer = options.method === "POST" ? posts.shift() : answers[path];
  if (answer === null) return Promise.reject(new TypeError("the network lost the answer"));
  return Promise.resolve({
    status: answer[0],
    text: function () { return Promise.resolve(JSON.stringify(answer[1])); },
  });
};
function settle() {
  return new Promise(function (done) { setTimeout(done, 0); });
}
function $(id) { return document.getElementById(id); }
function found(root, test) { return root.all().filter(test); }
function button(root, action) {
  return found(root, function (e) { return e.getAttribute("data-action") === action; });
}
function shown(id) { return $(id).hidden ? "" : $(id).textContent; }
function lineRows() {
  return $("new-invoice-lines").children.map(function (tr) { return tr.textContent; });
}
"""


def desk_program(config: dict, answers: dict, story: str, posts: list | None = None) -> str:
    """The desk's scripts on the stood-in page, given the server's ``answers`` (by path) and
    ``posts`` (in order), then ``story``."""
    return (
        f"var CONFIG = {json.dumps(config)};\nvar answers = {json.dumps(answers)};\n"
        f"var posts = {json.dumps(posts or [])};\n"
        + PAGE
        + script("queue.js")
        + script("money.js")
        + script("once.js")
        + script("cashier-invoice.js")
        + story
    )


STORY = r"""
(async function () {
  var said = {};
  $("new-invoice-card").open = true;  // she unfolds the form
  // Create pressed with nothing chosen: said where it is missing, nothing sent.
  $("new-invoice").fire("submit");
  said.empty = [shown("new-invoice-patient-error"), shown("new-invoice-lines-error"), sent.length];

  $("new-invoice-patient").elements.q.value = "каримов";
  $("new-invoice-patient").fire("submit");
  await settle();
  said.patients = $("new-invoice-patients").textContent;
  button($("new-invoice-patients"), "choose")[0].fire("click");
  await settle();
  said.chosen = [$("new-invoice-chosen").hidden, $("new-invoice-chosen-name").textContent,
                 $("new-invoice-patient").hidden];
  said.tickets = [$("new-invoice-ticket-field").hidden, $("new-invoice-ticket").textContent,
                  $("new-invoice-ticket").value];

  $("new-invoice-service").elements.q.value = "узи";
  $("new-invoice-service").fire("submit");
  await settle();
  said.services = $("new-invoice-services").textContent;
  var add = button($("new-invoice-services"), "choose");
  add[0].fire("click");
  add[0].fire("click");  // the same service again: one more of it
  add[1].fire("click");
  said.lines = lineRows();
  said.total = shown("new-invoice-total");
  // A quantity typed as no whole number: the total leaves it out, and it is refused on its line.
  function quantity(index) {
    var row = $("new-invoice-lines").children[index];
    return found(row, function (e) { return e.name === "quantity"; })[0];
  }
  quantity(1).value = "0";
  quantity(1).fire("input");
  var before = sent.length;
  $("new-invoice").fire("submit");
  said.badQuantity = [shown("new-invoice-total"), lineRows()[1], sent.length - before];
  quantity(1).value = "1";
  quantity(1).fire("input");

  // The server no longer has the second service: said on its line.
  $("new-invoice").fire("submit");
  await settle();
  said.refusedLine = [lineRows()[1], shown("new-invoice-error")];
  button($("new-invoice-lines").children[1], "remove-line")[0].fire("click");
  said.afterRemove = [lineRows(), shown("new-invoice-total")];

  // The ticket became another patient's meanwhile: said at the ticket.
  $("new-invoice").fire("submit");
  await settle();
  said.refusedTicket = shown("new-invoice-ticket-error");
  // A refusal with a code: worded by it, under the button.
  $("new-invoice").fire("submit");
  await settle();
  said.refusedCode = shown("new-invoice-error");
  // The answer is lost on the way: pressed again, the same request goes with the same key.
  $("new-invoice").fire("submit");
  await settle();
  said.lost = shown("new-invoice-error");

  $("new-invoice").fire("submit");
  await settle();
  said.created = shown("cashier-status");
  said.cleared = [lineRows(), $("new-invoice-chosen").hidden, $("new-invoice-patient").hidden,
                  $("new-invoice-ticket-field").hidden, shown("new-invoice-total"),
                  shown("new-invoice-ticket-error"), $("new-invoice-card").open];
  said.sent = sent;
  process.stdout.write(JSON.stringify(said));
})();
"""

PATIENT = {"id": 7, "full_name": "Каримов Алишер", "phone": "+998901234567"}
WAITING = {"id": 31, "code": "T-004", "queue_name": "Терапия", "status": "waiting",
           "paid_at": None}  # fmt: skip
SERVED = {"id": 30, "code": "L-002", "queue_name": "Лаборатория", "status": "served",
          "paid_at": "2026-03-02T04:10:00+00:00"}  # fmt: skip
UZI = {
    "id": 3,
    "code": "US-01",
    "name_ru": "УЗИ брюшной полости",
    "name_uz": "Qorin bo'shlig'i UTT",
    "name_en": "Abdominal ultrasound",
    "price": 150_000_00,
}
ECG = {"id": 4, "code": "ECG", "name_ru": "ЭКГ", "name_uz": "EKG", "name_en": "ECG",
       "price": 25_000_00}  # fmt: skip


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_the_cashier_bills_a_walk_in_patient_from_her_desk(client_as):
    page = client_as("cashier").get("/payments/desk?lang=ru").get_data(as_text=True)
    config = json.loads(re.search(r'id="cashier-config">(.*?)</script>', page).group(1))
    answers = {
        config["patientsApi"]: [200, {"items": [PATIENT]}],
        config["patientTicketsApi"].replace("{id}", "7"): [200, [WAITING, SERVED]],
        config["servicesApi"]: [200, {"items": [UZI, ECG]}],
    }
    posts = [
        [404, {"status": 404, "errors": {"lines.1.service_id": ["unknown service"]}}],
        [422, {"status": 422, "errors": {"ticket_id": ["belongs to another patient"]}}],
        [409, {"status": 409, "code": "changed", "detail": "try again"}],
        None,
        [201, {"id": 12, "number": "26-0000012", "total": 300_000_00}],
    ]
    said = run(desk_program(config, answers, STORY, posts))

    assert said["empty"] == [
        "Сначала найдите и выберите пациента.",
        "Добавьте хотя бы одну услугу.",
        0,
    ]
    assert "Каримов Алишер · +998901234567" in said["patients"]
    assert said["chosen"] == [False, "Каримов Алишер", True]
    # His ticket waiting to be paid is the one chosen; the one already paid is offered too.
    hidden, options, chosen = said["tickets"]
    assert not hidden and chosen == "31"
    assert options == "Без талона T-004 · Терапия L-002 · Лаборатория · оплачен"
    assert "US-01 · УЗИ брюшной полости · 150 000 сум" in said["services"]
    assert len(said["lines"]) == 2
    assert said["lines"][0].startswith("US-01 · УЗИ брюшной полости 300 000 сум")
    assert said["total"] == "Итого: 325 000 сум"
    total, line, asked = said["badQuantity"]
    assert (total, asked) == ("Итого: 300 000 сум", 0)
    assert line.endswith("Количество — целое число от 1 до 1000.")
    assert said["refusedLine"][0].endswith("Этой услуги больше нет в прайс-листе: удалите её.")
    assert said["refusedLine"][1] == ""
    assert len(said["afterRemove"][0]) == 1 and said["afterRemove"][1] == "Итого: 300 000 сум"
    assert said["refusedTicket"].startswith("По этому талону этот пациент платить не может.")
    assert said["refusedCode"] == "Счёт только что изменился. Повторите попытку."
    assert said["created"] == "Счёт 26-0000012 на 300 000 сум добавлен в список."
    # Cleared and folded: the day's list, the new invoice on top, is in sight.
    assert said["cleared"] == [[], True, False, True, "", "", False]

    creates = [s for s in said["sent"] if s["method"] == "POST"]
    assert len(creates) == 5  # the empty form sent nothing
    assert all(s["url"] == config["api"] for s in creates)
    keys = [s["body"].pop("idempotency_key") for s in creates]
    assert creates[0]["body"] == {
        "patient_id": 7,
        "ticket_id": 31,
        "lines": [{"service_id": 3, "quantity": 2}, {"service_id": 4, "quantity": 1}],
    }
    # A request the API answered (a refusal too) is done with its key; one whose answer was
    # lost is sent again with its key, so the API makes that invoice once.
    assert said["lost"] == "Сервер недоступен. Проверьте подключение и повторите попытку."
    assert creates[3]["body"] == creates[4]["body"] == creates[2]["body"]
    assert keys[4] == keys[3] and len(set(keys[:4])) == 4
    assert creates[-1]["body"]["lines"] == [{"service_id": 3, "quantity": 2}]
    assert creates[-1]["headers"]["X-CSRFToken"] == "csrf-1"
    searched = [unquote(s["url"]) for s in said["sent"] if s["method"] == "GET"]
    assert searched == [
        f"{config['patientsApi']}?page_size=8&active=true&q=каримов",
        config["patientTicketsApi"].replace("{id}", "7"),
        f"{config['servicesApi']}?page_size=8&active=true&q=узи",
    ]


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_the_price_list_search_lists_its_last_search_whichever_answer_comes_first(client_as):
    """She searches "у", then "узи" before the first answer came: the first, come last, is
    not listed over the second."""
    page = client_as("cashier").get("/payments/desk?lang=ru").get_data(as_text=True)
    config = json.loads(re.search(r'id="cashier-config">(.*?)</script>', page).group(1))
    answers = {config["servicesApi"]: [200, {"items": [UZI]}]}
    story = r"""
var answeredLate = null, asked = 0, given = window.fetch;
window.fetch = function (url, options) {
  asked += 1;
  if (asked > 1) return given(url, options);
  return new Promise(function (done) {
    answeredLate = function () {
      done({status: 200, text: function () { return Promise.resolve(JSON.stringify(BOTH)); }});
    };
  });
};
(async function () {
  $("new-invoice-card").open = true;
  var form = $("new-invoice-service");
  form.elements.q.value = "у";
  form.fire("submit");
  form.elements.q.value = "узи";
  form.fire("submit");
  await settle();
  var second = $("new-invoice-services").textContent;
  answeredLate();
  await settle();
  process.stdout.write(JSON.stringify([asked, second, $("new-invoice-services").textContent]));
})();
""".replace("BOTH", json.dumps({"items": [UZI, ECG]}))
    asked, second, after = run(desk_program(config, answers, story))
    assert asked == 2 and "US-01" in second and "ECG" not in second
    assert after == second
