/*
 * The doctor's screen: one queue live from its staff channel; call the next patient, then
 * recall, start, finish, mark a no-show, postpone or transfer; call postponed ones back.
 * Every button calls the API; the screen changes when the channel's event arrives.
 */
(function () {
  "use strict";

  var Q = window.ClinicQueue;

  // A doctor without a queue switched on: his page shows one as soon as he has one.
  if (!document.getElementById("doctor")) {
    var hasOne = function () {
      Q.fromPage("doctor", function (loaded) {
        if (loaded.getElementById("doctor")) window.location.reload();
      });
    };
    window.ClinicSocket.subscribe("queues:all", { onSnapshot: hasOne, onEvent: hasOne });
    return;
  }

  var config = Q.config("doctor-config");
  var texts = config.texts;
  var queueId = config.queue;
  var MINE_KEY = "clinic.doctor.called:" + queueId;

  var root = document.getElementById("doctor");
  var messageBox = document.getElementById("doctor-message");
  var errorBox = document.getElementById("doctor-error");
  var waitingCount = root.querySelector("[data-waiting]");
  var current = document.getElementById("current");
  var currentEmpty = document.getElementById("current-empty");
  var waitingList = document.getElementById("waiting-list");
  var waitingEmpty = document.getElementById("waiting-empty");
  var postponedList = document.getElementById("postponed-list");
  var postponedEmpty = document.getElementById("postponed-empty");
  var currentTemplate = document.getElementById("current-template");
  var callBackTemplate = document.getElementById("postponed-template");
  var noShowList = document.getElementById("no-show-list");
  var noShowEmpty = document.getElementById("no-show-empty");
  var cameBackTemplate = document.getElementById("no-show-template");
  var NO_SHOWS_SHOWN = 10;
  var callNext = document.getElementById("call-next");
  var roomBusy = document.getElementById("room-busy");
  // One patient a room (the API refuses a second call with room_busy): while someone is
  // called or with the doctor, "Call next" waits for him to be finished.
  var holder = null;
  var calling = false; // "Call next" on its way: a redraw meanwhile does not offer it again
  // A room_busy refusal on the screen: who the API said holds the room ({code, queue}), so
  // that its words follow what the queue's events then tell of him.
  var busyRefusal = null;
  // A ticket in these has not left the room yet, as far as the screen knows (a patient
  // called from another tab of this queue stays waiting here until the call's event comes).
  var NOT_LEFT = { waiting: 1, called: 1, in_service: 1 };

  var book = new Q.TicketBook();
  var cards = {}; // ticket id -> its card, kept across renders so an open form survives

  function mine() {
    try {
      return Number(window.sessionStorage.getItem(MINE_KEY)) || null;
    } catch (e) {
      return null;
    }
  }

  function rememberMine(ticketId) {
    try {
      window.sessionStorage.setItem(MINE_KEY, String(ticketId));
    } catch (e) {
      /* storage disabled: the order of the list is all it changes */
    }
  }

  function report(message, error) {
    busyRefusal = null;
    Q.say(messageBox, error ? "" : message);
    Q.say(errorBox, error ? message : "");
  }

  /**
   * Who holds the room, as a room_busy refusal names him (his ticket and its queue); a
   * refusal naming nobody, by the holder this screen knows, if any.
   */
  function namedHolder(answer) {
    var values = (answer.body && answer.body.values) || {};
    var code = values.holder_code;
    var queue = Number(values.holder_queue_id);
    if (code && queue) return { code: code, queue: queue };
    return holder ? { code: holder.code, queue: queueId } : { code: null, queue: null };
  }

  // A patient of this queue, named (its event may not have reached the screen yet); one of
  // another queue, which this screen does not show, named with that queue where it is known.
  function roomBusyWords(named) {
    if (named.code && named.queue === queueId) return Q.fill(texts.roomBusy, { code: named.code });
    var queue = named.queue ? config.queueNames[String(named.queue)] : "";
    if (!named.code || !queue) return texts.roomBusyElsewhere;
    return Q.fill(texts.roomBusyInQueue, { code: named.code, queue: queue });
  }

  /**
   * The refusal's words once the queue's events tell of the room: the patient this screen
   * now sees in it named; the one it named gone from it (finished, a no-show, postponed), the
   * refusal is over.
   */
  function followBusyRefusal() {
    if (!busyRefusal) return;
    if (holder) {
      busyRefusal = { code: holder.code, queue: queueId };
      Q.say(errorBox, roomBusyWords(busyRefusal));
      return;
    }
    if (busyRefusal.queue !== queueId) return; // another queue's: this screen hears nothing of it
    var named = busyRefusal.code;
    var left = Object.keys(book.tickets).some(function (id) {
      var ticket = book.tickets[id];
      return ticket.code === named && !NOT_LEFT[ticket.status];
    });
    if (left) {
      busyRefusal = null;
      Q.say(errorBox, "");
    }
  }

  // The ticket this screen called first, then the most recently called.
  function withMineFirst(a, b) {
    var own = mine();
    if ((a.id === own) !== (b.id === own)) return a.id === own ? -1 : 1;
    return (b.called_at || "") < (a.called_at || "") ? -1 : 1;
  }

  function card(ticket) {
    var node = cards[ticket.id];
    if (!node) {
      node = currentTemplate.content.firstElementChild.cloneNode(true);
      node.setAttribute("data-ticket-id", ticket.id);
      cards[ticket.id] = node;
    }
    node.setAttribute("data-code", ticket.code);
    node.setAttribute("data-status", ticket.status);
    node.querySelector("[data-field=code]").textContent = ticket.code;
    var status = texts.statuses[ticket.status] || ticket.status;
    if (ticket.room) status += " · " + Q.fill(texts.room, { room: ticket.room });
    node.querySelector("[data-field=status]").textContent = status;
    node.querySelector("[data-field=comment]").textContent = ticket.comment || "";
    Array.prototype.forEach.call(node.querySelectorAll("[data-when]"), function (button) {
      button.hidden = button.getAttribute("data-when").split(" ").indexOf(ticket.status) < 0;
    });
    // No other queue to send him to: no transfer.
    if (!node.querySelector("select[name=to_queue_id]").options.length) {
      node.querySelector("[data-action=transfer]").hidden = true;
    }
    return node;
  }

  /**
   * The doctor's own queues to choose from (shown when he has more than one), as the page
   * loaded again shows them; not while he is choosing.
   */
  function copyPicker(loaded) {
    var title = document.querySelector(".doctor-title");
    var fresh = loaded.querySelector(".doctor-title");
    if (!title || !fresh || title.contains(document.activeElement)) return;
    title.parentNode.replaceChild(document.importNode(fresh, true), title);
  }

  /**
   * The queues a patient may be sent on to, as the page loaded again lists them (renamed,
   * switched on or off, or made since this page was loaded): in the card's template and in
   * each card shown. A card whose transfer form is open keeps the queue chosen in it, even
   * one switched off meanwhile (the API then says why it cannot be sent there), so that
   * nothing changes under the doctor's hand.
   */
  function copyTargets(loaded) {
    var fresh = loaded.getElementById("current-template");
    var options = fresh && fresh.content.querySelectorAll("select[name=to_queue_id] option");
    if (!options) return;
    var selects = [currentTemplate.content.querySelector("select[name=to_queue_id]")];
    Object.keys(cards).forEach(function (id) {
      selects.push(cards[id].querySelector("select[name=to_queue_id]"));
    });
    selects.forEach(function (select) {
      var open = select.closest(".transfer-form");
      var kept = open && !open.hidden ? select.options[select.selectedIndex] : null;
      var chosen = kept ? kept.value : "";
      select.textContent = "";
      Array.prototype.forEach.call(options, function (option) {
        select.appendChild(document.importNode(option, true));
      });
      if (kept && !select.querySelector('option[value="' + chosen + '"]')) select.appendChild(kept);
      if (kept) select.value = chosen;
    });
    // Names added, none dropped: one switched off is still named when a transfer to it is
    // refused.
    var holder = loaded.getElementById("doctor-config");
    var names = holder ? JSON.parse(holder.textContent).queueNames || {} : {};
    Object.keys(names).forEach(function (id) {
      config.queueNames[id] = names[id];
    });
    render();
  }

  // A patient checked in for a colleague's visit: that colleague calls him, not this screen.
  function forAColleague(ticket) {
    return Boolean(ticket.reserved_for_id) && ticket.reserved_for_id !== config.doctorId;
  }

  // In a department's shared queue each doctor sees the patients called to his own room.
  function inMyRoom(ticket) {
    return config.roomId === null || ticket.room_id === config.roomId;
  }

  /**
   * The room this screen's calls go to now, as the server last said it: the room a call's
   * answer names, or the page loaded again (the queue's room or the doctor's changed, his
   * hours in another room now). The calls themselves name no room, so the server sends each
   * where it belongs at that moment; this room says whose patients "With you now" shows and
   * when the room is busy. Answers whether it changed.
   */
  function takeRoom(roomId) {
    if (roomId === undefined || roomId === config.roomId) return false;
    config.roomId = roomId;
    return true;
  }

  // The page loaded again for the same queue: the room its calls go to now.
  function copyRoom(loaded) {
    var holder = loaded.getElementById("doctor-config");
    var fresh = holder ? JSON.parse(holder.textContent) : {};
    if (fresh.queue === queueId && takeRoom(fresh.roomId)) render();
  }

  function renderCurrent() {
    var tickets = book.list(["called", "in_service"], withMineFirst).filter(inMyRoom);
    var keep = {};
    tickets.forEach(function (ticket) {
      keep[ticket.id] = true;
      current.appendChild(card(ticket)); // appending an existing node only moves it
    });
    Object.keys(cards).forEach(function (id) {
      if (!keep[id]) {
        cards[id].remove();
        delete cards[id];
      }
    });
    currentEmpty.hidden = tickets.length > 0;
    var held = tickets.filter(function (ticket) {
      return ticket.room_id === config.roomId; // without a room: the queue's roomless calls
    });
    holder = held.length ? held[0] : null;
    callNext.disabled = holder !== null || calling;
    roomBusy.hidden = holder === null;
    roomBusy.textContent = holder ? Q.fill(texts.roomBusy, { code: holder.code }) : "";
    followBusyRefusal();
  }

  function renderList(list, empty, tickets, button) {
    list.textContent = "";
    tickets.forEach(function (ticket) {
      var row = Q.ticketRow(ticket, texts);
      if (button) row.appendChild(button.content.firstElementChild.cloneNode(true));
      list.appendChild(row);
    });
    empty.hidden = tickets.length > 0;
  }

  // Today's latest no-shows a doctor called (not those the closing of a day ended), the
  // newest first: one who turns up after all is taken back to the postponed list.
  function noShows() {
    return book
      .list(["no_show"], function (a, b) {
        return (b.finished_at || "") < (a.finished_at || "") ? -1 : 1;
      })
      .filter(function (ticket) {
        return ticket.called_at;
      })
      .slice(0, NO_SHOWS_SHOWN);
  }

  function render() {
    waitingCount.textContent = String(book.waiting);
    renderCurrent();
    renderList(waitingList, waitingEmpty, book.list(["waiting"]), null);
    renderList(postponedList, postponedEmpty, book.list(["postponed"]), callBackTemplate);
    renderList(noShowList, noShowEmpty, noShows(), cameBackTemplate);
  }

  // The screen's texts with some refusals worded for one button.
  function withRefusals(refusals) {
    var wording = {};
    var merged = {};
    Object.keys(texts).forEach(function (key) {
      wording[key] = texts[key];
    });
    [texts.refusals, refusals].forEach(function (each) {
      Object.keys(each).forEach(function (code) {
        merged[code] = each[code];
      });
    });
    wording.refusals = merged;
    return wording;
  }

  function send(button, url, body, done, values, refusals) {
    button.disabled = true;
    if (button === callNext) calling = true;
    Q.api("POST", url, body)
      .then(
        function (answer) {
          if (answer.status === 409 && answer.body && answer.body.code === "room_busy") {
            var named = namedHolder(answer);
            report(roomBusyWords(named), true);
            busyRefusal = named;
          } else if (answer.status >= 400) {
            report(Q.problem(refusals ? withRefusals(refusals) : texts, answer, values), true);
          } else {
            report("", false);
            if (done) done(answer);
          }
        },
        function () {
          report(texts.network, true);
        }
      )
      .then(function () {
        if (button === callNext) calling = false;
        button.disabled = button === callNext && holder !== null;
      });
  }

  callNext.addEventListener("click", function () {
    var url = "/api/v1/queues/" + queueId + "/call-next";
    send(callNext, url, {}, function (answer) {
      if (answer.status === 204) {
        // Some wait, but none may be called now: booked with a colleague (each row names
        // him), unpaid in a pay-first queue, or with another doctor.
        var waiting = book.list(["waiting"]);
        var theirs = waiting.filter(forAColleague).length;
        if (theirs) report(Q.fill(texts.waitForOwnDoctors, { count: theirs }), false);
        else report(waiting.length ? texts.nobodyFree : texts.nobody, false);
      } else {
        rememberMine(answer.body.id);
        takeRoom(answer.body.room_id);
        // His room is taken now, not once the channel's event comes (unless it came first).
        var known = book.tickets[answer.body.id];
        if (!known || known.status === "waiting") book.apply({ data: answer.body });
        render();
      }
    });
  });

  root.addEventListener("click", function (e) {
    var button = e.target.closest("button[data-action]");
    if (!button) return;
    var action = button.getAttribute("data-action");
    var holder = button.closest("[data-ticket-id]");
    var ticketId = holder.getAttribute("data-ticket-id");
    var form = holder.querySelector(".transfer-form");
    if (action === "transfer" || action === "close-transfer") {
      form.hidden = action === "close-transfer";
      return;
    }
    var refusals = action === "came-back" ? texts.cameBackRefusals : null;
    send(
      button,
      "/api/v1/tickets/" + ticketId + "/" + action,
      {},
      function (answer) {
        if (action !== "call-back") return;
        rememberMine(answer.body.id);
        if (takeRoom(answer.body.room_id)) render();
      },
      {},
      refusals
    );
  });

  root.addEventListener("submit", function (e) {
    e.preventDefault();
    var form = e.target;
    var holder = form.closest("[data-ticket-id]");
    var code = holder.getAttribute("data-code");
    var body = {
      to_queue_id: Number(form.elements.to_queue_id.value),
      comment: form.elements.comment.value,
      return_after: form.elements.return_after.checked,
    };
    var button = form.querySelector("button[type=submit]");
    var url = "/api/v1/tickets/" + holder.getAttribute("data-ticket-id") + "/transfer";
    var target = config.queueNames[String(body.to_queue_id)] || "";
    send(
      button,
      url,
      body,
      function (answer) {
        var values = { code: code, queue: target, new: answer.body.code };
        report(Q.fill(texts.transferred, values), false);
      },
      { queue: target }
    );
  });

  // Its department or doctor renamed, its room or prefix changed: the heading follows.
  book.onChanged = function () {
    Q.redrawOne("#doctor");
  };
  book.follow(queueId, render, function () {
    report(texts.forbidden, true);
  });

  // Any queue renamed or given another room, switched on or off, or made: the list of where
  // to send a patient follows, the room his calls go to, and his choice of his own queues.
  // Each snapshot too: a change between the server drawing the page and the subscription
  // reaching it comes as no event, nor does one during a break longer than the channel's
  // history.
  function targetsChanged() {
    Q.fromPage("queues", function (loaded) {
      copyRoom(loaded);
      copyTargets(loaded);
      copyPicker(loaded);
    });
  }
  window.ClinicSocket.subscribe("queues:all", {
    onSnapshot: targetsChanged,
    onEvent: targetsChanged,
  });
})();
