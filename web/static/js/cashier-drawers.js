/*
 * The drawers a manager's cash refund may come out of, on the desk's refunds-only form
 * (cashier.js): the shifts open now, each with its cashier, its number and the cash its
 * drawer holds, read from the API at the start and again whenever money moves or a shift
 * opens or closes. ``ClinicDrawers(desk)`` answers ``{refresh(), select(chosen)}``; ``desk``:
 * {config, money, onChange} (onChange draws the rows again with the list read).
 */
(function (global) {
  "use strict";

  global.ClinicDrawers = function (desk) {
    var Q = global.ClinicQueue;
    var texts = desk.config.texts;
    var open = []; // the shifts open now, oldest first

    var asks = 0; // of two readings, the one asked last is shown, whichever answers first

    function refresh() {
      var asked = (asks += 1);
      return Q.api("GET", desk.config.openShiftsApi).then(function (answer) {
        if (answer.status !== 200 || asked !== asks) return;
        open = answer.body;
        desk.onChange();
      });
    }

    /** A refund row's choice of drawer; ``chosen``: the shift id chosen before (text). With
     * one shift open it is the one, chosen for him; a shift closed meanwhile is unchosen. */
    function select(chosen) {
      var field = Q.element("select");
      field.name = "refund_shift";
      field.title = texts.drawer;
      field.setAttribute("aria-label", texts.drawer);
      var none = Q.element("option", "", open.length ? texts.chooseDrawer : texts.noDrawers);
      none.value = "";
      field.appendChild(none);
      open.forEach(function (shift) {
        var item = Q.element(
          "option",
          "",
          Q.fill(texts.drawerOf, {
            name: shift.cashier_name,
            number: shift.id,
            amount: desk.money(shift.cash_in_drawer),
          })
        );
        item.value = String(shift.id);
        field.appendChild(item);
      });
      field.value = chosen || (open.length === 1 ? String(open[0].id) : "");
      if (field.selectedIndex < 0) field.value = "";
      return field;
    }

    refresh();
    return { refresh: refresh, select: select };
  };
})(window);
