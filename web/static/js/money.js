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

  // The largest amount of one payment or refund (MAX_AMOUNT in clinic/payments/amounts.py).
  var MAX_TIYIN = 1e15;

  function escaped(text) {
    return String(text).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  /**
   * ``ClinicMoney.reader(style)``: the function reading a typed sum as integer tiyin, without
   * floating point ("25000", "25 000,50", and as the page writes money: "150,000.50" in
   * English); null when it is not a sum in whole tiyin ("150 000,555", "abc").
   */
  global.ClinicMoney.reader = function (style) {
    style = style || { group_separator: " ", decimal_separator: "," };
    var separator = style.group_separator || " ";
    // Sums grouped the page's way when its group separator is not a space ("150,000.50").
    var grouped = /\s/.test(separator)
      ? null
      : new RegExp(
          "^(\\d{1,3}(?:" + escaped(separator) + "\\d{3})+)(?:" +
            escaped(style.decimal_separator || ".") + "(\\d{1,2}))?$"
        );
    return function (text) {
      var cleaned = String(text || "").replace(/[\s\u00a0]/g, "");
      var match = /^(\d{1,14})(?:[.,](\d{1,2}))?$/.exec(cleaned);
      var whole = match && match[1];
      if (!match && grouped) {
        match = grouped.exec(cleaned);
        whole = match && match[1].split(separator).join("");
      }
      if (!match || whole.length > 14) return null;
      var fraction = match[2] ? (match[2] + "0").slice(0, 2) : "00";
      var amount = parseInt(whole, 10) * 100 + parseInt(fraction, 10);
      // No more than the largest amount the clinic takes or gives back at once: exact up to
      // it (far below 2^53), and an invoice of that very total is read as written.
      return amount > MAX_TIYIN ? null : amount;
    };
  };

  /**
   * What a payment takes of ``due`` tiyin when the cashier typed ``typed``: ``{amount}``, or
   * ``{refused}`` with its reason: "not_tiyin", "zero" or "above_due".
   */
  global.ClinicMoney.toPay = function (read, typed, due) {
    var amount = read(typed);
    if (amount === null) return { refused: "not_tiyin" };
    if (amount === 0) return { refused: "zero" };
    if (amount > due) return { refused: "above_due" };
    return { amount: amount };
  };
})(window);
