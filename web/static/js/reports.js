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

  // The period runs from the first of the clinic's month to the clinic's today (its time
  // zone, as the server counts it), whatever zone this browser's clock keeps.
  var today = config.today;
  form.elements.start.value = today.slice(0, 8) + "01";
  form.elements.end.value = today;

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
    // In a fixed order: the stored result's keys come back in the database's order.
    var files = result.files || {};
    ["csv", "xlsx", "pdf"].filter(function (format) { return format in files; }).forEach(function (format) {
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

  function formParams() {
    var body = { report: kind.value, by: by.value, language: config.language };
    ["department_id", "doctor_id"].forEach(function (name) {
      if (form.elements[name] && form.elements[name].value) {
        body[name] = parseInt(form.elements[name].value, 10);
      }
    });
    return body;
  }

  function send(method, url, body) {
    var options = {
      method: method,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    };
    if (body) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return global.fetch(url, options).then(function (response) {
      return response.json().then(function (data) {
        return { status: response.status, body: data };
      });
    });
  }

  // The API words its refusals in English for scripts; the page says them in its language
  // by their stable codes, never by the English words (which may be reworded): the
  // refusal's own code, else each refused field's reasons (the problem's "reasons", beside
  // its "errors"), else, for a field refused without codes, the field it names.
  function refusal(answer) {
    if (answer.status === 401) return texts.signedOut;
    var data = answer.body || {};
    var words = texts.reasons || {};
    if (data.code && words[data.code]) return words[data.code];
    if (answer.status === 403) return texts.forbidden;
    var reasons = data.reasons || {};
    var said = [];
    Object.keys(data.errors || {}).forEach(function (field) {
      var codes = [].concat(reasons[field] || []);
      var known = codes.length > 0 && codes.every(function (code) { return words[code]; });
      var texted = known
        ? codes.map(function (code) { return words[code]; })
        : [texts.fields[field] || [].concat(data.errors[field]).join(" ")];
      texted.forEach(function (text) {
        // Two fields refused for one reason ("start", "end") say it once.
        if (said.indexOf(text) < 0) said.push(text);
      });
    });
    return fill(texts.invalid, { detail: said.join(" ") || data.detail || "" });
  }

  var subscribeForm = document.getElementById("subscribe-form");
  var subscriptionList = document.getElementById("subscriptions");

  // A subscription's filters as the form names them (the department's, the doctor's name
  // from its list): the same report of two departments is two lines told apart.
  function filterNames(params) {
    var names = [];
    ["department_id", "doctor_id"].forEach(function (name) {
      var value = params[name];
      var select = form.elements[name];
      if (value === null || value === undefined) return;
      var found = select
        ? Array.prototype.filter.call(select.options, function (o) {
          return o.value === String(value);
        })[0]
        : null;
      names.push(found ? found.textContent : "#" + value);
    });
    return names;
  }

  function showSubscriptions() {
    send("GET", "/api/v1/reports/subscriptions").then(function (answer) {
      if (answer.status !== 200) return;
      subscriptionList.textContent = "";
      answer.body.filter(function (sub) { return sub.active; }).forEach(function (sub) {
        var item = document.createElement("li");
        var filters = filterNames(sub.params);
        item.textContent = (texts.reports[sub.params.report] || sub.params.report) + " " +
          (texts.groupings[sub.params.by] || sub.params.by) + " — " +
          (filters.length ? filters.join(", ") + " — " : "") +
          (texts.frequencies[sub.frequency] || sub.frequency) + " — " +
          // The language it is mailed in: one report to one address is one subscription.
          ((config.languageNames || {})[sub.language] || sub.language) + " — " + sub.email + " ";
        var button = document.createElement("button");
        button.type = "button";
        button.className = "button";
        button.textContent = texts.unsubscribe;
        button.addEventListener("click", function () {
          send("DELETE", "/api/v1/reports/subscriptions/" + sub.id).then(showSubscriptions);
        });
        item.appendChild(button);
        subscriptionList.appendChild(item);
      });
    });
  }

  if (subscribeForm && config.subscriptions) {
    showSubscriptions();
    subscribeForm.addEventListener("submit", function (event) {
      event.preventDefault();
      showError("");
      var body = formParams();
      body.frequency = subscribeForm.elements.frequency.value;
      body.email = subscribeForm.elements.email.value;
      send("POST", "/api/v1/reports/subscriptions", body).then(function (answer) {
        if (answer.status === 201) {
          state.textContent = fill(texts.subscribed, { email: answer.body.email });
          subscribeForm.reset();
          showSubscriptions();
        } else {
          showError(refusal(answer));
        }
      }, function () { showError(texts.network); });
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    showError("");
    var body = formParams();
    body.start = form.elements.start.value;
    body.end = form.elements.end.value;
    send("POST", "/api/v1/reports", body).then(function (answer) {
      if (answer.status === 202) {
        follow(answer.body);
      } else {
        showError(refusal(answer));
      }
    }, function () { showError(texts.network); });
  });
})(window);
