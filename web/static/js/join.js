/*
 * Online joining: posts the phone number to the public API and shows the ticket with a link
 * to the patient's own page, or the reason the queue refused, in the page's language.
 */
(function () {
  "use strict";

  var Q = window.ClinicQueue;
  var config = Q.config("join-config");
  var texts = config.texts;
  var form = document.getElementById("join-form");
  var errorBox = document.getElementById("join-error");
  var ticketBox = document.getElementById("join-ticket");

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
    Q.api("POST", config.joinUrl, { phone: form.elements.phone.value })
      .then(
        function (answer) {
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
