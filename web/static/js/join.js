/*
 * Online joining: posts the phone number to the public API and shows the ticket with a link
 * to the patient's own page, or the reason the queue refused, in the page's language.
 * Each attempt sends an idempotency key, kept in the tab's sessionStorage (per queue and
 * phone) until an answer comes: a join whose answer the network lost is sent again under the
 * same key, also after a reload, and is answered with the ticket it made, link and all,
 * where a new join would be refused (already_joined) without it.
 */
(function () {
  "use strict";

  var Q = window.ClinicQueue;
  var config = Q.config("join-config");
  var texts = config.texts;
  var form = document.getElementById("join-form");
  var errorBox = document.getElementById("join-error");
  var ticketBox = document.getElementById("join-ticket");

  // The keys of attempts still unanswered ("<key> <time>"), also in memory: a browser may
  // keep no storage. Used again for half an hour: a join lost longer ago made a ticket that
  // may have been called since, and the patient joining now means a new one.
  var KEPT_MS = 30 * 60 * 1000;
  var unanswered = {};

  function keyOf(name) {
    var kept = null;
    try {
      kept = window.sessionStorage.getItem(name);
    } catch (e) {
      // no storage: the memory's
    }
    var parts = (kept || unanswered[name] || "").split(" ");
    return Date.now() - Number(parts[1]) < KEPT_MS ? parts[0] : null;
  }

  function keep(name, key) {
    var kept = key + " " + String(Date.now());
    unanswered[name] = kept;
    try {
      window.sessionStorage.setItem(name, kept);
    } catch (e) {
      // no storage: kept in memory, until the page is left
    }
  }

  function forget(name) {
    delete unanswered[name];
    try {
      window.sessionStorage.removeItem(name);
    } catch (e) {
      // no storage: forgotten from memory
    }
  }

  var freshKey = window.ClinicOnce.fresh;

  // The same phone however it is typed ("90 111 22 33", "+998901112233"): its last nine
  // digits, the number without the country code.
  function slot(phone) {
    return "clinic.join:" + config.joinUrl + ":" + String(phone).replace(/\D/g, "").slice(-9);
  }

  function refusal(answer) {
    var body = answer.body || {};
    if (answer.status === 409 && config.refusals[body.code]) {
      return Q.fill(config.refusals[body.code], config.window);
    }
    if (answer.status === 422) return config.refusals.phone;
    if (answer.status === 429) return config.refusals.too_many;
    return Q.problem(texts, answer);
  }

  // A phone that has a ticket already is refused (already_joined) without its link: the
  // desk prints a lost one again.
  function showTicket(answer) {
    document.getElementById("join-lead").textContent = texts.joined;
    document.getElementById("join-code").textContent = answer.body.code;
    document.getElementById("join-link").href = answer.body.patient_url;
    ticketBox.setAttribute("data-code", answer.body.code);
    ticketBox.hidden = false;
    form.hidden = true;
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    Q.say(errorBox, "");
    var phone = form.elements.phone.value;
    var name = slot(phone);
    var key = keyOf(name);
    if (!key) {
      key = freshKey();
      keep(name, key);
    }
    Q.api("POST", config.joinUrl, { phone: phone, idempotency_key: key })
      .then(
        function (answer) {
          // Answered: the next attempt is a new one. A gateway's 5xx may have come after the
          // ticket was made, and a 429 (the address's rate limit, shared by a clinic's Wi-Fi)
          // says nothing of an earlier attempt whose answer was lost: their key stays.
          if (answer.status < 500 && answer.status !== 429) forget(name);
          if (answer.status === 201) {
            showTicket(answer);
          } else {
            errorBox.setAttribute("data-code", (answer.body && answer.body.code) || "");
            Q.say(errorBox, refusal(answer));
          }
        },
        function () {
          Q.say(errorBox, texts.network);
        }
      )
      .then(function () {
        button.disabled = false;
      });
  });
})();
