/*
 * The cashier's desk: the clinic day's invoices live from the payments:desk channel (its
 * snapshot, then invoice.* / payment.recorded / refund.recorded events, each carrying the
 * invoice's whole new state), taking cash or card, refunds, reprint requests and the shift.
 * Amounts travel as integer tiyin; the cashier types sums ("25000" or "25 000,50").
 * In its refunds-only form (``config.refundsOnly``: a manager called to a cashier's desk)
 * it takes no payments and keeps no shift: a refund in cash names the drawer it comes out
 * of, one of the shifts open now (cashier-drawers.js). An open invoice nothing was paid of
 * may be cancelled, by those the API lets (``config.mayCancel``: payments.take).
 */
(function () {
  "use strict";

  var Q = window.ClinicQueue;
  var config = Q.config("cashier-config");
  var texts = config.texts;
  var body = document.getElementById("invoices");
  var empty = document.getElementById("invoices-empty");
  var statusBox = document.getElementById("cashier-status");
  var errorBox = document.getElementById("cashier-error");
  var findForm = document.getElementById("invoice-find");
  var refundsOnly = !!config.refundsOnly;
  var REASON_MAX = 500; // the longest reason a refund keeps (clinic/payments/refunds.py)
  var invoices = {};
  // invoice id -> {amount, links}: its checkout links and the sum they ask for, while the
  // cashier shows them
  var checkouts = {};
  // invoice id -> {field name: typed text}: what the cashier typed in a row, kept while the
  // list is drawn again for another invoice's event; the invoice's own change clears it.
  var drafts = {};

  /** Tiyin as the page's language writes money ("25 000 сум", "50,50 so'm"). */
  var money = window.ClinicMoney(config.money);

  /** Tiyin as a sum to type, the page's way without the unit ("150 000", "150,000.50"). */
  var sums = window.ClinicMoney({
    group_separator: config.money.group_separator,
    decimal_separator: config.money.decimal_separator,
    unit: "",
  });

  /** Typed sums to tiyin ("25 000,50", "150,000" in English); null when not an amount. */
  var tiyin = window.ClinicMoney.reader(config.money);

  var once = window.ClinicOnce(); // each payment's or refund's key until the API decided it
  // invoice id -> {request: key}: the key of a payment or refund whose answer the network
  // lost. It outlives the invoice's money moving (its own event, most likely): the same press
  // again is answered with what the first did, not paid or given back twice.
  var lostKeys = {};
  // invoice id -> the payment or refund sent for it: {kind, data, landed (its own record
  // seen), lost (the answer never came)}. While it is on its way the row's buttons wait; once
  // lost, the invoice's events, or the invoice read alone, tell whether it landed.
  var sent = {};
  // invoice id -> true while a request of its row is on its way: its buttons are drawn
  // disabled (a row drawn anew by the invoice's own event must not offer a second press).
  var busy = {};
  // invoice id -> the name of its row's field a refusal is about: drawn marked invalid until
  // typed in again, or the invoice's money moves.
  var refused = {};

  /** A refusal in the page's language; ``fields``: the action's own words for a field, and
   * ``refusals`` its own words for a code. */
  function fail(answer, fields, refusals) {
    var body = answer.body || {};
    var code = body.code;
    var words = Object.assign({}, texts.fields, fields || {});
    var reasons = body.reasons || {};
    // A refusal without a code names its field, and why by the codes of the field's reasons
    // where the API gives them (a reason too long, not a reason missing): said in the page's
    // language too, by why first, else by the field.
    var named = Object.keys((!code && body.errors) || {});
    var why = null;
    named.forEach(function (name) {
      [].concat(reasons[name] || []).forEach(function (reason) {
        why = why || (texts.reasons || {})[reason] || null;
      });
    });
    var field = named.filter(function (name) {
      return words[name];
    })[0];
    Q.say(statusBox, "");
    Q.say(
      errorBox,
      (code && ((refusals || {})[code] || texts.refusals[code])) ||
        why ||
        (field && words[field]) ||
        Q.problem(texts, answer)
    );
  }

  /** The row field of invoice ``id`` named ``name``, as drawn now (or null). */
  function rowField(id, name) {
    return body.querySelector("tr[data-invoice-id='" + id + "'] [name='" + name + "']");
  }

  /** Marks the field ``name`` of invoice ``id``'s row as the one a refusal is about, and puts
   * the keyboard there to correct it. */
  function markRefused(id, name) {
    var before = refused[id] && rowField(id, refused[id]);
    if (before) before.removeAttribute("aria-invalid");
    refused[id] = name;
    var field = rowField(id, name);
    if (!field) return;
    field.setAttribute("aria-invalid", "true");
    field.focus();
  }

  /** ``text`` said for the field ``name`` of invoice ``id``'s row, refused on the page. */
  function refuseField(id, name, text) {
    markRefused(id, name);
    return refuse(text);
  }

  /** The row field an API's refusal names (``fields``: the row's name of each field the
   * action sends), marked to be corrected; a refusal naming none leaves the row as it is. */
  function markNamed(id, answer, fields) {
    var errors = (answer.body && answer.body.errors) || {};
    var name = Object.keys(errors)
      .map(function (sent) {
        return fields[sent];
      })
      .filter(Boolean)[0];
    if (name) markRefused(id, name);
  }

  /** Marks a field drawn for invoice ``id`` when a refusal is about it. */
  function marked(field, invoiceId) {
    if (refused[invoiceId] === field.name) field.setAttribute("aria-invalid", "true");
    return field;
  }

  function button(label, action) {
    var b = Q.element("button", "button", label);
    b.type = "button";
    b.setAttribute("data-action", action);
    return b;
  }

  function input(name, placeholder, invoiceId, value) {
    var field = Q.element("input");
    field.name = name;
    field.placeholder = placeholder;
    field.title = placeholder;
    field.setAttribute("aria-label", placeholder);
    field.autocomplete = "off";
    var typed = drafts[invoiceId] && drafts[invoiceId][name];
    field.value = typed !== undefined ? typed : value || "";
    return marked(field, invoiceId);
  }

  /** A field with its label shown (a placeholder goes once typed in, or when the field has a
   * value from the start, as the amount due has). */
  function labelled(field) {
    var label = Q.element("label", "cashier-field");
    label.appendChild(Q.element("span", "cashier-field__label", field.placeholder || field.title));
    label.appendChild(field);
    return label;
  }

  /** How the money goes back: as the newest payment that covers it came in, in cash or to
   * the card (part paid each way: the patient says which). */
  function refundMethod(invoiceId) {
    var field = Q.element("select");
    field.name = "refund_method";
    field.title = texts.refundAs;
    field.setAttribute("aria-label", texts.refundAs);
    var ways = [
      ["cash", texts.cash],
      ["card", texts.card],
    ];
    // Refunds-only: cash or card said outright, since cash needs its drawer chosen; "as paid"
    // last, for a payment made neither way at the desk (by Click, given back there).
    var choices = refundsOnly
      ? ways.concat([["", texts.refundAsPaid]])
      : [["", texts.refundAsPaid]].concat(ways);
    choices.forEach(function (option) {
      var item = Q.element("option", "", option[1]);
      item.value = option[0];
      field.appendChild(item);
    });
    var typed = drafts[invoiceId] && drafts[invoiceId].refund_method;
    field.value = typed || (refundsOnly ? "cash" : "");
    return marked(field, invoiceId);
  }

  /** The drawer a manager's cash refund comes out of; none to choose for a card refund. */
  function refundDrawer(actions, invoiceId) {
    var chosen = drafts[invoiceId] && drafts[invoiceId].refund_shift;
    var field = marked(drawers.select(chosen), invoiceId);
    field.disabled = actions.querySelector("select[name=refund_method]").value !== "cash";
    actions.appendChild(labelled(field));
  }

  /** What was paid of an invoice and not given back yet, in tiyin: no refund gives more (a
   * part given back of an open invoice lowers what is paid; of a paid one, it is counted
   * as given back). */
  function leftToGiveBack(invoice) {
    return Math.max(0, (invoice.paid_amount || 0) - (invoice.refunded_amount || 0));
  }

  /** Refund fields and button: for what was paid of an invoice and not given back (none on
   * an invoice settled at no cost: nothing was paid of it). */
  function refundControls(actions, invoice) {
    if (!leftToGiveBack(invoice)) return;
    // A patient who left unseen: his money, and why, typed in for her already; only what the
    // desk gives back itself (a Payme payment is refunded in Payme's cabinet, and the desk's
    // refund of it refused).
    var owed = invoice.to_give_back_at_desk > 0;
    var amount = owed ? sums(invoice.to_give_back_at_desk) : "";
    actions.appendChild(labelled(input("refund_amount", texts.refundAmount, invoice.id, amount)));
    var why = owed ? texts.unseenReason[invoice.not_seen] || "" : "";
    var reason = input("refund_reason", texts.refundReason, invoice.id, why);
    reason.maxLength = REASON_MAX; // the most the API keeps
    actions.appendChild(labelled(reason));
    actions.appendChild(labelled(refundMethod(invoice.id)));
    if (refundsOnly) refundDrawer(actions, invoice.id);
    actions.appendChild(button(texts.refund, "refund"));
  }

  // A moment's day and time in the clinic's zone, as parts: written "06.12 18:02" in every
  // language, as printed documents write them, never in a language's own order ("12/06" in
  // English, "12-06" in Uzbek: other days to the reader).
  var clinicTime = new Intl.DateTimeFormat("en-GB", {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
    timeZone: config.timezone || undefined,
  });

  function clinicParts(when) {
    var parts = {};
    clinicTime.formatToParts(when).forEach(function (part) {
      parts[part.type] = part.value;
    });
    return parts;
  }

  /** A moment as its time, with its day when that is not today (a hold of last evening). */
  function since(iso) {
    var when = clinicParts(new Date(iso));
    var now = clinicParts(new Date());
    var time = when.hour + ":" + when.minute;
    var today = when.year === now.year && when.month === now.month && when.day === now.day;
    return today ? time : when.day + "." + when.month + " " + time;
  }

  var PROVIDERS = { payme: "Payme", click: "Click" };

  /** "payme" of "payme:<id>": the provider of an online payment holding an invoice, or null. */
  function onlineHold(invoice) {
    var provider = String(invoice.held_by || "").split(":")[0];
    return PROVIDERS[provider] ? provider : null;
  }

  function heldText(invoice) {
    var provider = onlineHold(invoice);
    return Q.fill(texts.heldBy, {
      provider: PROVIDERS[provider] || String(invoice.held_by || "").split(":")[0],
      time: invoice.held_at ? since(invoice.held_at) : "",
    });
  }

  // service id -> its names by language, as lines have named it: an invoice's event made
  // where its services were not at hand (a payment from Payme's side) comes without them.
  var serviceTitles = {};

  /** A line's service as the desk's language names it (the line's own title is Russian). */
  function lineTitle(line) {
    if (line.titles) serviceTitles[line.service_id] = line.titles;
    var titles = line.titles || serviceTitles[line.service_id] || {};
    return titles[config.language] || line.title;
  }

  /** The invoice's services as the desk's language names them ("Consultation ×2; ECG"). */
  function servicesOf(invoice) {
    return invoice.lines
      .map(function (line) {
        var title = lineTitle(line);
        return line.quantity > 1 ? title + " ×" + line.quantity : title;
      })
      .join("; ");
  }

  /** ``template`` said with its sums (``sums``: name -> tiyin) written as money, as one
   * element of the row whose sums each stay whole on a line ("110 000 сум" never broken
   * after "110"), whatever the column's width. */
  function withSums(className, template, sums) {
    var said = Q.element("span", className);
    String(template)
      .split(/(\{\w+\})/)
      .forEach(function (piece) {
        var name = /^\{(\w+)\}$/.exec(piece);
        if (name && typeof sums[name[1]] === "number") {
          said.appendChild(Q.element("span", "cashier-invoices__sum", money(sums[name[1]])));
        } else if (piece) {
          said.appendChild(Q.element("span", "", piece));
        }
      });
    return said;
  }

  /** The total, and under it a discount given: how much off what, and its reason. */
  function totalCell(invoice) {
    var cell = Q.element("td", "cashier-invoices__total");
    cell.appendChild(Q.element("span", "cashier-invoices__sum", money(invoice.total)));
    if (invoice.discount > 0) {
      var discount = withSums("cashier-invoices__discount", texts.discount, {
        amount: invoice.discount,
        subtotal: invoice.subtotal,
      });
      cell.appendChild(discount);
      if (invoice.discount_reason) {
        var reason = Q.element("span", "cashier-invoices__reason", invoice.discount_reason);
        reason.title = invoice.discount_reason; // a long one is cut short on the row
        cell.appendChild(reason);
      }
    }
    return cell;
  }

  /** What the invoice's row says of it: its status, then, each after a "·", what was paid of
   * an open one and what is still due, the online payment holding it, and of one part given
   * back how much went back and how much more may (the cashier need not learn that limit by
   * a refusal). */
  function statusCell(invoice) {
    var cell = Q.element("td", "cashier-invoices__status");
    cell.appendChild(Q.element("span", "", texts.statuses[invoice.status] || invoice.status));
    function then(part) {
      // The "·" ends a line rather than starts the next one.
      cell.appendChild(Q.element("span", "", "\u00a0· "));
      cell.appendChild(part);
    }
    var open = invoice.status === "open";
    if (open && invoice.paid_amount > 0) {
      // Part paid (cash now, the rest by card): what was taken, then what is still due.
      then(withSums("", texts.paidSoFar, { amount: invoice.paid_amount }));
    }
    if (open && invoice.amount_due !== invoice.total) {
      then(withSums("", texts.due, { amount: invoice.amount_due }));
    }
    if (open && invoice.held) then(Q.element("span", "", heldText(invoice)));
    if (invoice.status === "partly_refunded") {
      then(withSums("", texts.givenBack, { amount: invoice.refunded_amount }));
      then(withSums("", texts.leftToGiveBack, { amount: leftToGiveBack(invoice) }));
    }
    return cell;
  }

  /** Whether the cashier may cancel the invoice: open, nothing of it paid (a part given back
   * again counts as not paid), no payment of it under way, and her role lets her. */
  function cancellable(invoice) {
    return (
      !!config.mayCancel && invoice.status === "open" && !invoice.held && !invoice.paid_amount
    );
  }

  function cancelButton() {
    var b = button(texts.cancel, "cancel");
    b.className += " cashier-invoices__cancel";
    return b;
  }

  /** The mark of a row whose patient left unseen (his ticket cancelled, or he did not come)
   * with money of his still kept: said beside the refund, with how much the desk gives back,
   * and what only a provider gives back, in its cabinet, named by that provider. */
  function unseenMark(invoice) {
    var mark = Q.element("p", "cashier-invoices__unseen");
    mark.setAttribute("role", "note");
    var said = texts.unseen[invoice.not_seen] || texts.unseen.cancelled;
    mark.appendChild(Q.element("strong", "", said));
    function then(part) {
      mark.appendChild(Q.element("span", "", "\u00a0· "));
      mark.appendChild(part);
    }
    if (invoice.to_give_back_at_desk > 0) {
      then(withSums("", texts.unseenAmount, { amount: invoice.to_give_back_at_desk }));
    }
    var through = invoice.owed_through || {};
    Object.keys(through).forEach(function (provider) {
      // "{provider}" said first: withSums writes only the sums.
      var template = String(texts.unseenAtProvider).replace(
        "{provider}",
        PROVIDERS[provider] || provider
      );
      then(withSums("", template, { amount: through[provider] }));
    });
    return mark;
  }

  /** At the top of the page: how many of the listed invoices are money to give back. */
  var owedBox = document.getElementById("cashier-unseen");
  function sayOwed(list) {
    var owed = list.filter(function (invoice) {
      return invoice.to_give_back > 0;
    });
    if (!owedBox) return;
    owedBox.textContent = "";
    owedBox.hidden = !owed.length;
    if (!owed.length) return;
    var amount = owed.reduce(function (all, invoice) {
      return all + invoice.to_give_back;
    }, 0);
    var template = String(texts.unseenCount).replace("{count}", String(owed.length));
    owedBox.appendChild(withSums("", template, { amount: amount }));
  }

  function row(invoice) {
    var tr = Q.element("tr");
    tr.setAttribute("data-invoice-id", invoice.id);
    tr.setAttribute("data-status", invoice.status);
    if (invoice.to_give_back > 0) tr.className = "cashier-invoices__row--unseen";
    tr.appendChild(Q.element("td", "cashier-invoices__number", invoice.number));
    tr.appendChild(Q.element("td", "", servicesOf(invoice)));
    tr.appendChild(totalCell(invoice));
    tr.appendChild(statusCell(invoice));
    var actions = Q.element("td", "cashier-invoices__actions");
    if (invoice.to_give_back > 0) actions.appendChild(unseenMark(invoice));
    var paid = invoice.status === "paid" || invoice.status === "partly_refunded";
    if (refundsOnly) {
      // What was paid and not given back (of an open invoice too: a part paid), nothing else.
      if (paid || (invoice.status === "open" && !invoice.held && invoice.paid_amount > 0)) {
        refundControls(actions, invoice);
      }
      if (cancellable(invoice)) actions.appendChild(cancelButton());
    } else if (invoice.status === "open" && invoice.held) {
      // A payment begun on the patient's phone and never confirmed: the cashier may cancel it.
      if (onlineHold(invoice)) actions.appendChild(button(texts.release, "release"));
    } else if (invoice.status === "open") {
      // What this payment takes: all that is due unless the cashier types less (part in
      // cash, the rest by card).
      actions.appendChild(
        labelled(input("amount", texts.amount, invoice.id, sums(invoice.amount_due)))
      );
      actions.appendChild(labelled(input("tendered", texts.tendered, invoice.id)));
      actions.appendChild(button(texts.cash, "cash"));
      actions.appendChild(button(texts.card, "card"));
      actions.appendChild(button(texts.phone, "checkout"));
      // A part paid can be given back (the card declined after the cash, the patient gone).
      if (invoice.paid_amount > 0) refundControls(actions, invoice);
      if (cancellable(invoice)) actions.appendChild(cancelButton());
      var shown = checkouts[invoice.id];
      if (shown && shown.amount === invoice.amount_due) {
        actions.appendChild(checkoutBox(shown.links));
      } else if (shown && shown.renewing !== invoice.amount_due) {
        // Part paid meanwhile (or a discount): Payme and Click would refuse the old sum.
        // The links for what is due now take their place, asked for once per sum.
        shown.renewing = invoice.amount_due;
        checkout(invoice.id);
      }
    } else if (paid) {
      delete checkouts[invoice.id];
      refundControls(actions, invoice);
      actions.appendChild(button(texts.reprint, "reprint"));
    } else if (invoice.status === "refunded") {
      actions.appendChild(button(texts.reprint, "reprint"));
    }
    if (busy[invoice.id]) {
      actions.querySelectorAll("button").forEach(function (b) {
        b.disabled = true;
      });
    }
    tr.appendChild(actions);
    return tr;
  }

  /** The row's buttons wait while one of its requests is on its way, and come back after. */
  function setBusy(id, on) {
    if (on) busy[id] = true;
    else delete busy[id];
    var tr = body.querySelector("tr[data-invoice-id='" + id + "']");
    if (!tr) return;
    tr.querySelectorAll("td.cashier-invoices__actions button").forEach(function (b) {
      b.disabled = on;
    });
  }

  var drawnFrom = {}; // invoice id -> the state of it its row was drawn from

  function render() {
    // The field being typed in keeps its focus and caret across the redraw, and the button
    // or list reached with the keyboard its focus: Enter still presses what she chose. Not a
    // button of an invoice that changed (paid in part: Enter again would pay the rest).
    var active = document.activeElement;
    var action = active && active.getAttribute && active.getAttribute("data-action");
    var id = active && (active.name || action) && body.contains(active)
      ? active.closest("tr").getAttribute("data-invoice-id")
      : null;
    var focused =
      id !== null
        ? {
            id: id,
            // Drawn from another state of its invoice than the one about to be drawn.
            changed: drawnFrom[id] !== invoices[id],
            what: active.name ? "[name='" + active.name + "']" : "[data-action='" + action + "']",
            start: active.selectionStart,
            end: active.selectionEnd,
          }
        : null;
    var list = Object.keys(invoices)
      .map(function (id) {
        return invoices[id];
      })
      .sort(function (a, b) {
        return b.id - a.id;
      });
    body.textContent = "";
    drawnFrom = {};
    list.forEach(function (invoice) {
      drawnFrom[invoice.id] = invoice;
      body.appendChild(row(invoice));
    });
    Q.say(empty, list.length ? "" : texts.nothing);
    sayOwed(list);
    if (focused) {
      var again = body.querySelector("tr[data-invoice-id='" + focused.id + "'] " + focused.what);
      if (again && !(action && focused.changed)) {
        again.focus();
        if (typeof focused.start === "number") again.setSelectionRange(focused.start, focused.end);
      }
    }
  }

  // invoice id -> the number of the desk channel's event its row shows the invoice as of: the
  // event's own, the snapshot's last_id, or an answer's desk_event_id (the invoice as read
  // after that event). The states of an invoice are ordered by it alone: what is paid falls
  // again when a part paid of an open invoice is given back, so no amount tells the newer.
  var heardAt = {};

  /** The invoice's state ``at`` that number of the channel, onto the list. */
  function remember(invoice, at) {
    if (!invoice || typeof invoice.id !== "number") return;
    var before = invoices[invoice.id];
    var money = [invoice.status, invoice.paid_amount, invoice.refunded_amount, invoice.amount_due];
    // Paid, part paid or given back (a second part too): its fields start again from what
    // is due now, and a press on them is a new payment or refund.
    var moved = once.seen(invoice.id, money);
    if (!before || moved) {
      delete drafts[invoice.id];
      delete refused[invoice.id];
    }
    invoices[invoice.id] = invoice;
    if (typeof at === "number") heardAt[invoice.id] = at;
  }

  /** Whether the row of invoice ``id`` shows it as of a later event than number ``at``. */
  function passed(id, at) {
    return id in heardAt && at < heardAt[id];
  }

  /** An answer's invoice onto the list, unless the list already shows a newer state: one of
   * an event after the number the answer was read at (the rest paid at another desk, a part
   * given back elsewhere while the answer was on its way). So an answer never draws a row
   * back. */
  function rememberAnswer(invoice) {
    if (!invoice) return;
    var at = typeof invoice.desk_event_id === "number" ? invoice.desk_event_id : 0;
    if (!passed(invoice.id, at)) remember(invoice, at);
  }

  function draft(e) {
    var tr = e.target.closest("tr[data-invoice-id]");
    if (!tr || !e.target.name) return;
    var id = tr.getAttribute("data-invoice-id");
    drafts[id] = drafts[id] || {};
    drafts[id][e.target.name] = e.target.value;
    if (refused[id] === e.target.name) {
      // Corrected: no longer marked.
      delete refused[id];
      if (e.target.removeAttribute) e.target.removeAttribute("aria-invalid");
    }
  }
  body.addEventListener("input", draft);
  body.addEventListener("change", draft); // a choice made in a list
  body.addEventListener("change", function (e) {
    if (e.target.name !== "refund_method") return;
    var tr = e.target.closest("tr");
    var drawer = tr.querySelector("select[name=refund_shift]");
    if (!drawer) return;
    drawer.disabled = e.target.value !== "cash";
    var id = tr.getAttribute("data-invoice-id");
    if (drawer.disabled && refused[id] === "refund_shift") {
      // Not given back in cash after all: no drawer is wanting.
      delete refused[id];
      drawer.removeAttribute("aria-invalid");
    }
  });

  /** The amount typed for a refund in tiyin, or the refusal naming the field: a sum in whole
   * tiyin above zero, read as a payment's is (no more than a payment of the invoice has left
   * is the API's to say). */
  function amountToRefund(typed) {
    var amount = tiyin(typed);
    if (amount === null) return { refused: texts.refundNotTiyin };
    if (amount === 0) return { refused: texts.refundZero };
    return { amount: amount };
  }

  /** The amount typed for a payment in tiyin, or the refusal naming the field. */
  function amountToPay(invoice, typed) {
    var asked = window.ClinicMoney.toPay(tiyin, typed, invoice.amount_due);
    var refusals = {
      not_tiyin: texts.amountNotTiyin,
      zero: texts.amountZero,
      above_due: Q.fill(texts.amountAboveDue, { amount: money(invoice.amount_due) }),
    };
    return asked.refused ? { refused: refusals[asked.refused] } : asked;
  }

  function invoiceUrl(id, tail) {
    return config.api + "/" + id + "/" + tail;
  }

  function refuse(text) {
    Q.say(statusBox, "");
    Q.say(errorBox, text);
    return Promise.resolve();
  }

  // The row's field of each field a payment or a refund sends, marked when a refusal names it.
  var PAY_FIELDS = { amount: "amount", tendered: "tendered" };
  var REFUND_FIELDS = {
    amount: "refund_amount",
    reason: "refund_reason",
    method: "refund_method",
    shift_id: "refund_shift",
  };

  function pay(id, method, tr) {
    var data = { method: method };
    var asked = amountToPay(invoices[id], tr.querySelector("input[name=amount]").value);
    if (asked.refused) return refuseField(id, "amount", asked.refused);
    data.amount = asked.amount;
    if (method === "cash") {
      var typed = tr.querySelector("input[name=tendered]").value;
      if (typed) {
        data.tendered = tiyin(typed);
        if (data.tendered === null) return refuseField(id, "tendered", texts.tenderedNotSum);
      }
    }
    var request = JSON.stringify(["pay", method, data.amount]);
    return send("pay", id, "pay", data, request).then(function (answer) {
      if (!answer) return;
      if (answer.status !== 201) {
        fail(answer, texts.payFields);
        return markNamed(id, answer, PAY_FIELDS);
      }
      rememberAnswer(answer.body.invoice);
      render();
      sayTaken(invoices[id] || answer.body.invoice, answer.body.payment);
    });
  }

  /** Says a payment taken (its change, for cash), and what the invoice shown still asks. */
  function sayTaken(invoice, payment) {
    var said =
      invoice.status === "open"
        ? Q.fill(texts.partPaid, {
            amount: money(payment.amount),
            number: invoice.number,
            due: money(invoice.amount_due),
          })
        : Q.fill(texts.paid, { number: invoice.number });
    if (payment.change) said += " " + Q.fill(texts.change, { amount: money(payment.change) });
    Q.say(errorBox, "");
    Q.say(statusBox, said);
    shift.refresh();
  }

  function sayRefunded(amount) {
    Q.say(errorBox, "");
    Q.say(statusBox, Q.fill(texts.refunded, { amount: money(amount) }));
    shift.refresh();
  }

  /**
   * A payment or refund (``kind``) POSTed to the invoice's ``tail``, under its idempotency key
   * (the lost one's, when the same press is made again); resolves with the API's answer, or
   * nothing when the network lost it: then the page says the money may have moved, and the
   * invoice's events say whether it did (see ``noticed`` and ``lookUp``).
   */
  function send(kind, id, tail, data, request) {
    var kept = lostKeys[id] && lostKeys[id][request];
    var key = kept || once.key(id, request);
    data.idempotency_key = key;
    var watch = { kind: kind, data: data, landed: null, lost: false };
    sent[id] = watch;
    return Q.api("POST", invoiceUrl(id, tail), data).then(
      function (answer) {
        if (sent[id] === watch) delete sent[id];
        once.decided(id, request, answer);
        if (answer.status < 500 && lostKeys[id]) delete lostKeys[id][request];
        return answer;
      },
      function () {
        lostKeys[id] = lostKeys[id] || {};
        lostKeys[id][request] = key;
        if (watch.landed) {
          // Its money was seen moving before the network gave up on the answer.
          if (sent[id] === watch) delete sent[id];
          sayLanded(watch);
        } else {
          watch.lost = true;
          Q.say(statusBox, "");
          Q.say(errorBox, kind === "pay" ? texts.payLost : texts.refundLost);
        }
      }
    );
  }

  /** Whether ``record`` (a payment or a refund: an event's, or one of an invoice read alone)
   * is the one ``watch`` sent. The API keeps the key the page sent at the end of the record's
   * reference (``<cashier>:<key>`` of a desk payment, ``desk:<cashier>:<key>`` of a refund).
   * No figure of the invoice tells it: a refund of a part paid of an open invoice lowers what
   * is paid rather than raising what is given back, and another screen's money moves them
   * too, by the same sum at times. */
  function sentBy(watch, record) {
    var ref = record && record.provider_ref;
    var end = ":" + watch.data.idempotency_key;
    return typeof ref === "string" && ref.slice(-end.length) === end;
  }

  /** ``record``, a payment or refund of ``invoice`` heard of: when it is the one the row
   * sent, in flight or lost, that one landed, and a lost one is said so. */
  function noticed(invoice, record) {
    var watch = sent[invoice.id];
    if (!watch || watch.landed || !sentBy(watch, record)) return;
    watch.landed = { invoice: invoice, amount: record.amount, change: record.change };
    if (watch.lost) {
      delete sent[invoice.id];
      sayLanded(watch);
    }
  }

  /** The invoice ``id`` read alone, with its payments and refunds, while a request of its row
   * is in flight or lost: the desk was read anew from a snapshot (the events in between
   * missed), which says the invoice's figures, not whose money moved them. */
  function lookUp(id) {
    var watch = sent[id];
    if (!watch || watch.landed) return;
    Q.api("GET", config.api + "/" + id).then(
      function (answer) {
        if (answer.status !== 200) return;
        var records = (answer.body.payments || []).concat(answer.body.refunds || []);
        records.forEach(function (record) {
          noticed(answer.body, record);
        });
      },
      function () {} // still unknown: the row asks to be checked; the next reading tells
    );
  }

  function sayLanded(watch) {
    var landed = watch.landed;
    var invoice = invoices[landed.invoice.id] || landed.invoice;
    if (watch.kind === "pay") sayTaken(invoice, { amount: landed.amount, change: landed.change });
    else sayRefunded(landed.amount);
  }

  function refund(id, tr) {
    var asked = amountToRefund(tr.querySelector("input[name=refund_amount]").value);
    if (asked.refused) return refuseField(id, "refund_amount", asked.refused);
    var reason = tr.querySelector("input[name=refund_reason]").value;
    var data = { amount: asked.amount, reason: reason };
    var method = tr.querySelector("select[name=refund_method]").value;
    if (method) data.method = method;
    var drawer = tr.querySelector("select[name=refund_shift]");
    if (refundsOnly) {
      // Cash leaves the drawer chosen, and none other: never the caller's own shift, which an
      // administrator at this page may have open. Given back "as paid" and found to be cash,
      // it is refused naming the drawer, to be chosen with "cash".
      if (method === "cash" && !(drawer && drawer.value)) {
        return refuseField(id, "refund_shift", texts.refusals.no_open_shift);
      }
      data.from_own_shift = false;
    }
    if (drawer && method === "cash" && drawer.value) data.shift_id = Number(drawer.value);
    var request = JSON.stringify(["refund", data.amount, data.method, data.shift_id]);
    return send("refund", id, "refunds", data, request).then(function (answer) {
      if (!answer) return;
      if (answer.status !== 201) {
        if (refundsOnly) drawers.refresh(); // a drawer closed or emptied meanwhile
        fail(answer);
        return markNamed(id, answer, refundFields(tr));
      }
      rememberAnswer(answer.body.invoice);
      render();
      sayRefunded(answer.body.refund.amount);
    });
  }

  /** The row's field of each field a refund sends: a drawer that cannot be chosen (a refund
   * as paid last, which the API found was in cash) has its way of giving back chosen instead. */
  function refundFields(tr) {
    var drawer = tr.querySelector("select[name=refund_shift]");
    if (!drawer || !drawer.disabled) return REFUND_FIELDS;
    return Object.assign({}, REFUND_FIELDS, { shift_id: "refund_method" });
  }

  /** The links of one invoice, each with its QR code (kept across re-renders of the list). */
  function checkoutBox(links) {
    var box = Q.element("div", "cashier-checkout");
    box.title = texts.phoneHint;
    Object.keys(links).forEach(function (name) {
      var link = links[name];
      var provider = PROVIDERS[name] || name;
      var item = Q.element("div", "checkout__link");
      item.setAttribute("data-provider", name);
      var img = Q.element("img", "checkout__qr");
      img.src = link.qr_data_uri;
      img.alt = Q.fill(texts.qrOf, { provider: provider });
      var a = Q.element("a", "", Q.fill(texts.payWith, { provider: provider }));
      a.href = link.url;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      item.appendChild(img);
      item.appendChild(a);
      box.appendChild(item);
    });
    return box;
  }

  /** Payme and Click links for what is due, under the row's buttons. */
  function checkout(id) {
    return Q.api("GET", invoiceUrl(id, "checkout")).then(function (answer) {
      if (answer.status !== 200) return fail(answer);
      // The sum asked for is kept: while this screen's invoice says another (its change not
      // heard yet), the links are not asked for again until it changes.
      var before = checkouts[id];
      checkouts[id] = {
        amount: answer.body.amount,
        links: answer.body.links,
        renewing: before && before.renewing,
      };
      render();
      Q.say(errorBox, "");
    });
  }

  /** Cancel the unconfirmed online payment holding the invoice, once the cashier agrees. */
  function release(id) {
    var invoice = invoices[id];
    var provider = PROVIDERS[onlineHold(invoice)];
    var asked = Q.fill(texts.confirmRelease, {
      provider: provider,
      number: invoice.number,
      time: invoice.held_at ? since(invoice.held_at) : "",
    });
    if (!window.confirm(asked)) return Promise.resolve();
    var data = { held_by: invoice.held_by };
    return Q.api("POST", invoiceUrl(id, "release"), data).then(function (answer) {
      if (answer.status !== 200) return fail(answer);
      var shown = invoices[id];
      // Held again meanwhile (the patient started anew): that newer hold stays on the row.
      var heldAnew = shown && shown.held && shown.held_by !== data.held_by;
      if (!heldAnew) rememberAnswer(answer.body.invoice);
      render();
      Q.say(errorBox, "");
      Q.say(statusBox, Q.fill(texts.released, { provider: provider, number: invoice.number }));
    });
  }

  /** Cancel an open invoice nothing was paid of, once the cashier agrees: a mistaken press
   * would take the patient's bill away. The row then follows the invoice's event (here, and
   * at every other screen). */
  function cancel(id) {
    var invoice = invoices[id];
    var asked = Q.fill(texts.confirmCancel, {
      number: invoice.number,
      amount: money(invoice.total),
      services: servicesOf(invoice),
    });
    if (!window.confirm(asked)) return Promise.resolve();
    return Q.api("POST", invoiceUrl(id, "cancel"), {}).then(function (answer) {
      if (answer.status !== 200) return fail(answer, null, texts.cancelRefusals);
      rememberAnswer(answer.body);
      render();
      Q.say(errorBox, "");
      Q.say(statusBox, Q.fill(texts.cancelled, { number: invoice.number }));
    });
  }

  function reprint(id) {
    return Q.api("POST", invoiceUrl(id, "reprint"), {}).then(function (answer) {
      if (answer.status !== 202) return fail(answer);
      Q.say(errorBox, "");
      Q.say(statusBox, Q.fill(texts.reprinted, { number: answer.body.number }));
    });
  }

  body.addEventListener("click", function (e) {
    var target = e.target.closest("button[data-action]");
    if (!target) return;
    var tr = target.closest("tr");
    var id = Number(tr.getAttribute("data-invoice-id"));
    var action = target.getAttribute("data-action");
    // One request of a row at a time: a press while one is on its way does nothing, even on
    // the row drawn anew by the invoice's own event before the answer came.
    if (busy[id]) return;
    setBusy(id, true);
    var done =
      action === "cash" || action === "card"
        ? pay(id, action, tr)
        : action === "refund"
        ? refund(id, tr)
        : action === "checkout"
        ? checkout(id)
        : action === "release"
        ? release(id)
        : action === "cancel"
        ? cancel(id)
        : reprint(id);
    done
      .catch(function () {
        Q.say(errorBox, texts.network);
      })
      .then(function () {
        setBusy(id, false);
      });
  });

  // -- an invoice of an earlier day, by its number ----------------------------------------

  var foundNumbers = {}; // invoice id -> the number it was found by: read again on a reconnect

  /** The invoice numbered ``number`` onto the list (until the page is loaded again, kept up
   * to date by its events); answers it, or nothing when there is none or it was refused. */
  function find(number) {
    var url = config.api + "?number=" + encodeURIComponent(number);
    return Q.api("GET", url).then(function (answer) {
      if (answer.status !== 200) return fail(answer);
      var found = answer.body[0];
      if (!found) return refuse(Q.fill(texts.notFound, { number: number }));
      foundNumbers[found.id] = number;
      rememberAnswer(found);
      render();
      return found;
    });
  }

  findForm.addEventListener("submit", function (e) {
    e.preventDefault();
    var number = findForm.elements.number.value.trim();
    if (!number) return;
    find(number).then(function (found) {
      if (!found) return;
      Q.say(errorBox, "");
      Q.say(statusBox, Q.fill(texts.found, { number: found.number }));
      findForm.reset();
    }, function () {
      Q.say(errorBox, texts.network);
    });
  });

  // -- the shift (cashier-shift.js), or the drawers to refund from (cashier-drawers.js) --

  var drawers = refundsOnly
    ? window.ClinicDrawers({ config: config, money: money, onChange: render })
    : null;
  var shift = refundsOnly
    ? {
        refresh: drawers.refresh,
        id: function () {
          return null; // no drawer of his own
        },
      }
    : window.ClinicShift({
        config: config,
        money: money,
        tiyin: tiyin,
        since: since,
        fail: fail,
        errorBox: errorBox,
        statusBox: statusBox,
      });

  window.ClinicSocket.subscribe(config.channel, {
    // Read anew (the socket back after a break): what was typed in a row whose invoice did not
    // change stays, and the invoices found by number are read again.
    onSnapshot: function (data, message) {
      var at = message && typeof message.last_id === "number" ? message.last_id : 0;
      var listed = ((data && data.invoices) || []).filter(function (invoice) {
        return typeof invoice.id === "number";
      });
      listed.forEach(function (invoice) {
        remember(invoice, at);
      });
      invoices = {};
      heardAt = {};
      listed.forEach(function (invoice) {
        invoices[invoice.id] = invoice;
        heardAt[invoice.id] = at;
      });
      render();
      Object.keys(sent).forEach(lookUp);
      Object.keys(foundNumbers).forEach(function (id) {
        if (!invoices[id]) find(foundNumbers[id]).catch(function () {});
      });
    },
    onEvent: function (event) {
      var invoice = event.data && event.data.invoice;
      if (invoice) {
        // Drawn already from an answer read after this event (the socket behind the API):
        // its older state is not drawn again.
        var drawn = typeof event.id === "number" && invoice.id in heardAt;
        if (!(drawn && event.id <= heardAt[invoice.id])) {
          remember(invoice, event.id);
          render();
        }
      }
      // Cash into or out of this drawer at another screen (a manager's refund at this desk,
      // a payment in another window): the drawer's figure follows.
      var moved = event.data && (event.data.refund || event.data.payment);
      if (invoice && moved) noticed(invoice, moved);
      if (moved && shift.id() !== null && moved.shift_id === shift.id()) shift.refresh();
      // Refunds-only: any drawer's cash moved; its figure in the list of drawers follows.
      if (moved && refundsOnly && moved.shift_id) drawers.refresh();
      // A shift opened or closed at another screen: the socket hears only the cashier's own
      // (and every one for a reader of reports); the API answers with this cashier's.
      if (event.type === "shift.opened" || event.type === "shift.closed") shift.refresh();
    },
    onError: function () {
      Q.say(errorBox, texts.forbidden);
    },
  });
})();
