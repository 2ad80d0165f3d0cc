/*
 * The printers page: the registry live from the printers:all channel (state, failing since,
 * last error), a form that adds a printer, and a test-print and a remove button per printer.
 */
(function () {
  "use strict";

  var Q = window.ClinicQueue;
  var config = Q.config("printers-config");
  var texts = config.texts;
  var body = document.querySelector("#printers-table tbody");
  var notice = document.getElementById("printers-notice");
  var errorBox = document.getElementById("printers-error");
  var printers = {};

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

  function button(label, onClick) {
    var b = Q.element("button", "button", label);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  function answer(result, done) {
    if (result.status >= 400) {
      Q.say(errorBox, Q.problem(texts, result));
    } else {
      Q.say(errorBox, "");
      if (done) done(result.body);
    }
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
    actions.appendChild(
      button(texts.test, function () {
        Q.api("POST", Q.fill(config.testUrl, { id: p.id })).then(function (r) {
          answer(r, function () {
            Q.say(notice, Q.fill(texts.testSent, { name: p.name }));
          });
        });
      })
    );
    actions.appendChild(
      button(texts.remove, function () {
        Q.api("DELETE", Q.fill(config.printerUrl, { id: p.id })).then(function (r) {
          answer(r);
        });
      })
    );
    tr.appendChild(actions);
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

  document.getElementById("printer-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var f = e.target.elements;
    var targets = f.targets.value
      .split(",")
      .map(function (t) {
        return t.trim();
      })
      .filter(Boolean);
    Q.api("POST", config.listUrl, {
      name: f.name.value,
      kind: f.kind.value,
      host: f.host.value,
      port: Number(f.port.value),
      code_page: f.code_page.value,
      paper_mm: Number(f.paper_mm.value),
      languages: f.languages.value,
      targets: targets,
    }).then(function (r) {
      answer(r, function () {
        e.target.reset();
      });
    });
  });
})();
