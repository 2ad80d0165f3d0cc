/*
 * The kiosk: a touch on a queue issues a ticket (source "kiosk") through the API, shows it
 * large and opens it for printing; the screen returns to the buttons by itself. Waiting
 * counts stay live from the queues' board channels.
 */
(function () {
  "use strict";

  var Q = window.ClinicQueue;
  var config = Q.config("kiosk-config");
  var texts = config.texts;
  var buttons = document.querySelectorAll(".kiosk__button");
  var result = document.getElementById("kiosk-result");
  var code = document.getElementById("kiosk-code");
  var queueName = document.getElementById("kiosk-queue");
  var errorBox = document.getElementById("kiosk-error");
  var SHOWN_MS = 20000;

  var hideTimer = null;

  function setBusy(busy) {
    Array.prototype.forEach.call(buttons, function (button) {
      button.disabled = busy;
    });
  }

  function done() {
    window.clearTimeout(hideTimer);
    result.hidden = true;
  }

  function showTicket(ticket, name) {
    code.textContent = ticket.code;
    queueName.textContent = name;
    result.setAttribute("data-code", ticket.code);
    result.hidden = false;
    window.clearTimeout(hideTimer);
    hideTimer = window.setTimeout(done, SHOWN_MS);
  }

  function issue(button) {
    setBusy(true);
    Q.say(errorBox, "");
    Q.issueAndPrint(button.getAttribute("data-issue-url"), { source: "kiosk" }, config.printUrl)
      .then(
        function (answer) {
          if (answer.status !== 201) {
            Q.say(errorBox, Q.problem(texts, answer));
            return;
          }
          showTicket(answer.body, button.getAttribute("data-name"));
        },
        function () {
          Q.say(errorBox, texts.network);
        }
      )
      .then(function () {
        setBusy(false);
      });
  }

  Array.prototype.forEach.call(buttons, function (button) {
    button.addEventListener("click", function () {
      issue(button);
    });
    var count = button.querySelector("[data-waiting]");
    window.ClinicSocket.subscribe("board:" + button.getAttribute("data-queue-id"), {
      onSnapshot: function (data) {
        if (data) count.textContent = String(data.waiting);
      },
      onEvent: function (event) {
        if (event.data && typeof event.data.waiting === "number") {
          count.textContent = String(event.data.waiting);
        }
      },
    });
  });
  document.getElementById("kiosk-done").addEventListener("click", done);
})();
