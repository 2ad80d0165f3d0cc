/* The layout's live indicator: shows the state of ClinicSocket once a page uses it. */
(function () {
  "use strict";
  var indicator = document.querySelector("[data-ws-status]");
  if (!indicator || !window.ClinicSocket) return;
  window.ClinicSocket.onStatus(function (status) {
    indicator.hidden = false;
    indicator.setAttribute("data-state", status);
    var label = indicator.getAttribute("data-label-" + status) || status;
    indicator.textContent = status === "signedout" ? "" : label;
    if (status === "signedout") {
      // The session ended: the page loaded again goes through signing in and back here.
      var link = document.createElement("a");
      link.href = window.location.href;
      link.textContent = label;
      indicator.appendChild(link);
    }
  });
})();
