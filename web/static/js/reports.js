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
  var build = form.querySelector("button[type=submit]");
  var subscribeForm = document.getElementById("subscribe-form");
  var subscriptionList = document.getElementById("subscriptions");
  // The report followed: {id, request, sub, loading, retry}. Each Build is a new request; an
  // answer about an earlier one (its POST, its job, its figures) arrives too late to show.
  var following = null;
  var asked = 0;
  var FIRST_RETRY_MS = 1000;
  var LAST_RETRY_MS = 30000;

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

  // In the order the server lists them (revenue first, the default): the groupings' keys
  // come sorted by their codes.
  config.kinds.forEach(function (report) {
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

  // Whether an answer about request is still wanted: it is the last Build's, followed now.
  function current(request) {
    return following !== null && following.request === request && request === asked;
  }

  // Stop following: the job's channel is left (a page that builds many reports would
  // otherwise reach the socket's limit of channels), and a retry waiting is dropped.
  function leave() {
    if (following === null) return;
    if (following.sub) following.sub.unsubscribe();
    if (following.retry !== null) global.clearTimeout(following.retry);
    following = null;
  }

  // The finished report's figures; the channel is left only once they are shown, and a
  // lost or refused answer is said and asked again, each wait twice the last (up to 30 s).
  function loadResult(id, wait) {
    var request = following.request;
    following.loading = true;
    following.retry = null;
    global.fetch("/api/v1/reports/" + id, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (r) {
        if (!r.ok) throw r.status;
        return r.json();
      })
      .then(
        function (job) {
          if (!current(request)) return;
          leave();
          showError("");
          showResult(job);
        },
        function (status) {
          if (!current(request)) return;
          showError(status === 401 ? texts.signedOut : texts.network);
          following.retry = global.setTimeout(function () {
            if (current(request)) loadResult(id, Math.min(LAST_RETRY_MS, wait * 2));
          }, wait);
        }
      );
  }

  // A failed report is said by its code in the page's language; the worker's own words (an
  // exception's text, SQL included) are for the console only. A job given up after too many
  // attempts is written without a code, by its type.
  function failure(error) {
    error = error || {};
    if (global.console) {
      global.console.warn("The report could not be built:", error.code || error.type, error.detail);
    }
    var words = texts.failures || {};
    return words[error.code] || words[error.type] || texts.failed;
  }

  function onJob(job) {
    if (!following || job.id !== following.id || following.request !== asked) return;
    if (job.status === "succeeded") {
      if (!following.loading) loadResult(job.id, FIRST_RETRY_MS);
    } else if (job.status === "failed") {
      leave();
      state.textContent = "";
      showError(failure(job.error));
    } else if (job.status === "running") {
      state.textContent = fill(texts.running, { done: job.done || 0 });
    } else {
      state.textContent = texts.queued;
    }
  }

  function follow(job, request) {
    leave();
    var channel = job.channel || "job:" + job.id;
    var mine = { id: job.id, request: request, sub: null, loading: false, retry: null };
    following = mine;
    mine.sub = global.ClinicSocket.subscribe(channel, {
      onSnapshot: function (data) { if (data) onJob(data); },
      onEvent: function (event) {
        if (following !== mine) return;
        if (event.type === "job.progress") {
          if (mine.loading) return; // done: its figures are being read
          state.textContent = fill(texts.running, { done: event.data.done || 0 });
        } else {
          onJob(event.data);
        }
      },
      // The server refused the channel (too many followed at once, the access changed): the
      // page would otherwise wait for a report it never hears of.
      onError: function () {
        if (following !== mine) return;
        following.sub = null; // refused: there is nothing to leave
        leave();
        state.textContent = "";
        showError(texts.unfollowable);
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

  // A field's input, in the report's form or the subscription's.
  function fieldInput(field) {
    var found = null;
    [form, subscribeForm].forEach(function (holder) {
      var input = holder && holder.elements[field];
      if (!found && input && input.nodeType === 1) found = input;
    });
    return found;
  }

  // A field as its label names it on the page ("From (clinic day)"), so that a reason given
  // for either day of the period says which; none for what the page sends without an input.
  function fieldLabel(field) {
    var input = fieldInput(field);
    var label = input && input.closest("label");
    var words = label && label.querySelector(".field__label");
    return words ? words.textContent.trim() : "";
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
    var said = []; // {text, labels}: each reason once, after the fields refused for it
    Object.keys(data.errors || {}).forEach(function (field) {
      var codes = [].concat(reasons[field] || []);
      var known = codes.length > 0 && codes.every(function (code) { return words[code]; });
      var texted = known
        ? codes.map(function (code) { return words[code]; })
        : [texts.fields[field] || [].concat(data.errors[field]).join(" ")];
      var label = fieldLabel(field);
      texted.forEach(function (text) {
        // Two fields refused for one reason ("start", "end") say it once, naming both.
        var same = said.filter(function (reason) { return reason.text === text; })[0];
        if (!same) {
          same = { text: text, labels: [] };
          said.push(same);
        }
        if (label && same.labels.indexOf(label) < 0) same.labels.push(label);
      });
    });
    var detail = said.map(function (reason) {
      return (reason.labels.length ? reason.labels.join(", ") + ": " : "") + reason.text;
    }).join(" ");
    return fill(texts.invalid, { detail: detail || data.detail || "" });
  }

  // The refused inputs are marked (aria-invalid) until corrected, and the first of them on
  // the page takes the focus, to be corrected at once.
  function markRefused(answer) {
    var refused = Object.keys((answer.body || {}).errors || {}).map(fieldInput).filter(Boolean);
    refused.forEach(function (input) { input.setAttribute("aria-invalid", "true"); });
    refused.sort(function (a, b) {
      return a.compareDocumentPosition(b) & global.Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1;
    });
    if (refused.length) refused[0].focus();
  }

  function unmarkAll() {
    [form, subscribeForm].forEach(function (holder) {
      if (!holder) return;
      Array.prototype.forEach.call(holder.querySelectorAll("[aria-invalid]"), function (input) {
        input.removeAttribute("aria-invalid");
      });
    });
  }

  function corrected(event) {
    if (event.target && event.target.removeAttribute) event.target.removeAttribute("aria-invalid");
  }

  [form, subscribeForm].forEach(function (holder) {
    if (!holder) return;
    holder.addEventListener("input", corrected);
    holder.addEventListener("change", corrected);
  });

  // A subscription's filters by the names its answer carries (the department's in the
  // page's language, the doctor's), deactivated since or not: the form's lists hold the
  // active ones only. The same report of two departments is two lines told apart.
  function filterNames(sub) {
    var names = [];
    var params = sub.params || {};
    if (params.department_id !== null && params.department_id !== undefined) {
      var department = (sub.department_names || {})[config.language];
      names.push(department || "#" + params.department_id);
    }
    if (params.doctor_id !== null && params.doctor_id !== undefined) {
      names.push(sub.doctor_name || "#" + params.doctor_id);
    }
    return names;
  }

  // After a subscription is stopped its button is gone: the focus goes to the button that
  // took its place (the next one's), else to the list's heading, not back to the page's top.
  function focusAfterStopped(at) {
    var buttons = subscriptionList.querySelectorAll("button");
    if (buttons[at]) {
      buttons[at].focus();
    } else {
      document.getElementById("subscribe-title").focus();
    }
  }

  function stop(sub, item, button) {
    if (button.disabled) return;
    button.disabled = true;
    showError("");
    var at = Array.prototype.indexOf.call(subscriptionList.children, item);
    function refused(message) {
      button.disabled = false;
      button.focus();
      showError(message);
    }
    send("DELETE", "/api/v1/reports/subscriptions/" + sub.id).then(function (answer) {
      // Not found: stopped meanwhile (another manager, the e-mail's link), as was asked.
      if (answer.status === 200 || answer.status === 404) {
        return showSubscriptions().then(function () { focusAfterStopped(at); });
      }
      refused(answer.status >= 500 ? texts.network : refusal(answer));
    }, function () { refused(texts.network); });
  }

  function showSubscriptions() {
    return send("GET", "/api/v1/reports/subscriptions").then(function (answer) {
      if (answer.status !== 200) return;
      subscriptionList.textContent = "";
      answer.body.filter(function (sub) { return sub.active; }).forEach(function (sub) {
        var item = document.createElement("li");
        var filters = filterNames(sub);
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
        button.addEventListener("click", function () { stop(sub, item, button); });
        item.appendChild(button);
        subscriptionList.appendChild(item);
      });
    }, function () { showError(texts.network); });
  }

  if (subscribeForm && config.subscriptions) {
    var subscribeButton = subscribeForm.querySelector("button[type=submit]");
    showSubscriptions();
    subscribeForm.addEventListener("submit", function (event) {
      event.preventDefault();
      // One at a time: a double click would subscribe, then be refused as subscribed already.
      if (subscribeButton.disabled) return;
      showError("");
      unmarkAll();
      var body = formParams();
      body.frequency = subscribeForm.elements.frequency.value;
      body.email = subscribeForm.elements.email.value;
      subscribeButton.disabled = true;
      send("POST", "/api/v1/reports/subscriptions", body).then(function (answer) {
        subscribeButton.disabled = false;
        if (answer.status === 201) {
          state.textContent = fill(texts.subscribed, { email: answer.body.email });
          subscribeForm.reset();
          showSubscriptions();
        } else {
          showError(refusal(answer));
          markRefused(answer);
        }
      }, function () {
        subscribeButton.disabled = false;
        showError(texts.network);
      });
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    // One job per Build: a double click or a repeated Enter while the first is being sent
    // would start the same report twice.
    if (build.disabled) return;
    showError("");
    unmarkAll();
    // The report followed until now is no longer the one asked for.
    var request = ++asked;
    if (following !== null) {
      leave();
      state.textContent = "";
    }
    var body = formParams();
    body.start = form.elements.start.value;
    body.end = form.elements.end.value;
    build.disabled = true;
    send("POST", "/api/v1/reports", body).then(function (answer) {
      build.disabled = false;
      if (request !== asked) return;
      if (answer.status === 202) {
        follow(answer.body, request);
      } else {
        showError(refusal(answer));
        markRefused(answer);
      }
    }, function () {
      build.disabled = false;
      if (request === asked) showError(texts.network);
    });
  });
})(window);
