/*
 * The price list page keeps its table up to date: a service added, changed, switched off or
 * on by anyone (another administrator, an import) reloads the table in place, the page and
 * the search it shows kept, from the services' channel (reference:services).
 */
(function () {
  "use strict";

  // An import sends a batch of events at once: they make one reload, not one each.
  var GATHER_MS = 300;

  var table = document.getElementById("price-table");
  if (!table || !window.ClinicSocket) return;
  var timer = null;
  var loading = false;
  var again = false;

  // The table as the server draws it now, in place; rejects when it could not be had.
  function fetchTable() {
    return fetch(table.getAttribute("data-refresh-url"), {
      headers: { Accept: "text/html" },
      credentials: "same-origin",
    })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        table.innerHTML = html;
        table.setAttribute("data-refreshed", String(Date.now()));
      });
  }

  // For the import form (price-list.js), which reloads it when its import ends.
  window.ClinicPriceTable = { reload: fetchTable };

  function reload() {
    timer = null;
    if (loading) {
      again = true; // changed while the table was on its way: once more after it
      return;
    }
    loading = true;
    fetchTable()
      .catch(function () {
        /* the server is away: the next change (or the socket's return) reloads it */
      })
      .then(function () {
        loading = false;
        if (again) {
          again = false;
          soon();
        }
      });
  }

  function soon() {
    if (timer === null) timer = window.setTimeout(reload, GATHER_MS);
  }

  window.ClinicSocket.subscribe("reference:services", {
    // Every snapshot reloads the table, the first one too: a change made between the page's
    // drawing and this subscription reaching the server comes as no event. A later snapshot
    // follows a time away whose events the server no longer has.
    onSnapshot: soon,
    onEvent: function (event) {
      if (String(event.type).indexOf("service.") === 0) soon();
    },
  });
})();
