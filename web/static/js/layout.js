/* The layout's live indicator: shows the state of ClinicSocket once a page uses it. */
(function () {
  "use strict";
  var indicator = document.querySelector("[data-ws-status]");
  if (!indicator || !window.ClinicSocket) return;
  window.ClinicSocket.onStatus(function (status) {
    indicator.hidden = false;
    indicator.setAttribute("data-state", status);
    indicator.textContent = indicator.getAttribute("data-label-" + status) || status;
  });
})();
