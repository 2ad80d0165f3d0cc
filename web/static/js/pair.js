/*
 * Pairing a screen: /board/pair#ABCD-EFGH fills the code in and sends it. The code rides in
 * the address's fragment, which the browser never sends to a server (no log, no Referer),
 * and is wiped from the address at once.
 */
(function () {
  "use strict";
  var code = decodeURIComponent((window.location.hash || "").slice(1));
  if (!code) return;
  window.history.replaceState(null, "", window.location.pathname);
  var form = document.getElementById("pair-form");
  var field = document.getElementById("pairing-code");
  if (!form || !field) return;
  field.value = code;
  if (!document.querySelector(".alert--error")) form.submit();
})();
