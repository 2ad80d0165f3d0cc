/*
 * The cashier's shift at her desk (cashier.js): the line saying since when it is open and the
 * cash in its drawer, and the forms opening and closing it (the close with a note of hers kept
 * with the shift, as a discrepancy's explanation). ``ClinicShift(desk)`` shows it as
 * the API has it and answers ``{refresh(), id()}``: the desk reads it again when money moved
 * through her drawer or a shift was opened or closed at another screen. ``desk``: what the
 * desk shares: {config, money, tiyin, since, fail, errorBox, statusBox}.
 */
(function (global) {
  "use strict";

  global.ClinicShift = function (desk) {
    var Q = global.ClinicQueue;
    var config = desk.config;
    var texts = config.texts;
    var money = desk.money;
    var tiyin = desk.tiyin;
    var since = desk.since;
    var fail = desk.fail;
    var errorBox = desk.errorBox;
    var statusBox = desk.statusBox;
    var shiftState = document.getElementById("shift-state");
    var openForm = document.getElementById("shift-open");
    var closeForm = document.getElementById("shift-close");

    var shiftId = null; // the cashier's open shift: its drawer's cash is shown
    // Readings asked and shifts shown, counted together: a reading asked before another one,
    // or before a shift shown from a form's answer, may be older than it (two payments close
    // together: the first one's cash answered last), and is not shown.
    var asks = 0;

    function showShift(shift) {
      asks += 1;
      shiftId = shift ? shift.id : null;
      openForm.hidden = !!shift;
      closeForm.hidden = !shift;
      shiftState.textContent = shift
        ? Q.fill(texts.shiftOpen, {
            // With its day when not today's: a shift left open overnight is closed first.
            time: since(shift.opened_at),
            amount: money(shift.cash_in_drawer),
          })
        : texts.noShift;
    }

    function refreshShift() {
      var asked = (asks += 1);
      return Q.api("GET", config.shiftApi).then(function (answer) {
        if (answer.status === 200 && asked === asks) showShift(answer.body.shift);
      });
    }

    // One request a press: a second (or Enter) would put its refusal in place of the answer.
    global.ClinicOnce.submit(openForm, function () {
      var cash = tiyin(openForm.elements.opening_cash.value);
      return Q.api("POST", config.openShiftApi, { opening_cash: cash }).then(function (answer) {
        if (answer.status !== 201) {
          // Opened meanwhile at another screen: show it as it is.
          if (answer.body && answer.body.code === "shift_open") refreshShift();
          return fail(answer);
        }
        Q.say(errorBox, "");
        showShift(answer.body);
      });
    }, function () {
      Q.say(errorBox, texts.network);
    });

    /** The close's note, or null when it is longer than the API keeps: said at its field,
     * and nothing is sent (the field's maxlength stops her typing past it, not a value put
     * there otherwise, nor a browser that ignores it). */
    function closingNote() {
      var field = closeForm.elements.note;
      var note = field ? field.value : "";
      if (!config.noteMax || note.length <= config.noteMax) {
        if (field && field.removeAttribute) field.removeAttribute("aria-invalid");
        return note;
      }
      Q.say(statusBox, "");
      Q.say(errorBox, texts.fields.note);
      field.setAttribute("aria-invalid", "true");
      field.focus();
      return null;
    }

    global.ClinicOnce.submit(closeForm, function () {
      var counted = tiyin(closeForm.elements.counted_cash.value);
      var note = closingNote();
      if (note === null) return;
      var data = { counted_cash: counted, note: note };
      return Q.api("POST", config.closeShiftApi, data).then(function (answer) {
        if (answer.status !== 200) {
          // Closed meanwhile at another screen: show it as it is.
          if (answer.body && answer.body.code === "no_open_shift") refreshShift();
          return fail(answer);
        }
        Q.say(errorBox, "");
        Q.say(
          statusBox,
          Q.fill(texts.shiftClosed, {
            expected: money(answer.body.expected_cash),
            counted: money(answer.body.counted_cash),
            diff: money(answer.body.discrepancy),
          })
        );
        closeForm.reset();
        showShift(null);
      });
    }, function () {
      Q.say(errorBox, texts.network);
    });

    if (config.hasShift) {
      // Open when the page was served: its close form at once, its figures once read (never
      // "open your shift" and its form, a press of which would be refused).
      openForm.hidden = true;
      closeForm.hidden = false;
    } else {
      showShift(null);
    }
    refreshShift();
    return {
      refresh: refreshShift,
      id: function () {
        return shiftId;
      },
    };
  };
})(window);
