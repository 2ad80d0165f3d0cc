/*
 * The patient's own page: follows the ticket's channel (status, room) and its queue's board
 * channel; each board event means the queue moved, so the position and the estimated wait
 * are read again from the API.
 */
(function () {
  "use strict";

  var Q = window.ClinicQueue;
  var config = Q.config("patient-config");
  var texts = config.texts;
  var root = document.getElementById("patient");
  var status = document.getElementById("patient-status");
  var call = document.getElementById("patient-call");
  var figures = document.getElementById("patient-figures");
  var ahead = document.getElementById("patient-ahead");
  var wait = document.getElementById("patient-wait");
  var over = document.getElementById("patient-over");
  var leave = document.getElementById("patient-leave");
  var leaveButton = leave.querySelector("button");
  var errorBox = document.getElementById("patient-error");
  var ACTIVE = { waiting: 1, called: 1, in_service: 1, postponed: 1 };
  var REFRESH_AFTER_MS = 300; // several board events in a row need one reading
  var RETRY_AFTER_MS = 5000; // a reading lost to the network is made again after this

  var state = {};
  var recallsHeard = -1; // the most recalls of this call the phone has buzzed for
  var refreshTimer = null;
  // Changes of the ticket heard: a reading asked before the last of them may tell the ticket
  // as it was before it (called, he would be shown waiting again, and his phone would buzz a
  // second time for the same call). It is not shown: the change asked for a reading of its own.
  var changesHeard = 0;

  // A phone buzzes only for a page that has been touched (Chrome on Android refuses the
  // vibration of one that has not): until it is, a button asks the waiting patient to, and
  // buzzes once to show him it works. A phone that cannot buzz (an iPhone) is asked nothing.
  var alerts = document.getElementById("patient-alerts");
  var activation = navigator.userActivation;
  var touched = !navigator.vibrate || Boolean(activation && activation.hasBeenActive);
  var WAITS = { waiting: 1, postponed: 1 };

  function showAlerts() {
    if (alerts) alerts.hidden = touched || !WAITS[state.status];
  }

  function noteTouch(event) {
    // A tap anywhere lets the page buzz, where the browser says so (else the tap is taken);
    // a tap on the request itself is its button's, which buzzes.
    if (touched || (activation && !activation.hasBeenActive)) return;
    if (event && event.target && alerts.contains && alerts.contains(event.target)) return;
    touched = true;
    showAlerts();
  }

  if (alerts) {
    alerts.querySelector("button").addEventListener("click", function () {
      touched = true;
      showAlerts();
      navigator.vibrate(80);
    });
    if (document.addEventListener) {
      document.addEventListener("click", noteTouch);
      document.addEventListener("touchend", noteTouch);
    }
  }

  function show(data) {
    if (!data) return;
    var before = state.status;
    Object.keys(data).forEach(function (key) {
      state[key] = data[key];
    });
    root.setAttribute("data-status", state.status);
    status.textContent = state.closed_with_day
      ? texts.closedWithDay
      : texts.statuses[state.status] || state.status;
    call.hidden = state.status !== "called";
    call.textContent = state.room ? Q.fill(texts.goTo, { room: state.room }) : texts.goNow;
    figures.hidden = state.status !== "waiting";
    if (typeof state.ahead === "number") ahead.textContent = String(state.ahead);
    if (state.estimated_minutes !== null && state.estimated_minutes !== undefined) {
      wait.textContent = Q.fill(texts.minutes, { minutes: state.estimated_minutes });
    }
    over.hidden = Boolean(ACTIVE[state.status]);
    // He may give up his place while he waits, is called or postponed; not with the doctor.
    leave.hidden = config.leavable.indexOf(state.status) < 0;
    // Called, or called again (a recall: the board chimes again), the phone buzzes too; once
    // per call, however many readings of it come (a late one may be older than the event).
    var calledNow =
      state.status === "called" && (before !== "called" || state.recalls > recallsHeard);
    if (state.status === "called") recallsHeard = Math.max(recallsHeard, state.recalls || 0);
    if (calledNow && navigator.vibrate) navigator.vibrate([300, 150, 300]);
    showAlerts();
  }

  function refresh() {
    refreshTimer = null;
    var asked = changesHeard;
    Q.api("GET", config.stateUrl).then(
      function (answer) {
        if (answer.status === 200) {
          if (asked !== changesHeard) return; // perhaps older than the change: read again
          if (!movedOn(answer.body)) show(answer.body);
        } else if (answer.status !== 404) {
          readAgainLater(); // the server restarting (503): its answer is still owed
        }
      },
      // Out of reach: no event may come to ask again (the socket heard the queue move, or
      // came back with nothing missed), so the page asks again itself until it is answered.
      readAgainLater
    );
  }

  function refreshSoon() {
    if (refreshTimer === null) refreshTimer = window.setTimeout(refresh, REFRESH_AFTER_MS);
  }

  function readAgainLater() {
    if (refreshTimer === null) refreshTimer = window.setTimeout(refresh, RETRY_AFTER_MS);
  }

  // Back in reach, or looked at again (a locked phone freezes the page and its socket, which
  // may take half a minute to be found dead): read at once what changed meanwhile.
  if (window.addEventListener) window.addEventListener("online", refreshSoon);
  if (document.addEventListener) {
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") refreshSoon();
    });
  }

  leaveButton.addEventListener("click", function () {
    if (!window.confirm(leaveButton.getAttribute("data-confirm"))) return;
    leaveButton.disabled = true;
    Q.api("POST", config.leaveUrl).then(
      function (answer) {
        leaveButton.disabled = false;
        if (answer.status === 200) {
          Q.say(errorBox, "");
          show(answer.body);
        } else if (answer.status === 429) {
          // Too many attempts from this address (the rate limit): the ticket is as it was.
          Q.say(errorBox, texts.tooMany);
        } else if (answer.status >= 500) {
          // The server failing or restarting, not the ticket refusing: read it again.
          Q.say(errorBox, texts.network);
          refresh();
        } else {
          Q.say(errorBox, texts.leaveRefused);
          refresh();
        }
      },
      function () {
        leaveButton.disabled = false;
        Q.say(errorBox, texts.network);
      }
    );
  });

  // The "Pay online" card, while an invoice of the ticket is open: paid at the desk or from
  // the phone (or given back), billed, corrected, part paid or part given back at the desk, it is asked again
  // what is still to pay online. The server draws the card (its links and QR codes): one that
  // shows another invoice or amount than is due now, or none while something is, is drawn
  // again by loading the page again.
  var checkout = document.getElementById("patient-checkout");
  var checkoutUrl = checkout
    ? checkout.getAttribute("data-checkout-url")
    : root.getAttribute("data-checkout-url");
  var PAYMENT_EVENTS = { "ticket.paid": 1, "ticket.refunded": 1 };
  // The ticket's invoice changed: they say which ticket, not its state.
  var INVOICE_EVENTS = {
    "invoice.created": 1,
    "invoice.changed": 1,
    "payment.recorded": 1,
    "refund.recorded": 1,
  };

  function drawnFor(due) {
    if (!checkout) return false;
    if (typeof due.amount !== "number") return true; // nothing to tell it by
    return (
      String(due.amount) === checkout.getAttribute("data-due") &&
      due.number === checkout.getAttribute("data-number")
    );
  }

  function checkPayable() {
    Q.api("GET", checkoutUrl).then(
      function (answer) {
        if (answer.status === 404) {
          if (checkout) checkout.hidden = true;
        } else if (answer.status === 200) {
          if (drawnFor(answer.body || {})) checkout.hidden = false;
          else window.location.reload();
        }
      },
      function () {
        /* offline for a moment: the card stays as it was */
      }
    );
  }

  var MOVED_ON = { transferred: 1, served: 1 };

  /**
   * Sent to another queue, or served (perhaps with a return to the first queue): the page is
   * drawn again, and the server opens the ticket he holds now. Heard as an event, or found in
   * the snapshot of a page that was not listening then (a transfer before the page subscribed,
   * or during a network loss longer than the server's history): once, not again for a page
   * that already shows it.
   */
  function movedOn(data) {
    if (!data || !MOVED_ON[data.status] || data.status === root.getAttribute("data-status")) {
      return false;
    }
    window.location.reload();
    return true;
  }

  window.ClinicSocket.subscribe("ticket:" + config.ticket, {
    onSnapshot: function (data) {
      changesHeard += 1; // the ticket as it is now: a reading asked before may be older
      if (!movedOn(data)) show(data);
    },
    onEvent: function (event) {
      var aboutPaying = PAYMENT_EVENTS[event.type] || INVOICE_EVENTS[event.type];
      if (aboutPaying && typeof checkoutUrl === "string" && checkoutUrl) checkPayable();
      if (INVOICE_EVENTS[event.type]) return;
      if (movedOn(event.data)) return;
      // The day's closing ended it: the queue closed before his turn, not "did not come".
      var data = event.data;
      if (data) data.closed_with_day = event.type === "ticket.day_closed";
      changesHeard += 1;
      show(data);
      refreshSoon();
    },
  });
  window.ClinicSocket.subscribe("board:" + config.queue, {
    onSnapshot: refreshSoon,
    onEvent: function (event) {
      // The queue's department or doctor renamed: its name above the ticket follows.
      if (event.type === "queue.changed") Q.redrawOne("#patient");
      refreshSoon();
    },
  });
})();
