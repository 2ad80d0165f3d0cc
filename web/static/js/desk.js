/*
 * The reception desk: each queue's tickets live from its staff channel (a queue switched off
 * meanwhile hides its card until it is switched on again; one that was off when the desk
 * loaded gets its card once it is switched on), and a form per queue
 * that issues a ticket through the API and opens the printable ticket (not for a queue whose
 * tickets its thermal printer prints: one paper a ticket).
 *
 * A patient is found by name in either script or by phone (the patients API spells both
 * sides alike), or registered on the spot; once chosen, the next ticket issued is his (the
 * choice then ends) and "Attach" gives him a ticket already issued. Each ticket shows when it was issued and can be printed
 * again or cancelled. A long queue is searched and shown a page at a time.
 *
 * Each press of a queue's Issue sends an idempotency key: a press whose answer was lost (or
 * a gateway's 5xx, or a 429: its ticket may have been issued) is sent again under the same
 * key by the next press of that form asking the same within a minute, and is answered with
 * that ticket rather than a second one. A patient already in the queue is refused with the
 * ticket he holds there, said in the desk's language.
 */
(function () {
  "use strict";

  var Q = window.ClinicQueue;
  var config = Q.config("desk-config");
  var texts = config.texts;
  var issuedBox = document.getElementById("desk-issued");
  var errorBox = document.getElementById("desk-error");
  var SHOWN = ["called", "in_service", "waiting", "postponed"];
  var PAGE = 15;
  var chosen = null; // {id, full_name}
  var redraws = [];
  var books = {}; // queue id -> its card's TicketBook

  function showIssued(ticket, printUrl) {
    Q.say(errorBox, "");
    issuedBox.textContent = Q.fill(texts.issued, { code: ticket.code }) + " ";
    var link = Q.element("a", "desk-issued__print", Q.fill(texts.print, { code: ticket.code }));
    link.href = printUrl;
    link.target = "clinic-ticket";
    issuedBox.appendChild(link);
    issuedBox.setAttribute("data-code", ticket.code);
    issuedBox.hidden = false;
  }

  function clock(iso) {
    if (!iso) return "";
    try {
      return new Date(iso).toLocaleTimeString(document.documentElement.lang, {
        hour: "2-digit",
        minute: "2-digit",
        timeZone: config.timezone,
      });
    } catch (e) {
      return iso.slice(11, 16);
    }
  }

  // A date of birth as the clinic's pages write dates (01.05.1990), not as the API sends it
  // (1990-05-01). Read from its digits: a calendar day has no time zone to shift it.
  function day(iso) {
    var parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
    return parts ? parts[3] + "." + parts[2] + "." + parts[1] : iso;
  }

  // A date of birth as a registrar types it, day first ("01.05.1990", "1.5.1990", with "/",
  // "-" or digits alone: "01051990"), or as the API writes it ("1990-05-01"): the API's
  // YYYY-MM-DD, or null when it reads as no date. A text field, not the browser's date
  // field, which follows the computer's settings: month first on one set to English (US).
  function typedDay(text) {
    var iso = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(text);
    var dayFirst = /^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$/.exec(text) ||
      /^(\d{2})(\d{2})(\d{4})$/.exec(text);
    if (!iso && !dayFirst) return null;
    var parts = iso ? [iso[1], iso[2], iso[3]] : [dayFirst[3], dayFirst[2], dayFirst[1]];
    return parts[0] + "-" + ("0" + parts[1]).slice(-2) + "-" + ("0" + parts[2]).slice(-2);
  }

  // ``lost``: what to say when no answer came (the request may have reached the server and
  // done its work all the same); the plain "try again" unless given.
  function post(url, body, lost) {
    return Q.api("POST", url, body).then(
      function (answer) {
        // A refusal stays said until the next call: one that succeeds takes it away.
        Q.say(errorBox, answer.status >= 400 ? Q.problem(texts, answer) : "");
        return answer;
      },
      function () {
        Q.say(errorBox, lost || texts.network);
        return { status: 0, body: null };
      }
    );
  }

  // The keyboard's focus back where the registrar works once an answer is in: the pressed
  // button was disabled while the call was on its way, and Chromium moved the focus off it
  // to the page. Not taken from a field the registrar has gone on to meanwhile.
  function refocus(button, target) {
    var now = document.activeElement;
    if (now && now !== document.body && now !== button) return;
    (target || button).focus();
  }

  // A refusal naming a field of ``form``: the field is marked invalid and focused, to be
  // corrected; corrected (typed again), it is no longer marked. True when one was named.
  function markRefused(form, name) {
    var field = name && form.elements[name];
    if (!field || !field.focus) return false;
    field.setAttribute("aria-invalid", "true");
    field.addEventListener("input", function unmark() {
      field.removeAttribute("aria-invalid");
      field.removeEventListener("input", unmark);
    });
    field.focus();
    return true;
  }

  function refusedField(form, answer) {
    var errors = (answer.body && !answer.body.code && answer.body.errors) || {};
    return Object.keys(errors).filter(function (name) {
      return form.elements[name];
    })[0];
  }

  function clearRefused(form) {
    Array.prototype.forEach.call(form.elements, function (field) {
      field.removeAttribute("aria-invalid");
    });
  }

  // Today's tickets of queue ``queueId`` (``status``: only those), read a page at a time: the
  // API gives 500 at most a call. ``take`` is given each page as it comes; ``enough``, asked
  // after each, ends the reading early. Consecutive pages overlap: a ticket called while the
  // list is read moves the later ones a place forward, and one would fall between two pages.
  var READ_PAGE = 500;
  var READ_OVERLAP = 50;
  function readTickets(queueId, status, take, enough) {
    var base = Q.fill(config.ticketsUrl, { id: queueId }) + "?";
    base += (status ? "status=" + status + "&" : "") + "limit=" + READ_PAGE;
    function from(offset) {
      return Q.api("GET", base + "&offset=" + offset).then(function (answer) {
        if (answer.status !== 200) throw answer;
        take(answer.body);
        if (answer.body.length < READ_PAGE || (enough && enough())) return;
        return from(offset + READ_PAGE - READ_OVERLAP);
      });
    }
    return from(0);
  }

  // -- a ticket's row ------------------------------------------------------------------------

  function row(ticket) {
    var item = Q.ticketRow(ticket, texts);
    var issuedAt = Q.fill(texts.issuedAt, { time: clock(ticket.created_at) });
    item.appendChild(Q.element("span", "ticket-row__time", issuedAt));
    if (ticket.patient_id) {
      item.setAttribute("data-patient-id", ticket.patient_id);
      item.appendChild(Q.element("span", "badge", texts.hasPatient));
    }
    var actions = Q.element("span", "ticket-row__actions");
    var reprint = Q.element("a", "button button--small", texts.reprint);
    reprint.href = Q.fill(config.printUrl, { id: ticket.id });
    reprint.target = "clinic-ticket";
    reprint.setAttribute("data-action", "reprint");
    actions.appendChild(reprint);
    // An appointment's ticket stays its patient's (the API refuses it to anyone else).
    if (chosen && ticket.patient_id !== chosen.id && !ticket.visit_id) {
      var label = Q.fill(texts.attach, { name: chosen.full_name });
      var attach = Q.element("button", "button button--small", label);
      attach.type = "button";
      attach.setAttribute("data-action", "attach");
      attach.addEventListener("click", function () {
        attach.disabled = true;
        post(Q.fill(config.attachUrl, { id: ticket.id }), { patient_id: chosen.id }).then(
          function (answer) {
            if (answer.status >= 400 || !answer.status) attach.disabled = false;
          }
        );
      });
      actions.appendChild(attach);
    }
    var cancel = Q.element("button", "button button--small", texts.cancel);
    cancel.type = "button";
    cancel.setAttribute("data-action", "cancel");
    cancel.addEventListener("click", function () {
      // A paid ticket: the registrar is told the patient's money goes back at the cashier's.
      var asked = ticket.paid_at ? texts.confirmCancelPaid : texts.confirmCancel;
      if (!window.confirm(Q.fill(asked, { code: ticket.code }))) return;
      cancel.disabled = true;
      post(Q.fill(config.cancelUrl, { id: ticket.id }), {}).then(function (answer) {
        if (answer.status >= 400 || !answer.status) cancel.disabled = false;
      });
    });
    actions.appendChild(cancel);
    item.appendChild(actions);
    return item;
  }

  // A phone as the patient says it ("90-111-22-33", "+998 (90) 111 22 33"): its digits.
  var SAID_AS_A_PHONE = /^[\d\s()+-]*\d[\d\s()+-]*$/;

  function matches(ticket, words) {
    var text = [ticket.code, ticket.comment || "", ticket.phone || ""].join(" ").toLowerCase();
    var phoneDigits = (ticket.phone || "").replace(/\D/g, "");
    return words.every(function (word) {
      if (text.indexOf(word) >= 0) return true;
      return (
        SAID_AS_A_PHONE.test(word) &&
        phoneDigits !== "" &&
        phoneDigits.indexOf(word.replace(/\D/g, "")) >= 0
      );
    });
  }

  // -- a queue's card ------------------------------------------------------------------------

  function follow(card) {
    var queueId = Number(card.getAttribute("data-queue-id"));
    var book = new Q.TicketBook();
    books[queueId] = book;
    var list = card.querySelector("[data-tickets]");
    var waiting = card.querySelector("[data-waiting]");
    var summary = card.querySelector("[data-summary]");
    var filter = card.querySelector("[data-filter]");
    var more = card.querySelector("[data-more]");
    var shown = PAGE;
    var loading = false;

    // The channel's snapshot holds the first hundred waiting; the rest of a long day's list
    // comes from the API when someone searches or pages past them.
    function beyondWindow() {
      return book.outside.waiting || 0;
    }

    // Read to the end of the waiting (a day may hold more than a page of the API), or until
    // the count says none are left outside the book.
    function loadTheRest(then) {
      if (loading || !beyondWindow()) return;
      loading = true;
      readTickets(
        queueId,
        "waiting",
        function (page) {
          var added = 0;
          page.forEach(function (ticket) {
            // One the book has heard of is as its events left it: this reading may be
            // older than the last of them (called or cancelled while the list was read).
            if (book.tickets[ticket.id]) return;
            added += 1;
            book.tickets[ticket.id] = ticket;
          });
          book.outside.waiting = Math.max(0, beyondWindow() - added);
        },
        function () {
          return !beyondWindow();
        }
      )
        .then(null, function (answer) {
          Q.say(errorBox, answer && answer.status ? Q.problem(texts, answer) : texts.network);
        })
        .then(function () {
          loading = false;
          then();
        });
    }

    function render() {
      // Switched off, the queue issues nothing: its card goes until it is switched on again.
      card.hidden = !book.active;
      waiting.textContent = String(book.waiting);
      var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
      var tickets = book.list(SHOWN).filter(function (ticket) {
        return matches(ticket, words);
      });
      list.textContent = "";
      tickets.slice(0, shown).forEach(function (ticket) {
        list.appendChild(row(ticket));
      });
      var left = Math.max(0, tickets.length - shown) + (words.length ? 0 : beyondWindow());
      more.hidden = left <= 0;
      more.textContent = Q.fill(texts.more, { count: Math.min(left, PAGE) });
      summary.textContent = Q.fill(texts.served, { count: book.count("served") });
    }

    filter.addEventListener("input", function () {
      shown = PAGE;
      render();
      if (filter.value.trim()) loadTheRest(render);
    });
    more.addEventListener("click", function () {
      shown += PAGE;
      render();
      if (shown >= book.list(SHOWN).length) loadTheRest(render);
    });
    redraws.push(render);
    book.follow(queueId, render, function () {
      Q.say(errorBox, texts.forbidden);
    });
  }

  // The press whose answer decided nothing, for the next press of its form asking the same.
  // Kept for a minute: the registrar presses again within seconds, and a ticket issued long
  // before may have been called since.
  var LOST_KEPT_MS = 60000;
  var lostKey = window.ClinicOnce.lostKey(LOST_KEPT_MS);

  // No answer came to an issue: the request may have reached the server and the ticket been
  // issued all the same. His ticket issued since the press is looked for before anything is
  // said, so that a second press does not give him a second one. Resolves with the ticket
  // found, or null; rejects when the list could not be read.
  var CLOCK_SLACK_MS = 5 * 60 * 1000; // the desk's clock may run ahead of the server's
  function issuedMeanwhile(queueId, patientId, pressed, knownBefore) {
    var found = null;
    return readTickets(
      queueId,
      null,
      function (page) {
        page.forEach(function (ticket) {
          if (ticket.patient_id !== patientId || knownBefore[ticket.id]) return;
          if (new Date(ticket.created_at).getTime() < pressed - CLOCK_SLACK_MS) return;
          if (!found || ticket.id > found.id) found = ticket;
        });
      },
      function () {
        return found !== null;
      }
    ).then(function () {
      return found;
    });
  }

  // The ids of his tickets the desk knows of: issued before the press, whatever their times.
  function ticketsOf(queueId, patientId) {
    var known = {};
    var book = books[queueId];
    Object.keys((book && book.tickets) || {}).forEach(function (id) {
      if (book.tickets[id].patient_id === patientId) known[id] = true;
    });
    return known;
  }

  function issue(form, queueId) {
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    // The last ticket's number goes: refused, this one would seem to have been given it.
    issuedBox.hidden = true;
    var body = {
      source: "desk",
      priority: form.querySelector("input[name=priority]:checked").value,
      comment: form.elements.comment.value,
    };
    if (chosen) body.patient_id = chosen.id;
    // The same press again is the same form asking the same: another priority, comment or
    // patient is another ticket, under a key of its own.
    var request = JSON.stringify(body);
    var key = lostKey.key(queueId, request);
    body.idempotency_key = key;
    var pressed = Date.now();
    var knownBefore = chosen ? ticketsOf(queueId, chosen.id) : {};

    function issued(ticket) {
      clearRefused(form);
      showIssued(ticket, Q.fill(config.printUrl, { id: ticket.id }));
      form.reset();
      // His ticket is issued: the next person at the desk is someone else, whose ticket
      // must not go in his name. (Another ticket for him: choose him again.)
      if (body.patient_id) choose(null);
    }

    // Until its ticket is found, the next press of the form sends this press's key again.
    function keep() {
      lostKey.lost(queueId, request, key);
    }

    function lost() {
      // A walk-in's ticket names no one: the list cannot tell it from another desk's.
      if (!body.patient_id) {
        keep();
        return Q.say(errorBox, texts.issueMaybeIssued);
      }
      return issuedMeanwhile(queueId, body.patient_id, pressed, knownBefore).then(
        function (ticket) {
          if (ticket) return issued(ticket);
          // Not in the list when it was read: the request may still be on its way.
          keep();
          Q.say(errorBox, texts.issueLost);
        },
        function () {
          keep();
          Q.say(errorBox, texts.issueMaybeIssued);
        }
      );
    }

    Q.issueAndPrint(form.getAttribute("data-issue-url"), body, config, queueId)
      .then(function (answer) {
        // A gateway's 5xx may have come after the ticket was made, and a 429 says nothing of
        // a press whose answer was lost: as a lost answer, the key stays.
        if (answer.status >= 500 || answer.status === 429) keep();
        if (answer.status !== 201) {
          // A refusal naming a ticket (the patient's in the queue already) says its code.
          Q.say(errorBox, Q.problem(texts, answer, answer.body && answer.body.values));
          markRefused(form, refusedField(form, answer));
          return;
        }
        issued(answer.body);
      }, lost)
      .then(function () {
        button.disabled = false;
        refocus(button);
      });
  }

  // -- the patient ---------------------------------------------------------------------------

  var results = document.getElementById("patient-results");
  var editForm = document.getElementById("patient-edit");
  var chosenBox = document.getElementById("patient-chosen");

  function choose(patient) {
    chosen = patient ? { id: patient.id, full_name: patient.full_name, record: patient } : null;
    editForm.hidden = true;
    chosenBox.hidden = !chosen;
    chosenBox.querySelector("[data-name]").textContent = chosen ? chosen.full_name : "";
    results.textContent = "";
    redraws.forEach(function (render) {
      render();
    });
  }

  // ``note``: said above the list (the earlier records a new registration may repeat).
  function showPatients(items, note) {
    results.textContent = "";
    if (note) results.appendChild(Q.element("li", "patient-results__note", note));
    if (!items.length) {
      if (!note) results.appendChild(Q.element("li", "muted", texts.noPatients));
      return;
    }
    items.forEach(function (patient) {
      var item = Q.element("li", "patient-result");
      item.setAttribute("data-patient-id", patient.id);
      var line = patient.full_name + (patient.phone ? " · " + patient.phone : "");
      if (patient.birth_date) line += " · " + day(patient.birth_date);
      item.appendChild(Q.element("span", "", line));
      var pick = Q.element("button", "button button--small", texts.choose);
      pick.type = "button";
      pick.addEventListener("click", function () {
        choose(patient);
        // The list and the button pressed go away: the focus stays at his line, before the
        // queues whose forms come next.
        document.getElementById("patient-clear").focus();
      });
      item.appendChild(pick);
      results.appendChild(item);
    });
  }

  document.getElementById("patient-search").addEventListener("submit", function (e) {
    e.preventDefault();
    var query = e.target.elements.q.value.trim();
    Q.findPatients(config.patientsUrl, query, {
      list: results,
      errorBox: errorBox,
      texts: texts,
      show: function (items) {
        showPatients(items);
      },
    });
  });

  document.getElementById("patient-new").addEventListener("submit", function (e) {
    e.preventDefault();
    var form = e.target;
    var body = { full_name: form.elements.full_name.value.trim(), sex: form.elements.sex.value };
    if (form.elements.phone.value.trim()) body.phone = form.elements.phone.value.trim();
    var born = form.elements.birth_date.value.trim();
    if (born) body.birth_date = typedDay(born);
    if (body.birth_date === null) {
      // Said, and nothing sent: what was typed stays to be corrected.
      Q.say(errorBox, texts.fields.birth_date);
      markRefused(form, "birth_date");
      return;
    }
    // One registration a press: a second press (or Enter) while the first is on its way
    // would register the patient twice.
    var button = form.querySelector("button[type=submit]");
    if (button.disabled) return;
    button.disabled = true;
    // No answer: he may be registered all the same, and registered again he would be on file
    // twice; the registrar searches for him first.
    post(config.patientsUrl, body, texts.registerLost).then(function (answer) {
      button.disabled = false;
      if (answer.status !== 201) {
        if (!markRefused(form, refusedField(form, answer))) refocus(button);
        return;
      }
      Q.say(errorBox, "");
      clearRefused(form);
      form.reset();
      choose(answer.body);
      // As for a patient chosen from a list: the focus at his line, before the queues.
      refocus(button, document.getElementById("patient-clear"));
      // The API registers him all the same, and names the records of the same name that he
      // may already have: the registrar sees them and chooses the earlier one if it is his.
      var earlier = answer.body.possible_duplicates || [];
      if (earlier.length) showPatients(earlier, texts.possibleDuplicates);
    });
  });

  // The chosen patient's record corrected (a name misspelt, a new phone, a date of birth
  // mistyped): the form opens with it as it is; what the API refuses stays typed.
  document.getElementById("patient-edit-open").addEventListener("click", function () {
    var record = chosen.record;
    editForm.elements.full_name.value = record.full_name;
    editForm.elements.sex.value = record.sex;
    editForm.elements.phone.value = record.phone || "";
    editForm.elements.birth_date.value = record.birth_date ? day(record.birth_date) : "";
    editForm.hidden = false;
  });

  editForm.addEventListener("submit", function (e) {
    e.preventDefault();
    var fields = editForm.elements;
    var born = fields.birth_date.value.trim();
    var body = {
      full_name: fields.full_name.value.trim(),
      sex: fields.sex.value,
      // Emptied, the phone or the date of birth is taken off the record.
      phone: fields.phone.value.trim() || null,
      birth_date: born ? typedDay(born) : null,
    };
    if (born && body.birth_date === null) {
      Q.say(errorBox, texts.fields.birth_date);
      markRefused(editForm, "birth_date");
      return;
    }
    var button = editForm.querySelector("button[type=submit]");
    if (button.disabled) return;
    button.disabled = true;
    var url = config.patientsUrl + "/" + chosen.id;
    Q.api("PATCH", url, body).then(
      function (answer) {
        button.disabled = false;
        if (answer.status !== 200) {
          Q.say(errorBox, Q.problem(texts, answer));
          if (!markRefused(editForm, refusedField(editForm, answer))) refocus(button);
          return;
        }
        Q.say(errorBox, "");
        clearRefused(editForm);
        choose(answer.body);
        refocus(button, document.getElementById("patient-edit-open"));
      },
      function () {
        button.disabled = false;
        Q.say(errorBox, texts.network);
        refocus(button);
      }
    );
  });

  document.getElementById("patient-clear").addEventListener("click", function () {
    choose(null);
  });

  function setUp(card) {
    follow(card);
    card.querySelector("form").addEventListener("submit", function (e) {
      e.preventDefault();
      issue(e.target, card.getAttribute("data-queue-id"));
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll(".desk-queue"), setUp);
  // A queue switched on that was off when the desk loaded gets its card without a reload,
  // with its print status (print-status.js follows the cards of the page as it loaded).
  Q.addSwitchedOn(
    { item: ".desk-queue", list: ".desk-grid", empty: "#desk-no-queues", config: "desk-config" },
    config,
    function (card) {
      setUp(card);
      var prints = card.querySelector("[data-print-scope]");
      if (prints && window.ClinicPrintStatus) window.ClinicPrintStatus.follow(prints);
    }
  );
})();
