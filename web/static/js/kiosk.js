/*
 * The kiosk: a touch on a queue issues a ticket (source "kiosk") through the API, shows it
 * large and opens it for printing (unless the queue's thermal printer prints it: one paper a
 * ticket); the screen returns to the buttons by itself, and a refusal (a queue closed for the
 * day, or switched off) clears itself too. Waiting counts stay live from the queues' board
 * channels, which also say when a queue is switched off (its button goes) or on again; a
 * queue that was off when the kiosk loaded gets its button once it is switched on
 * (ClinicQueue.addSwitchedOn). A patient may touch his language: the kiosk speaks it until
 * his ticket is shown and gone, or nobody has touched it for a minute (``config.home``).
 * Each touch sends an idempotency key: a touch whose answer the network lost (its ticket may
 * have been issued) is sent again under the same key by the next touch of that queue within a
 * minute, also after the patient touched his language (kept in the tab's sessionStorage), and
 * is answered with that ticket rather than a second one.
 */
(function () {
  "use strict";

  var Q = window.ClinicQueue;
  var config = Q.config("kiosk-config");
  var texts = config.texts;
  var result = document.getElementById("kiosk-result");
  var code = document.getElementById("kiosk-code");
  var queueName = document.getElementById("kiosk-queue");
  var errorBox = document.getElementById("kiosk-error");
  // The queue's thermal printer is failing (out of paper, unreachable): no paper may come,
  // so the screen shows the code the paper would carry, of the patient's page.
  var printerNote = document.getElementById("kiosk-printer");
  var qr = document.getElementById("kiosk-qr");
  var SHOWN_MS = 20000;
  // Without paper, the number and its code stay longer: a phone takes a while to scan it.
  var SHOWN_WITHOUT_PAPER_MS = 45000;
  // A refusal is for the person who touched: the next one at the kiosk does not find it.
  var REFUSAL_SHOWN_MS = 10000;

  var hideTimer = null;
  var refusalTimer = null;

  // The touch whose answer was lost, for the next touch of its queue. Kept for a minute: a
  // patient tries again within seconds, and a ticket issued long before may have been called
  // since. Kept in the tab too: the patient's touch of his language reloads the page.
  var LOST_KEPT_MS = 60000;
  var lostKey = window.ClinicOnce.lostKey(LOST_KEPT_MS, "clinic.kiosk.lost");

  function refuse(text) {
    window.clearTimeout(refusalTimer);
    Q.say(errorBox, text);
    if (text) {
      refusalTimer = window.setTimeout(function () {
        Q.say(errorBox, "");
      }, REFUSAL_SHOWN_MS);
    }
  }

  function setBusy(busy) {
    Array.prototype.forEach.call(document.querySelectorAll(".kiosk__button"), function (button) {
      button.disabled = busy;
    });
  }

  function done() {
    window.clearTimeout(hideTimer);
    result.hidden = true;
  }

  // A patient who touched his language has it until his ticket is shown and gone, or until
  // nobody has touched the kiosk for a while: then the kiosk speaks its own again.
  var IDLE_MS = 60000;
  var idleTimer = null;

  function finish() {
    done();
    if (config.home) window.location.assign(config.home);
  }

  function stillHere() {
    window.clearTimeout(idleTimer);
    if (config.home) idleTimer = window.setTimeout(finish, IDLE_MS);
  }

  function showTicket(ticket, name) {
    code.textContent = ticket.code;
    queueName.textContent = name;
    var failing = ticket.printer_failing === true;
    if (printerNote) printerNote.hidden = !failing;
    if (qr) {
      if (failing) qr.setAttribute("src", config.qrUrl.replace("{id}", String(ticket.id)));
      else qr.removeAttribute("src");
    }
    result.setAttribute("data-code", ticket.code);
    result.hidden = false;
    window.clearTimeout(hideTimer);
    hideTimer = window.setTimeout(finish, failing ? SHOWN_WITHOUT_PAPER_MS : SHOWN_MS);
  }

  function issue(button) {
    setBusy(true);
    refuse("");
    // The person before's number goes: refused, this touch would seem to have issued it.
    done();
    var queueId = button.getAttribute("data-queue-id");
    var key = lostKey.key(queueId);
    var url = button.getAttribute("data-issue-url");
    Q.issueAndPrint(url, { idempotency_key: key }, config, queueId)
      .then(
        function (answer) {
          // A gateway's 5xx may have come after the ticket was made, and a 429 says nothing
          // of a touch whose answer was lost: as a lost answer, the key stays.
          if (answer.status >= 500 || answer.status === 429) lostKey.lost(queueId, "", key);
          if (answer.status !== 201) {
            refuse(Q.problem(texts, answer));
            return;
          }
          showTicket(answer.body, button.getAttribute("data-name"));
        },
        function () {
          lostKey.lost(queueId, "", key);
          refuse(texts.network);
        }
      )
      .then(function () {
        setBusy(false);
      });
  }

  function follow(button) {
    button.addEventListener("click", function () {
      issue(button);
    });
    var count = button.querySelector("[data-waiting]");
    var day = null; // the clinic day the count is of
    window.ClinicSocket.subscribe("board:" + button.getAttribute("data-queue-id"), {
      onSnapshot: function (data) {
        if (!data) return;
        day = data.day || null;
        count.textContent = String(data.waiting);
        // Switched off while the kiosk was away from the socket: no switch was heard.
        button.hidden = data.active === false;
      },
      onEvent: function (event) {
        if (event.type === "queue.switched_off" || event.type === "queue.switched_on") {
          // Switched off, a touch would only be refused: the button goes until it is back.
          button.hidden = event.type === "queue.switched_off";
          return;
        }
        var of = event.data && event.data.day;
        // The day before, its last patient finished past midnight: its count (none waits
        // there any more) is not the one of the day the kiosk issues for.
        if (of && day && of < day) return;
        if (of) day = of;
        if (event.data && typeof event.data.waiting === "number") {
          count.textContent = String(event.data.waiting);
        }
      },
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll(".kiosk__button"), follow);
  // A queue switched on that was off when the kiosk loaded gets its button without a reload.
  Q.addSwitchedOn(
    {
      item: ".kiosk__button",
      list: ".kiosk__grid",
      empty: ".kiosk .empty",
      config: "kiosk-config",
    },
    config,
    follow
  );
  document.getElementById("kiosk-done").addEventListener("click", finish);
  document.addEventListener("pointerdown", stillHere);
  stillHere();
})();
