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

  /** ``ClinicOnce.fresh()``: a new key, for a page that keeps its own (a join's). */
  global.ClinicOnce.fresh = fresh;

  /**
   * ``ClinicOnce.lostKey(keptMs, name)``: the key of the last press whose answer decided
   * nothing (lost on its way, a gateway's 5xx, a 429: its request may have done its work all
   * the same), for the next press. ``key(place, request)`` is that key when the next press is
   * at the same place (a kiosk's queue, a desk's form) asking the same (``request``, as text)
   * within ``keptMs`` of the loss, else a new one; either way the lost one is forgotten then.
   * ``lost(place, request, key)`` keeps a press's key. ``name``: kept under it in the tab's
   * sessionStorage as well, to outlive a reload (the kiosk's language switch).
   */
  global.ClinicOnce.lostKey = function (keptMs, name) {
    var memory = null; // {place, request, key, at}: also where a browser keeps no storage

    function read() {
      var kept = memory;
      if (!name) return kept;
      try {
        var stored = global.sessionStorage.getItem(name);
        if (stored) kept = JSON.parse(stored);
      } catch (e) {
        // no storage, or nothing readable in it: the memory's
      }
      return kept;
    }

    function write(kept) {
      memory = kept;
      if (!name) return;
      try {
        if (kept) global.sessionStorage.setItem(name, JSON.stringify(kept));
        else global.sessionStorage.removeItem(name);
      } catch (e) {
        // no storage: kept in memory, until the page is left
      }
    }

    return {
      key: function (place, request) {
        var kept = read();
        write(null);
        var again =
          kept &&
          kept.place === String(place) &&
          kept.request === String(request || "") &&
          Date.now() - kept.at < keptMs;
        return again ? kept.key : fresh();
      },
      lost: function (place, request, key) {
        write({ place: String(place), request: String(request || ""), key: key, at: Date.now() });
      },
    };
  };

  /** ``ClinicOnce.press(button, send, lost)``: ``send`` on each press of ``button``, one at a
   * time. */
  global.ClinicOnce.press = function (button, send, lost) {
    button.addEventListener("click", function () {
      oneAtATime(button, send, lost);
    });
  };
})(window);
