/*
 * What the queue screens share: their configuration block, texts with {name} placeholders,
 * calls to the JSON API (with the CSRF token of the page), and the tickets of one queue's
 * day kept up to date from its staff channel (queue:<id>, see docs/websocket.md).
 */
(function (global) {
  "use strict";

  var document = global.document;

  /** The JSON the page rendered into <script type="application/json" id="...">. */
  function config(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : {};
  }

  function fill(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  /** Whether ``answer`` is the CSRF check's refusal (it did nothing): 400, the check named. */
  function refusedForCsrf(answer) {
    return answer.status === 400 && /CSRF/.test((answer.body && answer.body.detail) || "");
  }

  /** The session's CSRF token asked anew into the page; resolves whether one came. */
  function renewCsrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    var options = { credentials: "same-origin", headers: { Accept: "application/json" } };
    return global
      .fetch("/api/v1/session/csrf", options)
      .then(function (response) {
        return response.status === 200 ? response.json() : null;
      })
      .then(
        function (data) {
          if (!meta || !data || !data.csrf_token) return false;
          meta.setAttribute("content", data.csrf_token);
          return true;
        },
        function () {
          return false;
        }
      );
  }

  /**
   * Call the API. Resolves with {status, body} for every answer the server gives (body is
   * the parsed JSON or null); rejects only when the server could not be reached. A change
   * refused by the CSRF check (the session was begun anew since the page was loaded: signed
   * in again in another tab) is sent once more with the session's token.
   */
  function api(method, url, body, again) {
    var options = {
      method: method,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    };
    if (method !== "GET") {
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRFToken"] = csrfToken();
      options.body = JSON.stringify(body || {});
    }
    return global.fetch(url, options).then(function (response) {
      return response.text().then(function (text) {
        var parsed = null;
        try {
          parsed = text ? JSON.parse(text) : null;
        } catch (e) {
          parsed = null;
        }
        var answer = { status: response.status, body: parsed };
        if (again || method === "GET" || !refusedForCsrf(answer)) return answer;
        return renewCsrfToken().then(function (renewed) {
          return renewed ? api(method, url, body, true) : answer;
        });
      });
    });
  }

  /**
   * A refused call as a sentence for the person at the screen; ``values`` fill the
   * placeholders of a refusal worded by its code (the queue a transfer went to), else the
   * refusal's own ``values`` (the ticket a patient already holds).
   */
  function problem(texts, answer, values) {
    if (answer.status === 401) return texts.signedOut;
    var body = answer.body || {};
    // A refusal the screen can word in its own language (a queue closed for the day, a
    // doctor calling to another's room), by its code.
    if (texts.refusals && body.code && texts.refusals[body.code]) {
      return fill(texts.refusals[body.code], values || body.values || {});
    }
    if (answer.status === 403) return texts.forbidden;
    // A refusal without a code names its field: said in the page's language too.
    var fields = (!body.code && texts.fields && body.errors) || {};
    var field = Object.keys(fields).filter(function (name) {
      return texts.fields[name];
    })[0];
    if (field) return texts.fields[field];
    return fill(texts.failed, { detail: body.detail || body.title || answer.status });
  }

  /**
   * Issue a ticket of the queue ``queueId`` and open it for printing (``printing``: the page's
   * configuration, its ``printUrl``). The window opens at once, during the click: one opened
   * once the answer is back would count as an unasked pop-up and be blocked. Resolves with the
   * API's answer; the window shows the ticket only when one was issued. A queue whose tickets
   * go to a thermal printer (in ``printing.ticketsOnPaper``, as the printing module routes
   * them) has its paper from there: no window opens, so the patient gets one paper. The
   * answer's ``on_paper`` says how it is now (a printer given or taken away since the page
   * was loaded): a window opened for a ticket the printer prints is closed, one the printer
   * does not print opens then, and the queue's next tickets follow it.
   */
  function issueAndPrint(url, body, printing, queueId) {
    var onPaper = printing.ticketsOnPaper || (printing.ticketsOnPaper = []);
    var id = Number(queueId);
    var printWindow = onPaper.indexOf(id) >= 0 ? null : global.open("", "clinic-ticket");
    return api("POST", url, body).then(
      function (answer) {
        var said = answer.status === 201 && answer.body ? answer.body.on_paper : undefined;
        if (said === true && onPaper.indexOf(id) < 0) onPaper.push(id);
        if (said === false && onPaper.indexOf(id) >= 0) onPaper.splice(onPaper.indexOf(id), 1);
        if (said === true && printWindow) {
          printWindow.close();
          printWindow = null;
        } else if (said === false && !printWindow) {
          printWindow = global.open("", "clinic-ticket");
        }
        if (printWindow && answer.status === 201) {
          printWindow.location.href = fill(printing.printUrl, { id: answer.body.id });
        } else if (printWindow) {
          printWindow.close();
        }
        return answer;
      },
      function (error) {
        if (printWindow) printWindow.close();
        throw error;
      }
    );
  }

  /** Show ``text`` in ``box`` (a role=alert or role=status paragraph), or hide it. */
  /**
   * The search of patients of the desk and of the booking form: the first ten found for
   * ``typed`` are given to ``show``; a list holding fewer than were found says so under them
   * (ten of many listed without a word read as all there are: the one sought, not among
   * them, would be registered a second time). A refusal is said in ``errorBox``.
   */
  function findPatients(patientsUrl, typed, parts) {
    var url = patientsUrl + "?page_size=10&active=true&q=" + encodeURIComponent(typed);
    // Searched again before the answer came (more of the name typed): only the last search's
    // answer is listed, whichever comes first.
    var asked = String(Number(parts.list.getAttribute("data-searches") || 0) + 1);
    parts.list.setAttribute("data-searches", asked);
    return api("GET", url).then(
      function (answer) {
        if (parts.list.getAttribute("data-searches") !== asked) return;
        if (answer.status !== 200) return say(parts.errorBox, problem(parts.texts, answer));
        say(parts.errorBox, "");
        var items = answer.body.items || [];
        parts.show(items);
        if (answer.body.total > items.length) {
          var more = { shown: items.length, total: answer.body.total };
          parts.list.appendChild(element("li", "muted", fill(parts.texts.morePatients, more)));
        }
      },
      function () {
        if (parts.list.getAttribute("data-searches") === asked) {
          say(parts.errorBox, parts.texts.network);
        }
      }
    );
  }

  function say(box, text) {
    box.textContent = text || "";
    box.hidden = !text;
  }

  var URGENT = "urgent";
  var RETURNED = "returned";
  var PRIVILEGED = "privileged";
  // The API names a priority; the calling order ranks them.
  var PRIORITY_RANK = { normal: 0, privileged: 1, returned: 2, urgent: 3 };

  /** A list item for a ticket: its number, status, priority, room and comment. */
  function ticketRow(ticket, texts) {
    var item = element("li", "ticket-row");
    item.setAttribute("data-ticket-id", ticket.id);
    item.setAttribute("data-code", ticket.code);
    item.setAttribute("data-status", ticket.status);
    item.appendChild(element("span", "ticket-row__code", ticket.code));
    item.appendChild(
      element("span", "ticket-row__status", texts.statuses[ticket.status] || ticket.status)
    );
    if (ticket.priority === URGENT) {
      item.appendChild(element("span", "badge badge--urgent", texts.urgent));
    } else if (ticket.priority === RETURNED) {
      item.appendChild(element("span", "badge", texts.returned));
    } else if (ticket.priority === PRIVILEGED) {
      item.appendChild(element("span", "badge", texts.privileged));
    }
    if (ticket.paid_at) {
      // Paid at the cashier's (a "pay before the doctor" queue calls only paid tickets).
      item.setAttribute("data-paid", "yes");
      item.appendChild(element("span", "badge badge--paid", texts.paid || "✓"));
    }
    if (ticket.room && (ticket.status === "called" || ticket.status === "in_service")) {
      var room = fill(texts.room, { room: ticket.room });
      item.appendChild(element("span", "ticket-row__room", room));
    }
    if (ticket.reserved_for && (ticket.status === "waiting" || ticket.status === "postponed")) {
      // Checked in for his visit with this doctor: only he calls him (docs/queue.md).
      item.setAttribute("data-reserved-for", ticket.reserved_for_id);
      var doctor = fill(texts.forDoctor || "{doctor}", { doctor: ticket.reserved_for });
      item.appendChild(element("span", "ticket-row__doctor", doctor));
    }
    if (ticket.comment) item.appendChild(element("span", "ticket-row__comment", ticket.comment));
    return item;
  }

  // Who is with a doctor first, then who waits in calling order, then the postponed.
  var STAGE = { called: 0, in_service: 1, waiting: 2, postponed: 3 };

  var CALLING_ORDER = function (a, b) {
    return (
      (STAGE[a.status] || 0) - (STAGE[b.status] || 0) ||
      (PRIORITY_RANK[b.priority] || 0) - (PRIORITY_RANK[a.priority] || 0) ||
      (a.queued_at < b.queued_at ? -1 : a.queued_at > b.queued_at ? 1 : 0) ||
      a.id - b.id
    );
  };

  /**
   * Today's tickets of one queue, from its staff channel's snapshot and events. The snapshot
   * holds a window of the day (the tickets in hand, the first waiting, the latest finished)
   * and the day's counts by status; ``outside`` keeps, per status, how many of the day are not
   * in the window, so counts stay whole.
   */
  function TicketBook() {
    this.tickets = {};
    this.outside = {};
    this.waiting = 0;
    this.day = null; // the clinic's date shown ("YYYY-MM-DD"): the snapshot's, or a newer one
    this.dayOf = {}; // ticket id -> its day, where known (the events say it)
    this.outsideDay = null; // the day ``outside`` counts
    this.active = true; // false once the queue is switched off (until it is switched on again)
  }

  /** Whether ``event`` closes an earlier day than the one shown: a day kept open past
   * midnight (a patient still with his doctor) closes after the new day has begun. */
  function closesAnEarlierDay(event, shownDay) {
    var closed = event.data && event.data.day;
    return Boolean(shownDay && closed && closed < shownDay);
  }

  TicketBook.prototype.reset = function (snapshot) {
    var self = this;
    // The snapshot says whether the queue is on: a screen back after the channel's history
    // was let go has heard no switch.
    this.active = !snapshot || snapshot.active !== false;
    this.day = (snapshot && snapshot.day) || null;
    this.outsideDay = this.day;
    this.dayOf = {};
    this.tickets = {};
    this.outside = {};
    this.waiting = snapshot ? snapshot.waiting || 0 : 0;
    var counts = (snapshot && snapshot.counts) || {};
    Object.keys(counts).forEach(function (status) {
      self.outside[status] = counts[status];
    });
    ((snapshot && snapshot.tickets) || []).forEach(function (ticket) {
      self.tickets[ticket.id] = ticket;
      if (self.day) self.dayOf[ticket.id] = self.day;
      if (self.outside[ticket.status]) self.outside[ticket.status] -= 1;
    });
  };

  /** Apply an event; it carries the ticket's whole new state, so applying twice is harmless. */
  TicketBook.prototype.apply = function (event) {
    if (event.type === "queue.switched_off" || event.type === "queue.switched_on") {
      this.active = event.type === "queue.switched_on";
      return;
    }
    if (event.type === "queue.day_closed") {
      if (closesAnEarlierDay(event, this.day)) return this.forget(event.data.day);
      this.tickets = {};
      this.outside = {};
      this.dayOf = {};
      this.waiting = 0;
      return;
    }
    var ticket = event.data;
    if (!ticket || typeof ticket.id !== "number") return;
    var day = typeof ticket.day === "string" ? ticket.day : null;
    if (day && this.day && day < this.day) {
      // A ticket of an earlier day (a patient still with his doctor past midnight): its own
      // row moves on, if the screen shows it; the count is the day shown's.
      if (this.tickets[ticket.id]) this.tickets[ticket.id] = ticket;
      return;
    }
    if (day) {
      this.day = day; // a screen open across midnight: the new day has begun
      this.dayOf[ticket.id] = day;
    }
    this.tickets[ticket.id] = ticket;
    if (typeof ticket.waiting === "number") this.waiting = ticket.waiting;
  };

  /** An earlier day has closed: its tickets and counts leave; the day shown stays. */
  TicketBook.prototype.forget = function (closed) {
    var self = this;
    Object.keys(this.tickets).forEach(function (id) {
      if (self.dayOf[id] && self.dayOf[id] <= closed) {
        delete self.tickets[id];
        delete self.dayOf[id];
      }
    });
    if (this.outsideDay && this.outsideDay <= closed) {
      this.outside = {};
      this.outsideDay = null;
    }
  };

  /** The tickets in any of ``statuses``, stage by stage in calling order (or by ``compare``). */
  TicketBook.prototype.list = function (statuses, compare) {
    var self = this;
    return Object.keys(this.tickets)
      .map(function (id) {
        return self.tickets[id];
      })
      .filter(function (ticket) {
        return statuses.indexOf(ticket.status) >= 0;
      })
      .sort(compare || CALLING_ORDER);
  };

  /** The day's count of ``status``: those in the book and those outside its window. */
  TicketBook.prototype.count = function (status) {
    return this.list([status]).length + (this.outside[status] || 0);
  };

  /** Keep the book up to date from the queue's staff channel, calling ``render`` each time. */
  TicketBook.prototype.follow = function (queueId, render, onError) {
    var book = this;
    return global.ClinicSocket.subscribe("queue:" + queueId, {
      onSnapshot: function (data) {
        book.reset(data);
        render();
      },
      onEvent: function (event) {
        // What the page shows of the queue itself changed: a page that shows it redraws it.
        if (event.type === "queue.changed" && book.onChanged) book.onChanged();
        book.apply(event);
        render();
      },
      onError: onError,
    });
  };

  /**
   * Add to a page that lists the queues (the desk, the kiosk) each queue switched on that it
   * does not show: one that was off when the page loaded, or switched on while the socket
   * was away, or made since. ``queues:all`` names them: its snapshot every queue switched on,
   * its events each switch and each queue made. The queue's element comes from the page
   * itself, loaded again (as the server renders it for this user: nothing the page may not
   * show), and goes where that page has it; ``setUp(element)`` then follows it. A queue
   * shown whose name or room changed (``queue.changed``) is redrawn in place from the same
   * page. ``page``: ``item`` (the selector of a queue's element, with its
   * ``data-queue-id``), ``list`` (their container), ``empty`` (the "no queue" note) and
   * ``config`` (the id of the page's JSON configuration, for its printing).
   */
  function addSwitchedOn(page, printing, setUp) {
    var asked = {};

    function shown(from, id) {
      return from.querySelector(page.item + '[data-queue-id="' + id + '"]');
    }

    function place(fresh) {
      var element = document.importNode(fresh, true);
      var next = fresh.nextElementSibling;
      var before = null;
      while (next && !before) {
        var id = next.getAttribute("data-queue-id");
        before = id ? shown(document, id) : null;
        next = next.nextElementSibling;
      }
      if (before) before.parentNode.insertBefore(element, before);
      else document.querySelector(page.list).appendChild(element);
      var empty = document.querySelector(page.empty);
      if (empty) empty.hidden = true;
      return element;
    }

    function takePrinting(loaded, id) {
      var holder = loaded.getElementById(page.config);
      var fresh = holder ? JSON.parse(holder.textContent).ticketsOnPaper || [] : [];
      var onPaper = printing.ticketsOnPaper || (printing.ticketsOnPaper = []);
      if (fresh.indexOf(id) >= 0 && onPaper.indexOf(id) < 0) onPaper.push(id);
    }

    // One load of the page for every queue missing from it at once (a snapshot may name several).
    function add(ids) {
      var missing = ids.filter(function (id) {
        return !asked[id] && !shown(document, id);
      });
      if (!missing.length) return;
      missing.forEach(function (id) {
        asked[id] = true;
      });
      loadPage()
        .then(function (loaded) {
          missing.forEach(function (id) {
            var fresh = shown(loaded, id);
            // Not there: switched off again meanwhile, or the page did not load (the next
            // snapshot or switch asks again).
            if (!fresh || shown(document, id)) return;
            takePrinting(loaded, id);
            setUp(place(fresh));
          });
        })
        .catch(function () {})
        .then(function () {
          missing.forEach(function (id) {
            asked[id] = false;
          });
        });
    }

    // What the page shows of a queue changed (its name, prefix or room): its labels are
    // redrawn from the page loaded again; its tickets and what is typed in it stay.
    function redraw(id) {
      redrawLabels(page.item + id, function (from) {
        return shown(from, id);
      });
    }

    return global.ClinicSocket.subscribe("queues:all", {
      onSnapshot: function (data) {
        add((data && data.active) || []);
      },
      onEvent: function (event) {
        var opened = event.type === "queue.switched_on" || event.type === "queue.created";
        // Switched on again, a queue the page still holds (a kiosk's hidden button) may have
        // been changed with the switch or while it was off: its labels are drawn again.
        var changed = event.type === "queue.changed" || event.type === "queue.switched_on";
        if (opened && event.data && !shown(document, event.data.queue_id)) {
          add([event.data.queue_id]);
        } else if (changed && event.data) {
          var id = event.data.queue_id;
          if (shown(document, id)) redraw(id);
          else add([id]);
        }
      },
    });
  }

  /** The page as the server draws it now, for this user, parsed (never run). */
  function loadPage() {
    return global
      .fetch(global.location.href, { credentials: "same-origin" })
      .then(function (answer) {
        return answer.ok ? answer.text() : "";
      })
      .then(function (html) {
        return new global.DOMParser().parseFromString(html || "", "text/html");
      });
  }

  /**
   * Copy what a queue's element shows of the queue's settings (the elements marked
   * ``data-queue-label``, and its own ``data-name``) from ``fresh``, the same element of the
   * page loaded again, into ``current``, as text.
   */
  function copyLabels(fresh, current) {
    var from = fresh.querySelectorAll("[data-queue-label]");
    var to = current.querySelectorAll("[data-queue-label]");
    for (var i = 0; i < from.length && i < to.length; i += 1) {
      to[i].textContent = from[i].textContent;
      to[i].hidden = from[i].hidden;
    }
    var name = fresh.getAttribute("data-name");
    if (name !== null) current.setAttribute("data-name", name);
  }

  /**
   * Redraw the labels of the element ``find(page)`` finds from the page loaded again (one
   * load at a time for each ``key``: see :func:`fromPage`).
   */
  function redrawLabels(key, find) {
    fromPage(key, function (loaded) {
      var fresh = find(loaded);
      var current = find(document);
      if (fresh && current) copyLabels(fresh, current);
    });
  }

  /**
   * Load the page again and hand it to ``apply``. One load at a time for each ``key``: asked
   * while one is on its way, the page is loaded once more after it, so what is applied last
   * is the page as it is after the last change told.
   */
  var loading = {};
  function fromPage(key, apply) {
    var state = loading[key] || (loading[key] = { busy: false, again: false });
    if (state.busy) {
      state.again = true;
      return;
    }
    state.busy = true;
    state.again = false;
    loadPage()
      .then(apply)
      .catch(function () {})
      .then(function () {
        state.busy = false;
        if (state.again) fromPage(key, apply);
      });
  }

  /** Redraw the labels of the element ``selector`` finds (the doctor's queue). */
  function redrawOne(selector) {
    redrawLabels(selector, function (from) {
      return from.querySelector(selector);
    });
  }

  global.ClinicQueue = {
    addSwitchedOn: addSwitchedOn,
    redrawOne: redrawOne,
    fromPage: fromPage,
    config: config,
    fill: fill,
    element: element,
    api: api,
    renewCsrfToken: renewCsrfToken,
    issueAndPrint: issueAndPrint,
    findPatients: findPatients,
    problem: problem,
    say: say,
    ticketRow: ticketRow,
    TicketBook: TicketBook,
    closesAnEarlierDay: closesAnEarlierDay,
  };
})(window);
