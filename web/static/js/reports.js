/*
 * The report page: posts the form to the API (202 + job), follows the job's channel for
 * progress, then shows the figures, the chart (a PNG drawn by the worker) and the downloads.
 */
(function (global) {
  "use strict";

  var document = global.document;
  var config = JSON.parse(document.getElementById("reports-config").textContent);
  var texts = config.texts;
  var form = document.getElementById("report-form");
  var kind = document.getElementById("report-kind");
  var by = document.getElementById("report-by");
  var state = document.getElementById("report-state");
  var errorBox = document.getElementById("report-error");
  var following = null;

  function fill(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  function option(select, value, label) {
    var node = document.createElement("option");
    node.value = value;
    node.textContent = label;
    select.appendChild(node);
  }

  Object.keys(config.groupings).forEach(function (report) {
    option(kind, report, texts.reports[report] || report);
  });

  function fillGroupings() {
    by.textContent = "";
    (config.groupings[kind.value] || []).forEach(function (value) {
      option(by, value, texts.groupings[value] || value);
    });
  }
  kind.addEventListener("change", fillGroupings);
  fillGroupings();

  var today = new Date();
  var first = new Date(today.getFullYear(), today.getMonth(), 1);
  function iso(d) {
    var m = String(d.getMonth() + 1).padStart(2, "0");
    return d.getFullYear() + "-" + m + "-" + String(d.getDate()).padStart(2, "0");
  }
  form.elements.start.value = iso(first);
  form.elements.end.value = iso(today);

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = !message;
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function cell(tag, text, numeric) {
    var node = document.createElement(tag);
    node.textContent = text === null || text === undefined ? "" : String(text);
    if (numeric) node.className = "num";
    return node;
  }

  function showResult(job) {
    var result = job.result || {};
    var section = document.getElementById("report-result");
    section.hidden = false;
    document.getElementById("report-result-title").textContent =
      (texts.reports[result.report.report] || "") + " " + result.report.start + " — " + result.report.end;
    var links = document.getElementById("report-downloads");
    links.textContent = "";
    Object.keys(result.files || {}).forEach(function (format) {
      var a = document.createElement("a");
      a.href = "/api/v1/reports/" + job.id + "/files/" + format;
      a.textContent = texts.download + " " + format.toUpperCase();
      a.setAttribute("download", result.files[format]);
      links.appendChild(a);
    });
    var chart = document.getElementById("report-chart");
    if (result.chart) {
      chart.src = "/api/v1/reports/" + job.id + "/files/" + result.chart;
      chart.hidden = false;
    } else {
      chart.hidden = true;
    }
    var head = document.getElementById("report-head");
    var body = document.getElementById("report-body");
    var foot = document.getElementById("report-foot");
    [head, body, foot].forEach(function (n) { n.textContent = ""; });
    var row = document.createElement("tr");
    result.headings.forEach(function (h, i) { row.appendChild(cell("th", h, i > 0)); });
    head.appendChild(row);
    result.preview.forEach(function (values) {
      var tr = document.createElement("tr");
      values.forEach(function (v, i) { tr.appendChild(cell("td", v, i > 0)); });
      body.appendChild(tr);
    });
    var total = document.createElement("tr");
    result.totals.forEach(function (v, i) { total.appendChild(cell("td", v, i > 0)); });
    foot.appendChild(total);
    state.textContent = fill(texts.done, { rows: result.rows });
  }

  function onJob(job) {
    if (!following || job.id !== following.id) return;
    if (job.status === "succeeded") {
      following.sub.unsubscribe();
      following = null;
      global.fetch("/api/v1/reports/" + job.id, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(showResult);
    } else if (job.status === "failed") {
      following.sub.unsubscribe();
      following = null;
      state.textContent = "";
      showError(fill(texts.failed, { error: (job.error && job.error.detail) || "" }));
    } else if (job.status === "running") {
      state.textContent = fill(texts.running, { done: job.done || 0 });
    } else {
      state.textContent = texts.queued;
    }
  }

  function follow(job) {
    var channel = job.channel || "job:" + job.id;
    following = { id: job.id, sub: null };
    following.sub = global.ClinicSocket.subscribe(channel, {
      onSnapshot: function (data) { if (data) onJob(data); },
      onEvent: function (event) {
        if (event.type === "job.progress") {
          state.textContent = fill(texts.running, { done: event.data.done || 0 });
        } else {
          onJob(event.data);
        }
      },
    });
    onJob(job);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    showError("");
    var body = { report: kind.value, by: by.value, language: config.language,
                 start: form.elements.start.value, end: form.elements.end.value };
    ["department_id", "doctor_id"].forEach(function (name) {
      if (form.elements[name] && form.elements[name].value) {
        body[name] = parseInt(form.elements[name].value, 10);
      }
    });
    global.fetch("/api/v1/reports", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json",
                 "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (data) {
        if (response.status === 202) {
          follow(data);
        } else if (response.status === 403) {
          showError(texts.forbidden);
        } else {
          var details = Object.keys(data.errors || {}).map(function (k) {
            return k + ": " + [].concat(data.errors[k]).join(" ");
          });
          showError(fill(texts.invalid, { detail: details.join("; ") || data.detail || "" }));
        }
      });
    }, function () { showError(texts.network); });
  });
})(window);
