/*
 * The printers page: the registry live from the printers:all channel (state, failing since,
 * last error), a form that adds a printer or saves the one its Edit button filled it with, and
 * a test-print and a remove button per printer.
 */
(function () {
  "use strict";

  var Q = window.ClinicQueue;
  var config = Q.config("printers-config");
  var texts = config.texts;
  var body = document.querySelector("#printers-table tbody");
  var notice = document.getElementById("printers-notice");
  var errorBox = document.getElementById("printers-error");
  var form = document.getElementById("printer-form");
  var submit = form.querySelector("button[type=submit]");
  var cancel = form.querySelector("[data-cancel]");
  var heading = document.getElementById("new-printer-heading");
  var printers = {};
  // Printers whose Test or Remove call is on its way, by id: render() redraws every row on
  // each channel event, and their buttons stay disabled until the answer comes (a double
  // click would print two test pages).
  var busy = {};
  // The printer the form edits (its id and the values it was filled with), or null: the form
  // adds a printer.
  var editing = null;
  var formBusy = false;

  // A time in the clinic's zone and the page's language, as the desks write their times.
  function when(iso) {
    try {
      return new Date(iso).toLocaleString(document.documentElement.lang, {
        timeZone: config.timezone,
      });
    } catch (e) {
      return iso;
    }
  }

  // Switched off, it prints nothing whatever its last state: its desks print PDFs.
  function stateText(p) {
    if (p.kind === "pdf") return texts.pdfOnly;
    if (!p.active) return texts.switchedOff;
    if (p.state === "ready") return texts.ready;
    return Q.fill(texts.failingSince, {
      time: when(p.failing_since),
      error:
        (texts.failures || {})[p.failure] ||
        (p.last_error === config.outOfPaper ? texts.out_of_paper : p.last_error),
    });
  }

  function button(label, action, onClick) {
    var b = Q.element("button", "button", label);
    b.type = "button";
    b.setAttribute("data-action", action);
    b.addEventListener("click", onClick);
    return b;
  }

  function answer(result, done) {
    if (result.status >= 400) {
      failed(Q.problem(texts, result));
    } else {
      Q.say(errorBox, "");
      if (done) done(result.body);
    }
  }

  // Said in the error box, instead of an earlier success in the notice.
  function failed(text) {
    Q.say(notice, "");
    Q.say(errorBox, text);
  }

  function unreachable() {
    failed(texts.network);
  }

  function rowOf(id) {
    return body.querySelector('tr[data-printer-id="' + id + '"]');
  }

  // A row's buttons as the calls on their way allow: Test and Remove wait for the printer's
  // call; Edit waits for the form's, whose answer empties the form.
  function enable(tr, id) {
    Array.prototype.forEach.call(tr.querySelectorAll("button[data-action]"), function (b) {
      b.disabled = b.getAttribute("data-action") === "edit" ? formBusy : Boolean(busy[id]);
    });
    tr.setAttribute("aria-busy", busy[id] ? "true" : "false");
  }

  function setBusy(id, on) {
    if (on) busy[id] = true;
    else delete busy[id];
    var tr = rowOf(id);
    if (tr) enable(tr, id);
  }

  // A button disabled while it had the focus has dropped it to the page: given back, a
  // keyboard user goes on from where he was.
  function refocus(target) {
    var lost = !document.activeElement || document.activeElement === document.body;
    if (lost && target && !target.disabled) target.focus();
  }

  // The printer's call (Test, Remove): its buttons disabled until it is answered, whatever
  // the answer, or none came.
  function call(p, action, method, url, done) {
    if (busy[p.id]) return;
    setBusy(p.id, true);
    Q.api(method, url)
      .then(done, unreachable)
      .then(function () {
        setBusy(p.id, false);
        var tr = rowOf(p.id);
        refocus(tr && tr.querySelector('button[data-action="' + action + '"]'));
      });
  }

  // Switched off or "PDF only", a printer prints nothing: the server refuses its test page.
  function testable(p) {
    return p.kind === "network" && p.active;
  }

  function row(p) {
    var tr = Q.element("tr", "printer printer--" + p.state);
    tr.setAttribute("data-printer-id", p.id);
    tr.setAttribute("data-state", p.state);
    [p.name, p.kind === "pdf" ? "-" : p.host + ":" + p.port, p.paper_mm + " " + texts.mm, p.targets.join(", ")].forEach(
      function (text) {
        tr.appendChild(Q.element("td", "", text));
      }
    );
    var state = Q.element("td", "printer__state", stateText(p));
    if (p.active && p.state !== "ready" && p.last_error) state.title = p.last_error;
    tr.appendChild(state);
    var actions = Q.element("td", "printer__actions");
    if (testable(p)) {
      actions.appendChild(
        button(texts.test, "test", function () {
          call(p, "test", "POST", Q.fill(config.testUrl, { id: p.id }), function (r) {
            answer(r, function () {
              Q.say(notice, Q.fill(texts.testSent, { name: p.name }));
            });
          });
        })
      );
    }
    actions.appendChild(
      button(texts.edit, "edit", function () {
        edit(printers[p.id] || p);
      })
    );
    actions.appendChild(
      button(texts.remove, "remove", function () {
        // Asked first: a slip of the mouse would send the desks' tickets to their browsers.
        if (!window.confirm(Q.fill(texts.removeAsked, { name: p.name }))) return;
        call(p, "remove", "DELETE", Q.fill(config.printerUrl, { id: p.id }), function (r) {
          // Removed already (a second click, or another administrator): what was asked is
          // done; the channel takes the row away, if it has not yet.
          if (r.status === 404) {
            Q.say(errorBox, "");
            delete printers[p.id];
            render();
          } else {
            answer(r);
          }
        });
      })
    );
    tr.appendChild(actions);
    enable(tr, p.id);
    return tr;
  }

  function render() {
    body.textContent = "";
    Object.keys(printers)
      .map(function (id) {
        return printers[id];
      })
      .sort(function (a, b) {
        return a.name.localeCompare(b.name);
      })
      .forEach(function (p) {
        body.appendChild(row(p));
      });
  }

  window.ClinicSocket.subscribe("printers:all", {
    onSnapshot: function (data) {
      printers = {};
      (data && data.printers ? data.printers : []).forEach(function (p) {
        printers[p.id] = p;
      });
      render();
    },
    onEvent: function (event) {
      var p = event.data.printer;
      if (p.removed) delete printers[p.id];
      else printers[p.id] = p;
      render();
    },
  });

  // What the form says now, as the API takes it.
  function typed() {
    var f = form.elements;
    return {
      name: f.name.value,
      kind: f.kind.value,
      host: f.host.value,
      port: Number(f.port.value),
      code_page: f.code_page.value,
      paper_mm: Number(f.paper_mm.value),
      languages: f.languages.value,
      active: f.active.checked,
      targets: f.targets.value
        .split(",")
        .map(function (t) {
          return t.trim();
        })
        .filter(Boolean),
    };
  }

  // The form filled with the printer's settings, to save them.
  function edit(p) {
    if (formBusy) return;
    var f = form.elements;
    f.name.value = p.name;
    f.kind.value = p.kind;
    f.host.value = p.host;
    f.port.value = p.port;
    f.code_page.value = p.code_page;
    f.paper_mm.value = String(p.paper_mm);
    f.languages.value = p.languages;
    f.active.checked = p.active;
    f.targets.value = p.targets.join(", ");
    editing = { id: p.id, values: typed() };
    heading.textContent = Q.fill(texts.editPrinter, { name: p.name });
    submit.textContent = texts.save;
    cancel.hidden = false;
    Q.say(errorBox, "");
    f.name.focus();
  }

  // The form adds a printer again, empty.
  function stopEditing() {
    editing = null;
    form.reset();
    heading.textContent = texts.newPrinter;
    submit.textContent = texts.add;
    cancel.hidden = true;
  }

  // Only what was changed in the form is sent: a target another administrator has given to
  // another printer meanwhile stays there unless it was typed here.
  function changes(values) {
    var changed = {};
    Object.keys(values).forEach(function (field) {
      if (JSON.stringify(values[field]) !== JSON.stringify(editing.values[field])) {
        changed[field] = values[field];
      }
    });
    return changed;
  }

  function setFormBusy(on) {
    formBusy = on;
    submit.disabled = on;
    cancel.disabled = on;
    form.setAttribute("aria-busy", on ? "true" : "false");
    Array.prototype.forEach.call(body.querySelectorAll("tr[data-printer-id]"), function (tr) {
      enable(tr, tr.getAttribute("data-printer-id"));
    });
  }

  cancel.addEventListener("click", function () {
    stopEditing();
    Q.say(errorBox, "");
  });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (formBusy) return;
    var saving = editing;
    var values = typed();
    var sent = saving
      ? Q.api("PATCH", Q.fill(config.printerUrl, { id: saving.id }), changes(values))
      : Q.api("POST", config.listUrl, values);
    setFormBusy(true);
    sent
      .then(function (r) {
        answer(r, function () {
          stopEditing();
          if (saving) Q.say(notice, texts.saved);
        });
      }, unreachable)
      .then(function () {
        setFormBusy(false);
        refocus(submit);
      });
  });
})();
