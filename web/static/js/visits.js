/*
 * The appointments calendar: one clinic day of a department's (or one doctor's) slots and
 * visits, read from the JSON API and reloaded whenever the calendar's channel says something
 * changed (visits_department:<id> or visits_doctor:<id>, see docs/websocket.md). A free slot
 * picked in the calendar fills the booking form; a refusal is shown at its field. A visit
 * opens the reschedule dialog, which follows the move's job to its result, or cancels the visit
 * (each with a reason of its own: one typed for the other is never sent). A scheduled visit
 * of today offers "Check in": the visit becomes arrived and the page says its queue ticket;
 * an arrived one whose ticket was cancelled (at the desk, by mistake) offers "Check in again".
 * To whom may (the doctor), an arrived visit offers "Start" and a begun one "Finish".
 * "Earliest free time" picks the first free slot of the coming weeks for the booking form.
 */
(function (global) {
  "use strict";

  var Q = global.ClinicQueue;
  var document = global.document;
  var cfg = Q.config("calendar-config");
  var texts = cfg.texts;
  var scope = cfg.doctorId ? "doctor_id=" + cfg.doctorId : "department_id=" + cfg.departmentId;
  var message = document.getElementById("calendar-message");
  var failure = document.getElementById("calendar-error");
  var form = document.getElementById("booking-form");
  var dialog = document.getElementById("reschedule-dialog");
  var state = { slots: [], visits: [] };
  // The services offered (on the price list, for the booking form), and the names of those
  // the day's visits were booked for (dropped from the list since, or another department's).
  var offered = {};
  (cfg.services || []).forEach(function (one) { offered[one.id] = true; });
  var serviceNames = {};
  (cfg.services || []).concat(cfg.serviceNames || []).forEach(function (one) {
    serviceNames[one.id] = one.label;
  });
  var clock = new Intl.DateTimeFormat("en-GB",
    { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: cfg.timezone });
  var calendarDay = new Intl.DateTimeFormat("en-GB",
    { year: "numeric", month: "2-digit", day: "2-digit", timeZone: cfg.timezone });

  function hhmm(iso) { return clock.format(new Date(iso)); }

  // The clinic's day (YYYY-MM-DD) of an instant, in its time zone (as the API counts it).
  function clinicDay(date) {
    var parts = {};
    calendarDay.formatToParts(date).forEach(function (part) { parts[part.type] = part.value; });
    return parts.year + "-" + parts.month + "-" + parts.day;
  }

  function show(node, text) {
    if (node) { node.textContent = text || ""; node.hidden = !text; }
  }

  // The service picked in the booking form: the free slots are then the starts where the
  // whole service fits (with the doctors who offer it), and the visit is booked with it.
  function service() {
    return form && form.elements.service_id ? form.elements.service_id.value : "";
  }

  // Loads asked: the answers of one asked before the last may be older than the last one's
  // (a slot booked meanwhile shown free again), and are not drawn.
  var loadsAsked = 0;
  // A load that failed is asked again, later each time (1 s, 2 s, ... 30 s at most): the
  // calendar would otherwise show its day as it was until the next change heard, which may
  // never come. What the failure said goes once a load succeeds.
  var RETRY_FIRST_MS = 1000;
  var RETRY_LAST_MS = 30000;
  var retry = { timer: null, delay: 0, said: null };

  function loadFailed(text) {
    show(failure, text);
    retry.said = text;
    retry.delay = Math.min(retry.delay ? retry.delay * 2 : RETRY_FIRST_MS, RETRY_LAST_MS);
    global.clearTimeout(retry.timer);
    retry.timer = global.setTimeout(function () {
      retry.timer = null;
      load();
    }, retry.delay);
  }

  function loaded() {
    global.clearTimeout(retry.timer);
    retry.timer = null;
    retry.delay = 0;
    // Only the load's own error: a booking's refusal said since stays.
    if (retry.said !== null && failure && failure.textContent === retry.said) show(failure, "");
    retry.said = null;
  }

  function load() {
    var asked = (loadsAsked += 1);
    var day = "from=" + cfg.day + "&to=" + cfg.day + "&" + scope;
    // Every free slot of the day, not the answer's first 500 (a large department's afternoon).
    var slotsQuery = day + "&limit=5000" + (service() ? "&service_id=" + service() : "");
    return Promise.all([
      Q.api("GET", "/api/v1/visits/slots?" + slotsQuery),
      // The whole day, not the list's first page (500): a large department's day fits.
      Q.api("GET", "/api/v1/visits?day=" + cfg.day + "&limit=5000&" + scope),
    ]).then(
      function (answers) {
        if (asked !== loadsAsked) return;
        if (answers[0].status !== 200 || answers[1].status !== 200) {
          loadFailed(Q.problem(texts, answers[0].status !== 200 ? answers[0] : answers[1]));
          return;
        }
        loaded();
        // Nothing new: the calendar stays as it is (rebuilt, a click on a slot would be lost).
        var drawn = JSON.stringify([answers[0].body, answers[1].body]);
        if (drawn === state.drawn) return;
        state.drawn = drawn;
        state.slots = answers[0].body;
        state.visits = answers[1].body;
        render();
      },
      function () {
        if (asked === loadsAsked) loadFailed(texts.network);
      }
    );
  }

  var pending = null;
  function reloadSoon() {
    if (pending) return;
    pending = global.setTimeout(function () {
      pending = null;
      load();
    }, 50);
  }

  function freeSlot(slot) {
    var button = Q.element("button", "slot slot--free");
    button.type = "button";
    button.setAttribute("data-starts", slot.starts_at);
    button.setAttribute("data-doctor", slot.doctor_id);
    var chosen = form && form.elements.starts_at.value === slot.starts_at &&
      form.elements.doctor_id.value === String(slot.doctor_id);
    button.setAttribute("aria-pressed", chosen ? "true" : "false");
    button.appendChild(Q.element("span", "slot__time", hhmm(slot.starts_at)));
    button.appendChild(Q.element("span", "slot__status", texts.free));
    if (form) button.addEventListener("click", function () { pick(slot); });
    return button;
  }

  function takenSlot(visit) {
    var movable = dialog && (visit.status === "scheduled" || visit.status === "arrived");
    var node = Q.element(movable ? "button" : "div", "slot slot--taken");
    if (movable) {
      node.type = "button";
      node.className += " slot--movable";
      node.addEventListener("click", function () { openMove(visit); });
    }
    node.setAttribute("data-starts", visit.starts_at);
    node.setAttribute("data-visit", visit.id);
    node.setAttribute("data-status", visit.status);
    node.appendChild(Q.element("span", "slot__time", hhmm(visit.starts_at)));
    node.appendChild(Q.element("span", "slot__patient", visit.patient_name));
    var booked = (visit.services || []).map(function (one) { return serviceNames[one.service_id]; })
      .filter(Boolean);
    if (booked.length) node.appendChild(Q.element("span", "slot__service", booked.join(", ")));
    var status = texts.statuses[visit.status] || texts.taken;
    node.appendChild(Q.element("span", "slot__status", status));
    return node;
  }

  // Offered for a visit of today only: the API refuses another day (not_today). A scheduled
  // visit is checked in; an arrived one again when the ticket its patient holds now (the
  // day list's ticket_status) was cancelled, as the API accepts it: a new ticket is issued
  // (while his ticket is still in the queue, a second check-in is refused).
  function checkInButton(visit) {
    if (!cfg.mayCheckIn) return null;
    var again = visit.status === "arrived" && visit.ticket_status === "cancelled";
    if (visit.status !== "scheduled" && !again) return null;
    if (clinicDay(new Date(visit.starts_at)) !== clinicDay(new Date())) return null;
    var label = again ? texts.checkInAgain : texts.checkIn;
    var button = Q.element("button", "button slot__action", label);
    button.type = "button";
    button.setAttribute(again ? "data-check-in-again" : "data-check-in", visit.id);
    button.addEventListener("click", function () { visitStep(visit, "check-in", button); });
    return button;
  }

  // The doctor's steps on the calendar: an arrived patient's visit begins, a begun one ends
  // (a doctor without a queue has no other screen for them; with one, his ticket follows).
  function treatButton(visit) {
    if (!cfg.mayTreat) return null;
    var step = { arrived: "start", in_progress: "complete" }[visit.status];
    if (!step) return null;
    var label = step === "start" ? texts.start : texts.finish;
    var button = Q.element("button", "button slot__action", label);
    button.type = "button";
    button.setAttribute("data-visit-step", visit.id);
    button.addEventListener("click", function () { visitStep(visit, step, button); });
    return button;
  }

  function render() {
    var sections = document.querySelectorAll(".calendar-doctor");
    Array.prototype.forEach.call(sections, function (section) {
      var doctorId = Number(section.getAttribute("data-doctor"));
      var rows = [];
      state.slots.forEach(function (slot) {
        if (slot.doctor_id === doctorId) rows.push({ at: slot.starts_at, node: freeSlot(slot) });
      });
      state.visits.forEach(function (visit) {
        if (visit.doctor_id !== doctorId) return;
        rows.push({
          at: visit.starts_at,
          node: takenSlot(visit),
          // An arrived visit whose ticket was cancelled: checked in again, or begun (whoever
          // may do both is offered both).
          actions: [checkInButton(visit), treatButton(visit)].filter(Boolean),
        });
      });
      rows.sort(function (a, b) { return a.at < b.at ? -1 : a.at > b.at ? 1 : 0; });
      var list = section.querySelector("[data-slots]");
      list.textContent = "";
      rows.forEach(function (row) {
        var actions = row.actions || [];
        var item = Q.element("li", actions.length ? "slot-row" : null);
        item.appendChild(row.node);
        actions.forEach(function (action) { item.appendChild(action); });
        list.appendChild(item);
      });
    });
  }

  /**
   * The doctors' columns as the page loaded again draws them (a doctor joined the department
   * or left it, switched on or off, renamed, or away on the day), the names the booking form
   * says a slot's doctor by, and the move dialog's choice of doctors (left as it is while the
   * dialog is open: the next change takes it); then the day is drawn into them again.
   */
  function copyDoctors(page) {
    var fresh = page.getElementById("calendar");
    var calendar = document.getElementById("calendar");
    if (!fresh || !calendar) return;
    calendar.textContent = "";
    Array.prototype.forEach.call(fresh.children, function (node) {
      calendar.appendChild(document.importNode(node, true));
    });
    var freshConfig = page.getElementById("calendar-config");
    if (freshConfig) cfg.doctors = JSON.parse(freshConfig.textContent).doctors || [];
    var freshDialog = page.getElementById("reschedule-dialog");
    var select = dialog && dialog.querySelector("select[name=doctor_id]");
    var options = freshDialog && freshDialog.querySelectorAll("select[name=doctor_id] option");
    if (select && options && !dialog.open) {
      select.textContent = "";
      Array.prototype.forEach.call(options, function (option) {
        select.appendChild(document.importNode(option, true));
      });
    }
    render();
  }

  // -- booking ------------------------------------------------------------------------------

  function clearErrors(where) {
    Array.prototype.forEach.call(where.querySelectorAll("[data-error-for]"), function (node) {
      show(node, "");
    });
  }

  // A refusal with no field of its own is said in ``box`` (the page's error line, or the
  // move dialog's own line: the modal dialog hides the page behind it). Its words are chosen
  // by its code, else by the field's reasons (their codes), else by the field: the form's own
  // words for it (``own``: the cancel form's reason is not the move's), else the page's.
  function showErrors(where, answer, box, own) {
    var body = answer.body || {};
    var errors = body.errors || {};
    var reasons = body.reasons || {};
    var conflict = body.code && texts.conflicts[body.code];
    var shown = false;
    Object.keys(errors).forEach(function (field) {
      var node = where.querySelector('[data-error-for="' + field + '"]');
      if (node) {
        var coded = (reasons[field] || []).map(function (code) { return texts.conflicts[code]; })
          .filter(Boolean)[0];
        var words = (own && own[field]) || texts.invalid[field];
        show(node, conflict || coded || words || errors[field][0]);
        shown = true;
      }
    });
    if (!shown) show(box || failure, conflict || Q.problem(texts, answer));
  }

  // A time is said with its date when it is not on the calendar's day.
  function when(iso) {
    var day = clinicDay(new Date(iso));
    return day === cfg.day ? hhmm(iso) : day.split("-").reverse().join(".") + " " + hhmm(iso);
  }

  function pick(slot) {
    form.elements.doctor_id.value = String(slot.doctor_id);
    form.elements.starts_at.value = slot.starts_at;
    var doctor = cfg.doctors.filter(function (d) { return d.id === slot.doctor_id; })[0];
    show(document.getElementById("booking-slot"),
      when(slot.starts_at) + (doctor ? " · " + doctor.name : ""));
    render();
    form.elements.patient_id.focus();
  }

  // "Any doctor, the earliest time": the first free slot of the calendar's doctors (for the
  // service picked) from the calendar's day, or today, on; picked for the booking form.
  var EARLIEST_DAYS = 31;
  function earliest() {
    var today = clinicDay(new Date());
    var from = cfg.day > today ? cfg.day : today;
    var last = new Date(from + "T12:00:00Z");
    last.setUTCDate(last.getUTCDate() + EARLIEST_DAYS - 1);
    var query = scope + "&from=" + from + "&to=" + last.toISOString().slice(0, 10) + "&limit=1" +
      (service() ? "&service_id=" + service() : "");
    show(failure, "");
    Q.api("GET", "/api/v1/visits/slots?" + query).then(
      function (answer) {
        if (answer.status !== 200) return showErrors(form, answer);
        if (!answer.body.length) {
          return show(failure, Q.fill(texts.noneFree, { days: EARLIEST_DAYS }));
        }
        pick(answer.body[0]);
      },
      function () { show(failure, texts.network); }
    );
  }

  // The largest record number there is (the API's ids are 32-bit): a larger one is nobody's.
  var LAST_ID = 2147483647;

  // The patient number typed, checked before sending: said at its field (in the page's
  // language) when it is empty or not a number, instead of a refusal worded for another case.
  function patientNumber() {
    var typed = form.elements.patient_id.value.trim();
    var number = Number(typed);
    var refused = !typed ? texts.patientMissing
      : !/^[0-9]+$/.test(typed) ? texts.patientNotNumber
      : number < 1 || number > LAST_ID ? texts.invalid.patient_id : null;
    if (!refused) return number;
    show(form.querySelector('[data-error-for="patient_id"]'), refused);
    return 0;
  }

  // A booking whose answer the network lost may have been booked all the same: before it is
  // sent again, the patient's visits of that day say whether it holds this slot with this
  // doctor (sent again, the API would refuse it: the doctor is busy, with this very visit).
  function alreadyBooked(body) {
    var day = clinicDay(new Date(body.starts_at));
    var query = "patient_id=" + body.patient_id + "&day=" + day + "&doctor_id=" + body.doctor_id;
    var at = new Date(body.starts_at).getTime();
    return Q.api("GET", "/api/v1/visits?" + query).then(function (answer) {
      return answer.status === 200 && answer.body.some(function (visit) {
        return visit.doctor_id === body.doctor_id && new Date(visit.starts_at).getTime() === at;
      });
    });
  }

  function booked() {
    show(message, texts.booked);
    form.reset();
    form.elements.starts_at.value = "";
    var slotLine = document.getElementById("booking-slot");
    show(slotLine, slotLine.getAttribute("data-empty"));
    load();
  }

  if (form) {
    form.querySelector("[data-earliest]").addEventListener("click", earliest);
    form.elements.service_id.addEventListener("change", function () {
      // Another service fits other starts: the slot picked for the last one is picked again.
      form.elements.starts_at.value = "";
      var slotLine = document.getElementById("booking-slot");
      show(slotLine, slotLine.getAttribute("data-empty"));
      load();
    });
    // The booking sent last whose answer the network lost (its patient, doctor and time).
    var unanswered = null;
    // One booking a press: a second (or Enter) would be refused, its slot taken by the first.
    global.ClinicOnce.submit(form, function () {
      clearErrors(form);
      show(failure, "");
      show(message, "");
      var patientId = patientNumber();
      if (!patientId) return;
      var body = {
        patient_id: patientId,
        doctor_id: Number(form.elements.doctor_id.value) || 0,
        starts_at: form.elements.starts_at.value,
        comment: form.elements.comment.value,
        notify_email: form.elements.notify_email.value || null,
        service_ids: service() ? [Number(service())] : [],
      };
      var slot = [body.patient_id, body.doctor_id, body.starts_at].join(" ");
      function send() {
        unanswered = null;
        return Q.api("POST", "/api/v1/visits", body).then(
          function (answer) {
            if (answer.status === 201) booked();
            else showErrors(form, answer);
          },
          function () {
            unanswered = slot;
            show(failure, texts.network);
          }
        );
      }
      if (unanswered !== slot) return send();
      return alreadyBooked(body).then(
        function (done) {
          if (!done) return send();
          unanswered = null;
          booked();
        },
        function () { show(failure, texts.network); }
      );
    });
  }

  // -- check-in -----------------------------------------------------------------------------

  // Check-in (the desk's, a first or a second one) and the doctor's start and complete: the
  // visit as the answer has it, redrawn; a refusal said on the page by its code.
  function visitStep(visit, step, button) {
    button.disabled = true;
    show(failure, "");
    show(message, "");
    Q.api("POST", "/api/v1/visits/" + visit.id + "/" + step, {}).then(
      function (answer) {
        if (answer.status === 200) {
          var ticket = answer.body.ticket;
          if (step === "check-in") {
            show(message, ticket
              ? Q.fill(texts.checkedIn, { code: ticket.code })
              : texts.checkedInNoTicket);
          }
          state.visits = state.visits.map(function (one) {
            return one.id === answer.body.id ? answer.body : one;
          });
          state.drawn = null; // drawn from this answer, not from a load
          render();
          return;
        }
        button.disabled = false;
        var body = answer.body || {};
        show(failure, texts.conflicts[body.code] || Q.problem(texts, answer));
        if (body.code === "status_changed") load();
      },
      function () {
        button.disabled = false;
        show(failure, texts.network);
      }
    );
  }

  // -- rescheduling and cancelling ---------------------------------------------------------

  // The dialog's two forms, each with its own reason: the move's and the cancellation's.
  var moveForm = document.getElementById("reschedule-form");
  var cancelForm = document.getElementById("cancel-visit-form");
  var moving = null;
  // Free times asked: the answer for a day or doctor asked before the last (another day
  // picked while it was on its way) would offer, and move to, that day's times.
  var timesAsked = 0;

  // The move dialog's free times: the day and doctor it names (this day and the visit's
  // doctor when it opens; another day, a colleague, when the patient asks for them), the
  // starts where the visit's service fits when it has one. The list starts on "choose a
  // time": the move goes where the registrar chose, never to a time merely listed first.
  function moveSlots() {
    var asked = (timesAsked += 1);
    var select = moveForm.elements.starts_at;
    var day = moveForm.elements.day.value;
    var doctorId = moveForm.elements.doctor_id.value || String(moving.doctor_id);
    var visitId = moving.id;
    function current() {
      return asked === timesAsked && moving.id === visitId &&
        moveForm.elements.day.value === day &&
        (moveForm.elements.doctor_id.value || String(moving.doctor_id)) === doctorId;
    }
    function chooseFirst() {
      select.textContent = "";
      var none = Q.element("option", null, texts.chooseTime);
      none.value = "";
      select.appendChild(none);
    }
    // One service still on the price list (a dropped one books no more, but moves).
    var services = (moving.services || []).filter(function (o) {
      return offered[o.service_id];
    });
    // The visit's own time is free for its move (twenty minutes later overlaps only it).
    var query = "doctor_id=" + doctorId + "&from=" + day + "&to=" + day +
      "&visit_id=" + moving.id +
      (services.length === 1 && moving.services.length === 1
        ? "&service_id=" + services[0].service_id : "");
    chooseFirst();
    if (!day) return;
    Q.api("GET", "/api/v1/visits/slots?" + query).then(
      function (answer) {
        if (!current()) return;
        if (answer.status !== 200) {
          showErrors(moveForm, answer, dialog.querySelector("[data-result]"));
          return;
        }
        chooseFirst();
        answer.body.forEach(function (slot) {
          var option = Q.element("option", null, hhmm(slot.starts_at));
          option.value = slot.starts_at;
          select.appendChild(option);
        });
      },
      function () {
        if (current()) show(dialog.querySelector("[data-result]"), texts.network);
      }
    );
  }

  function openMove(visit) {
    moving = visit;
    clearErrors(moveForm);
    clearErrors(cancelForm);
    show(dialog.querySelector("[data-result]"), "");
    dialog.querySelector("[data-progress]").hidden = true;
    dialog.querySelector("[data-visit]").textContent =
      hhmm(visit.starts_at) + " · " + visit.patient_name;
    moveForm.elements.day.value = cfg.day;
    moveForm.elements.doctor_id.value = String(visit.doctor_id);
    // Asked anew: another visit's reasons, and who cancelled it, are not this one's.
    moveForm.elements.reason.value = "";
    cancelForm.reset();
    moveSlots();
    dialog.showModal();
  }

  function followJob(job) {
    var visit = moving; // the dialog may be opened for another visit before the job ends
    var progress = dialog.querySelector("[data-progress]");
    var result = dialog.querySelector("[data-result]");
    progress.hidden = false;
    progress.value = job.progress || 0;
    show(result, Q.fill(texts.moving, { progress: job.progress || 0 }));
    var sub = global.ClinicSocket.subscribe(job.channel, {
      onSnapshot: function (data) { if (data) settle(data); },
      onEvent: function (event) { settle(event.data, event.type); },
    });
    function settle(data, type) {
      // Said in the dialog while it shows this visit; for another, the calendar only reloads.
      if (moving.id !== visit.id) progress = result = {};
      if (type === "job.progress" || (data.status === "running" && !type)) {
        progress.value = data.progress || 0;
        show(result, Q.fill(texts.moving, { progress: data.progress || 0 }));
        return;
      }
      if (data.status === "succeeded") {
        progress.value = 100;
        // Another day is said with its date, as the patient's notice says it (dd.mm.yyyy).
        show(result, Q.fill(texts.moved, { time: when(data.result.to.starts_at) }));
      } else if (data.status === "failed") {
        // The refusal the worker met, by its code (or its field), as the request's would be.
        var error = data.error || {};
        show(result, texts.conflicts[error.code] ||
          Q.problem(texts, { status: error.status, body: error }));
      } else {
        return;
      }
      sub.unsubscribe();
      load();
    }
  }

  // The reason typed in ``reasonForm``, checked as the API checks it (some words, at most
  // its limit of characters) and said at that form's own field; null when refused.
  function reasonOf(reasonForm, missing) {
    var reason = reasonForm.elements.reason.value.trim();
    var refused = !reason ? missing
      : Array.from(reason).length > cfg.reasonMax ? texts.reasonTooLong : null;
    if (!refused) return reason;
    show(reasonForm.querySelector('[data-error-for="reason"]'), refused);
    return null;
  }

  if (dialog) {
    dialog.querySelector("[data-close]").addEventListener("click", function () {
      dialog.close();
    });
    moveForm.elements.day.addEventListener("change", moveSlots);
    moveForm.elements.doctor_id.addEventListener("change", moveSlots);
    // Cancelling, with its own reason and who asked: the patient (late, when inside the
    // clinic's window) or the clinic (the patient is told by e-mail). Enter in its reason
    // cancels, as its button does; it never moves the visit.
    global.ClinicOnce.submit(cancelForm, function () {
      clearErrors(cancelForm);
      clearErrors(moveForm);
      var result = dialog.querySelector("[data-result]");
      show(result, "");
      var reason = reasonOf(cancelForm, texts.cancelReason);
      if (reason === null) return;
      var body = { by: cancelForm.elements.by.value, reason: reason };
      return Q.api("POST", "/api/v1/visits/" + moving.id + "/cancel", body).then(
        function (answer) {
          if (answer.status === 200) {
            show(result, texts.cancelled);
            load();
            return;
          }
          showErrors(cancelForm, answer, result, { reason: texts.cancelReason });
          if ((answer.body || {}).code === "status_changed") load();
        },
        function () { show(result, texts.network); }
      );
    });
    // Moving, with the move's own reason; Enter in any of its fields moves, never cancels.
    global.ClinicOnce.submit(moveForm, function () {
      clearErrors(moveForm);
      clearErrors(cancelForm);
      var result = dialog.querySelector("[data-result]");
      show(result, "");
      // Each field left out is said at once, the time and the reason.
      var chosen = moveForm.elements.starts_at.value;
      if (!chosen) {
        show(moveForm.querySelector('[data-error-for="starts_at"]'), texts.chooseMoveTime);
      }
      var reason = reasonOf(moveForm, texts.invalid.reason);
      if (!chosen || reason === null) return;
      var body = { starts_at: chosen, reason: reason };
      var doctorId = Number(moveForm.elements.doctor_id.value);
      if (doctorId && doctorId !== moving.doctor_id) body.doctor_id = doctorId;
      return Q.api("POST", "/api/v1/visits/" + moving.id + "/reschedule", body).then(
        function (answer) {
          if (answer.status === 202) followJob(answer.body);
          else showErrors(moveForm, answer, result);
        },
        function () { show(result, texts.network); }
      );
    });
  }

  if (cfg.departmentId || cfg.doctorId) {
    global.ClinicSocket.subscribe(cfg.channel, {
      onSnapshot: function () {
        // A change of the doctors between the server drawing the page and the subscription
        // reaching it comes as no event, nor does one during a break longer than the
        // channel's history.
        Q.fromPage("calendar", copyDoctors);
        reloadSoon();
      },
      onEvent: function (event) {
        if (event.type === "schedule.changed") Q.fromPage("calendar", copyDoctors);
        reloadSoon();
      },
      onError: function () { show(failure, texts.forbidden); },
    });
    load();
  }
})(window);
