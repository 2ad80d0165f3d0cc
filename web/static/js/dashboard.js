/*
 * The manager's dashboard: today's figures from /api/v1/reports/dashboard, read again
 * (at most twice a second) whenever a payment or ticket event arrives on the desk's or a
 * queue's channel, on every reconnect, when the clinic's day the figures are for ends, and
 * every few minutes besides.
 */
(function (global) {
  "use strict";

  var document = global.document;
  var config = JSON.parse(document.getElementById("dashboard-config").textContent);
  var subscribed = {};
  var timer = null;
  var refresh = null;
  var shownDay = null;
  // A read at least this often: a timer of a sleeping computer, or a clock the server and
  // the browser disagree on, must not keep yesterday's figures under "Today" for long.
  var SAFETY_MS = 5 * 60 * 1000;
  // After the clinic's midnight by this much, so the server's day has surely turned.
  var PAST_MIDNIGHT_MS = 1000;

  // Amounts as the reports write them, in the page's language ("1 250 000,50 сум").
  var money = global.ClinicMoney(config.money);

  function set(id, text) {
    document.getElementById(id).textContent = text;
  }

  // The zone's local time less UTC at the instant ms (5 hours in Tashkent).
  function zoneOffset(zone, ms) {
    var parts = {};
    zone.formatToParts(new Date(ms)).forEach(function (part) { parts[part.type] = part.value; });
    var local = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour % 24,
      +parts.minute, +parts.second);
    return local - Math.floor(ms / 1000) * 1000;
  }

  // The instant (ms) the clinic's day ("2026-03-10") ends: the next day's 00:00 in its zone.
  function dayEnds(day) {
    var ymd = String(day).split("-").map(Number);
    var midnight = Date.UTC(ymd[0], ymd[1] - 1, ymd[2] + 1);
    if (!isFinite(midnight)) return NaN;
    try {
      var zone = new Intl.DateTimeFormat("en-US", {
        timeZone: config.timeZone, hourCycle: "h23", year: "numeric", month: "numeric",
        day: "numeric", hour: "numeric", minute: "numeric", second: "numeric",
      });
      // Twice: the offset at the first guess may be another than at midnight (a zone's
      // clock changed in between).
      var guess = midnight - zoneOffset(zone, midnight);
      return midnight - zoneOffset(zone, guess);
    } catch (e) {
      return NaN; // a zone this browser does not know: the reads every few minutes remain
    }
  }

  // The next read: when the figures' day ends (counted from the server's clock at its
  // answer, "at", not this browser's, which may be set wrong), at most SAFETY_MS from now;
  // after a failed read (no data), SAFETY_MS from now. None before a day was ever shown.
  function readAgain(data) {
    if (refresh !== null) global.clearTimeout(refresh);
    refresh = null;
    if (!shownDay) return;
    var left = data ? dayEnds(data.day) - Date.parse(data.at) : NaN;
    var wait = SAFETY_MS;
    if (isFinite(left) && left > 0) wait = Math.min(SAFETY_MS, left + PAST_MIDNIGHT_MS);
    refresh = global.setTimeout(function () {
      refresh = null;
      later();
    }, wait);
  }

  function show(data) {
    // The day the figures are for, under "Today": the clinic's, whatever this clock says.
    var day = document.getElementById("dash-day");
    shownDay = data.day || shownDay;
    day.textContent = shownDay || "";
    day.setAttribute("datetime", shownDay || "");
    set("dash-revenue", money(data.revenue.net));
    set("dash-payments", data.revenue.payments);
    set("dash-refunded", money(data.revenue.refunded));
    set("dash-visits", data.visits.total);
    set("dash-visit-statuses", Object.keys(data.visits.by_status).map(function (k) {
      return (config.texts.statuses[k] || k) + ": " + data.visits.by_status[k];
    }).join(", "));
    set("dash-waiting", data.queue.waiting);
    var list = document.getElementById("dash-queues");
    list.textContent = "";
    data.queue.queues.forEach(function (q) {
      var item = document.createElement("li");
      // Named as the other pages name it; a queue opened after the page was, by its code.
      item.textContent = ((config.queueNames || {})[q.queue_id] || q.code) + ": " + q.waiting;
      list.appendChild(item);
    });
    (data.channels || []).forEach(function (channel) {
      if (subscribed[channel]) return;
      subscribed[channel] = global.ClinicSocket.subscribe(channel, {
        onSnapshot: later,
        onEvent: later,
      });
    });
  }

  function load() {
    timer = null;
    global.fetch("/api/v1/reports/dashboard", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data) show(data);
        readAgain(data);
      }, function () { readAgain(null); });
  }

  function later() {
    if (timer === null) timer = global.setTimeout(load, 500);
  }

  global.ClinicSocket.onStatus(function (status) {
    set("dashboard-status", status === "live" ? config.texts.live : config.texts.reconnecting);
    if (status === "live") later();
  });
  load();
})(window);
