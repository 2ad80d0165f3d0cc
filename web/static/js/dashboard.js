/*
 * The manager's dashboard: today's figures from /api/v1/reports/dashboard, read again
 * (at most twice a second) whenever a payment or ticket event arrives on the desk's or a
 * queue's channel, and on every reconnect.
 */
(function (global) {
  "use strict";

  var document = global.document;
  var config = JSON.parse(document.getElementById("dashboard-config").textContent);
  var subscribed = {};
  var timer = null;

  // Amounts as the reports write them, in the page's language ("1 250 000,50 сум").
  var money = global.ClinicMoney(config.money);

  function set(id, text) {
    document.getElementById(id).textContent = text;
  }

  function show(data) {
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
      .then(function (data) { if (data) show(data); });
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
