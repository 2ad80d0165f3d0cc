/*
 * Idempotency keys that outlive a lost answer. ``ClinicOnce()`` returns a keeper:
 * ``key(group, request)`` is the same key for the same request (what it asks, as text) of a
 * group (an invoice) until the API decided it (``decided(group, request, answer)``: any
 * answer below 500) or the group was seen to change (``seen(group, state)``). So a request sent
 * again (pressed again on a row drawn anew while the first was on its way, or after the
 * network lost the answer or a gateway answered 5xx) is done once by the API.
 */
(function (global) {
  "use strict";

  // A new key. randomUUID needs a secure context (HTTPS), which a kiosk on the clinic's
  // network or a patient's phone may not have been given: random bytes then, where there are.
  function fresh() {
    var c = global.crypto;
    if (c && typeof c.randomUUID === "function") return c.randomUUID();
    var bytes = new Uint8Array(16);
    if (c && typeof c.getRandomValues === "function") c.getRandomValues(bytes);
    else for (var i = 0; i < bytes.length; i += 1) bytes[i] = Math.floor(Math.random() * 256);
    return Array.prototype.map
      .call(bytes, function (b) {
        return (b + 256).toString(16).slice(1);
      })
      .join("");
  }

  global.ClinicOnce = function () {
    var unanswered = {}; // group -> {request: key}
    var states = {}; // group -> its state last seen
    return {
      key: function (group, request) {
        var keys = (unanswered[group] = unanswered[group] || {});
        keys[request] = keys[request] || fresh();
        return keys[request];
      },
      decided: function (group, request, answer) {
        if (answer.status < 500 && unanswered[group]) delete unanswered[group][request];
      },
      // The group's state (what the page shows of it) now: true when it changed since last
      // seen (a request already made may have landed): its unanswered keys are forgotten.
      seen: function (group, state) {
        var now = JSON.stringify(state);
        var changed = group in states && states[group] !== now;
        states[group] = now;
        if (changed) delete unanswered[group];
        return changed;
      },
    };
  };

  // ``send()`` (a promise, or nothing) with ``button`` disabled until its answer is in (or the
  // network lost it: ``lost()``): a press meanwhile (or Enter) sends nothing more.
  function oneAtATime(button, send, lost) {
    if (button.disabled) return;
    button.disabled = true;
    new Promise(function (resolve) {
      resolve(send());
    })
      .catch(lost || function () {})
      .then(function () {
        button.disabled = false;
      });
  }

  /** ``ClinicOnce.submit(form, send, lost)``: ``send`` on each submit of ``form``, one at a
   * time (its submit button waits for the answer). */
  global.ClinicOnce.submit = function (form, send, lost) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      oneAtATime(form.querySelector("button[type=submit]"), send, lost);
    });
  };

  /** ``ClinicOnce.fresh()``: a new key, for a page that keeps its own (the kiosk's touch). */
  global.ClinicOnce.fresh = fresh;

  /** ``ClinicOnce.press(button, send, lost)``: ``send`` on each press of ``button``, one at a
   * time. */
  global.ClinicOnce.press = function (button, send, lost) {
    button.addEventListener("click", function () {
      oneAtATime(button, send, lost);
    });
  };
})(window);
