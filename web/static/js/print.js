/*
 * The printable ticket asks the browser to print itself once drawn; a window opened by the
 * desk or the kiosk for it closes after printing.
 */
(function () {
  "use strict";

  var ticket = document.getElementById("ticket-print");

  document.getElementById("print-again").addEventListener("click", function () {
    window.print();
  });

  if (ticket.getAttribute("data-autoprint") === "1") {
    window.addEventListener("afterprint", function () {
      if (window.opener) window.close();
    });
    window.addEventListener("load", function () {
      window.print();
    });
  }
})();
