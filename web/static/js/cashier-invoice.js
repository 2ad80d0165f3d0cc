/*
 * The cashier's new invoice: she finds the patient by name or phone, may attach one of his
 * tickets of today (a "pay before the doctor" ticket is called once its invoice is paid),
 * adds services from the price list by code or title, and creates it through the invoices
 * API. The new invoice reaches the desk's list on the payments:desk channel (cashier.js),
 * ready to take payment. A refusal is said in the page's language next to what it names.
 */
(function () {
  "use strict";

  var Q = window.ClinicQueue;
  var config = Q.config("cashier-config");
  var texts = config.texts.newInvoice;
  var money = window.ClinicMoney(config.money);
  var once = window.ClinicOnce();
  var statusBox = document.getElementById("cashier-status");
  var errorBox = document.getElementById("cashier-error");

  var patientForm = document.getElementById("new-invoice-patient");
  var patientList = document.getElementById("new-invoice-patients");
  var chosenBox = document.getElementById("new-invoice-chosen");
  var chosenName = document.getElementById("new-invoice-chosen-name");
  var ticketField = document.getElementById("new-invoice-ticket-field");
  var ticketSelect = document.getElementById("new-invoice-ticket");
  var serviceForm = document.getElementById("new-invoice-service");
  var serviceList = document.getElementById("new-invoice-services");
  var linesTable = document.getElementById("new-invoice-lines-table");
  var linesBody = document.getElementById("new-invoice-lines");
  var totalBox = document.getElementById("new-invoice-total");
  var createForm = document.getElementById("new-invoice");
  var card = document.getElementById("new-invoice-card");
  // Where a refusal is said: next to the part of the form it names.
  var errors = {
    patient_id: document.getElementById("new-invoice-patient-error"),
    ticket_id: document.getElementById("new-invoice-ticket-error"),
    lines: document.getElementById("new-invoice-lines-error"),
    form: document.getElementById("new-invoice-error"),
  };

  var patient = null; // {id, full_name}
  var lines = []; // {service: {id, code, title, price}, quantity: typed text, error: text}
  var LINE_FIELD = /^lines\.(\d+)\.(service_id|quantity)$/;
  var MAX_QUANTITY = 1000; // MAX_QUANTITY in clinic/payments/amounts.py

  function title(service) {
    return service["name_" + config.language] || service.name_ru;
  }

  function clearRefusals() {
    Object.keys(errors).forEach(function (name) {
      Q.say(errors[name], "");
    });
    lines.forEach(function (line) {
      line.error = "";
    });
  }

  /** A whole number of 1..1000 typed as a line's quantity, or null. */
  function quantityOf(line) {
    var typed = String(line.quantity).trim();
    var number = /^\d{1,4}$/.test(typed) ? parseInt(typed, 10) : 0;
    return number >= 1 && number <= MAX_QUANTITY ? number : null;
  }

  function total() {
    return lines.reduce(function (sum, line) {
      return sum + line.service.price * (quantityOf(line) || 0);
    }, 0);
  }

  function showTotal() {
    Q.say(totalBox, lines.length ? Q.fill(texts.total, { amount: money(total()) }) : "");
  }

  function lineRow(line, index) {
    var tr = Q.element("tr");
    tr.setAttribute("data-service-id", line.service.id);
    tr.appendChild(Q.element("td", "", line.service.code + " · " + line.service.title));
    var cell = Q.element("td");
    var quantity = Q.element("input", "cashier-new__quantity");
    quantity.type = "number";
    quantity.min = "1";
    quantity.max = String(MAX_QUANTITY);
    quantity.name = "quantity";
    quantity.value = String(line.quantity);
    quantity.setAttribute("aria-label", texts.quantity);
    quantity.addEventListener("input", function () {
      line.quantity = quantity.value;
      amount.textContent = money(line.service.price * (quantityOf(line) || 0));
      showTotal();
    });
    cell.appendChild(quantity);
    tr.appendChild(cell);
    var amount = Q.element("td", "", money(line.service.price * (quantityOf(line) || 0)));
    tr.appendChild(amount);
    var actions = Q.element("td");
    var remove = Q.element("button", "linkbutton", texts.remove);
    remove.type = "button";
    remove.setAttribute("data-action", "remove-line");
    remove.addEventListener("click", function () {
      lines.splice(index, 1);
      renderLines();
    });
    actions.appendChild(remove);
    if (line.error) actions.appendChild(Q.element("span", "field__error", line.error));
    tr.appendChild(actions);
    return tr;
  }

  function renderLines() {
    linesBody.textContent = "";
    lines.forEach(function (line, index) {
      linesBody.appendChild(lineRow(line, index));
    });
    linesTable.hidden = !lines.length;
    showTotal();
  }

  function addLine(service) {
    var same = lines.filter(function (line) {
      return line.service.id === service.id;
    })[0];
    if (same) {
      // The same service again: one more of it, not a second line.
      same.quantity = String((quantityOf(same) || 0) + 1);
    } else {
      lines.push({
        service: { id: service.id, code: service.code, title: title(service), price: service.price },
        quantity: "1",
        error: "",
      });
    }
    Q.say(errors.lines, "");
    renderLines();
  }

  /** Search results with a button each; ``none``: said when nothing was found. */
  function showFound(list, items, describe, label, pick, none) {
    list.textContent = "";
    if (!items.length) {
      list.appendChild(Q.element("li", "muted", none));
      return;
    }
    items.forEach(function (item) {
      var li = Q.element("li", "patient-result");
      li.setAttribute("data-id", item.id);
      li.appendChild(Q.element("span", "", describe(item)));
      var choose = Q.element("button", "button", label);
      choose.type = "button";
      choose.setAttribute("data-action", "choose");
      choose.addEventListener("click", function () {
        pick(item);
      });
      li.appendChild(choose);
      list.appendChild(li);
    });
  }

  /**
   * A search form of the price list or the patients (``api``): what it finds is listed in
   * ``list``, each with a button ``label`` that hands it to ``pick``; a refusal is said at
   * ``box``.
   */
  function finder(form, api, box, list, describe, label, pick, none) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var typed = form.elements.q.value.trim();
      if (!typed) return;
      var url = api + "?page_size=8&active=true&q=" + encodeURIComponent(typed);
      // Searched again before the answer came: the last search's answer is listed, whichever
      // comes first.
      var asked = String(Number(list.getAttribute("data-searches") || 0) + 1);
      list.setAttribute("data-searches", asked);
      Q.api("GET", url).then(
        function (answer) {
          if (list.getAttribute("data-searches") !== asked) return;
          if (answer.status !== 200) return Q.say(box, Q.problem(config.texts, answer));
          Q.say(box, "");
          showFound(list, answer.body.items || [], describe, label, pick, none);
        },
        function () {
          if (list.getAttribute("data-searches") === asked) Q.say(box, config.texts.network);
        }
      );
    });
  }

  // -- the patient and his ticket ----------------------------------------------------------

  function showTickets(tickets) {
    ticketSelect.textContent = "";
    var none = Q.element("option", "", texts.noTicket);
    none.value = "";
    ticketSelect.appendChild(none);
    tickets.forEach(function (ticket) {
      var said = ticket.code + " · " + ticket.queue_name;
      var option = Q.element("option", "", ticket.paid_at ? said + " · " + texts.paid : said);
      option.value = String(ticket.id);
      ticketSelect.appendChild(option);
    });
    // His one ticket waiting to be paid is the one he came to pay for.
    var unpaid = tickets.filter(function (ticket) {
      return !ticket.paid_at && ticket.status !== "served";
    });
    ticketSelect.value = unpaid.length === 1 ? String(unpaid[0].id) : "";
    ticketField.hidden = !tickets.length;
  }

  function choose(found) {
    patient = found ? { id: found.id, full_name: found.full_name } : null;
    chosenBox.hidden = !patient;
    chosenName.textContent = patient ? patient.full_name : "";
    patientForm.hidden = !!patient;
    patientList.textContent = "";
    // The button pressed goes away: the keyboard goes on at her next step.
    (patient ? serviceForm : patientForm).elements.q.focus();
    Q.say(errors.patient_id, "");
    Q.say(errors.ticket_id, "");
    showTickets([]);
    if (!patient) return Promise.resolve();
    var chosen = patient.id;
    var url = Q.fill(config.patientTicketsApi, { id: chosen });
    return Q.api("GET", url).then(
      function (answer) {
        // Another patient chosen meanwhile: his tickets are asked for on their own.
        if (!patient || patient.id !== chosen) return;
        if (answer.status !== 200) return Q.say(errors.ticket_id, Q.problem(config.texts, answer));
        showTickets(answer.body || []);
      },
      function () {
        Q.say(errors.ticket_id, config.texts.network);
      }
    );
  }

  function describePatient(found) {
    return found.full_name + (found.phone ? " · " + found.phone : "");
  }

  finder(patientForm, config.patientsApi, errors.patient_id, patientList, describePatient,
    texts.choose, choose, texts.noPatients);

  document.getElementById("new-invoice-unchoose").addEventListener("click", function () {
    choose(null);
  });

  // -- the services --------------------------------------------------------------------------

  function describeService(service) {
    return service.code + " · " + title(service) + " · " + money(service.price);
  }

  finder(serviceForm, config.servicesApi, errors.lines, serviceList, describeService,
    texts.add, addLine, texts.noServices);

  // -- creating it ---------------------------------------------------------------------------

  /** Say a refusal of the invoices API next to the part of the form it names. */
  function refuse(answer) {
    var body = answer.body || {};
    // A refusal without a code names its field ("lines.1.service_id"): the first one the
    // form words; one with a code is worded by it, as the desk's payments are.
    var field = Object.keys((!body.code && body.errors) || {}).filter(function (name) {
      var line = LINE_FIELD.exec(name);
      return line ? !!lines[Number(line[1])] : !!texts.fields[name];
    })[0];
    var line = field && LINE_FIELD.exec(field);
    if (line) {
      lines[Number(line[1])].error = texts.fields["lines." + line[2]];
      renderLines();
    } else if (field) {
      Q.say(errors[field] || errors.form, texts.fields[field]);
    } else {
      Q.say(errors.form, Q.problem(config.texts, answer));
    }
  }

  /** What is wrong before asking the server: said where it is, and true. */
  function incomplete() {
    if (!patient) Q.say(errors.patient_id, texts.choosePatient);
    if (!lines.length) Q.say(errors.lines, texts.addService);
    var badQuantity = false;
    lines.forEach(function (line) {
      if (quantityOf(line) === null) {
        line.error = texts.fields["lines.quantity"];
        badQuantity = true;
      }
    });
    if (badQuantity) renderLines();
    return !patient || !lines.length || badQuantity;
  }

  function clear() {
    lines = [];
    renderLines();
    serviceList.textContent = "";
    serviceForm.reset();
    patientForm.reset();
    choose(null);
  }

  createForm.addEventListener("submit", function (e) {
    e.preventDefault();
    var button = createForm.querySelector("button[type=submit]");
    // One invoice a press: a second press while the first is on its way would bill twice.
    if (button.disabled) return;
    clearRefusals();
    renderLines();
    if (incomplete()) return;
    var body = {
      patient_id: patient.id,
      lines: lines.map(function (line) {
        return { service_id: line.service.id, quantity: quantityOf(line) };
      }),
    };
    if (ticketSelect.value) body.ticket_id = Number(ticketSelect.value);
    // The same invoice asked again after its answer was lost (the network, a gateway's 5xx)
    // carries the same key: the API answers with the invoice it made, not a second one.
    var request = JSON.stringify(body);
    body.idempotency_key = once.key("new-invoice", request);
    button.disabled = true;
    Q.api("POST", config.api, body)
      .then(
        function (answer) {
          once.decided("new-invoice", request, answer);
          if (answer.status !== 201) return refuse(answer);
          Q.say(errorBox, "");
          Q.say(
            statusBox,
            Q.fill(texts.created, { number: answer.body.number, amount: money(answer.body.total) })
          );
          clear();
          // Folded again: the day's list, the new invoice on top, is in sight to take payment.
          card.open = false;
        },
        function () {
          Q.say(errors.form, config.texts.network);
        }
      )
      .then(function () {
        button.disabled = false;
      });
  });

  renderLines();
  showTickets([]);
})();
