/*
 * Money as the page's language writes it, the way clinic/money.py does: integer tiyin as
 * grouped sums, the tiyin only when there are some, then the unit ("25 000 сум",
 * "50,50 so'm", "1,250,000.50 UZS"; a minus sign before an amount given back).
 * ``ClinicMoney(style)`` (the server's money_style) returns the function that writes it.
 */
(function (global) {
  "use strict";

  global.ClinicMoney = function (style) {
    style = style || { group_separator: " ", decimal_separator: ",", unit: "" };
    return function (tiyin) {
      var sign = tiyin < 0 ? "-" : "";
      var abs = Math.abs(tiyin);
      var sums = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, function () {
        return style.group_separator;
      });
      var rest = abs % 100;
      var fraction = rest ? style.decimal_separator + (rest < 10 ? "0" + rest : String(rest)) : "";
      return sign + sums + fraction + (style.unit ? " " + style.unit : "");
    };
  };
})(window);
