/*
 * The price list page: uploads an import file to the API, follows the job's channel with
 * ClinicSocket, shows its progress, summary and rejected rows, then refreshes the table.
 * The job being followed survives a page reload (sessionStorage).
 */
(function () {
  "use strict";

  var JOB_KEY = "clinic.priceList.job";
  var MAX_ERROR_ROWS = 500;

  var texts = JSON.parse(document.getElementById("price-list-texts").textContent);
  var form = document.getElementById("import-form");
  var submit = document.getElementById("import-submit");
  var progressBox = document.getElementById("import-progress");
  var state = document.getElementById("import-state");
  var bar = document.getElementById("import-bar");
  var fill = bar.querySelector(".progress__fill");
  var percent = document.getElementById("import-percent");
  var rows = document.getElementById("import-rows");
  var errorBox = document.getElementById("import-error");
  var summary = document.getElementById("import-summary");
  var errorRows = document.getElementById("import-errors");
  var errorTable = document.querySelector("#import-errors-table tbody");
  var errorsMore = document.getElementById("import-errors-more");

  var following = null; // {id, channel, subscription, finished}

  function fillIn(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  function remember(job) {
    try {
      if (job) {
        window.sessionStorage.setItem(JOB_KEY, JSON.stringify(job));
      } else {
        window.sessionStorage.removeItem(JOB_KEY);
      }
    } catch (e) {
      /* storage disabled: a reload forgets the import, the table is still right */
    }
  }

  function remembered() {
    try {
      return JSON.parse(window.sessionStorage.getItem(JOB_KEY) || "null");
    } catch (e) {
      return null;
    }
  }

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = !message;
  }

  function setBusy(busy) {
    submit.disabled = busy;
    form.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function showProgress(value, done, total) {
    var p = Math.max(0, Math.min(100, Math.round(value || 0)));
    progressBox.hidden = false;
    bar.setAttribute("aria-valuenow", String(p));
    fill.style.width = p + "%";
    percent.textContent = fillIn(texts.percent, { percent: p });
    rows.textContent = typeof total === "number" ? fillIn(texts.rows, { done: done || 0, total: total }) : "";
  }

  function showState(text, kind) {
    state.textContent = text;
    progressBox.setAttribute("data-state", kind);
  }

  function cell(tr, text, className) {
    var td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : String(text);
    if (className) td.className = className;
    tr.appendChild(td);
  }

  // A rejected row's reason in the page's language, by the reason's code and the values it
  // quotes ("invalid": the column's rule); a reason without words here, as the API says it.
  function reasonText(error) {
    // A rule of the column on its own sheet (a department's code is shorter than a
    // service's), else the column's rule wherever it is.
    var rule =
      texts.columnRules[error.sheet + "." + error.column] || texts.columnRules[error.column];
    if (error.code === "invalid" && rule) return rule;
    var words = error.code && texts.rowReasons[error.code];
    return words ? fillIn(words, error.values || {}) : error.reason;
  }

  function showSummary(result) {
    result = result || {};
    ["created", "updated", "unchanged", "rejected"].forEach(function (name) {
      document.getElementById("tally-" + name).textContent = String(result[name] || 0);
    });
    var errors = result.errors || [];
    // A workbook's rows are numbered on each sheet: with more than one, each problem says
    // which sheet its row is on.
    var onSheets = Object.keys(result.sheets || {}).length > 1;
    errorTable.textContent = "";
    errors.slice(0, MAX_ERROR_ROWS).forEach(function (error) {
      var tr = document.createElement("tr");
      cell(tr, error.row, "num");
      cell(tr, error.column || "—", "code"); // "—": the row as a whole
      var reason = reasonText(error);
      cell(tr, onSheets ? fillIn(texts.onSheet, { sheet: error.sheet, reason: reason }) : reason);
      errorTable.appendChild(tr);
    });
    var more = (result.errors_not_shown || 0) + Math.max(0, errors.length - MAX_ERROR_ROWS);
    errorsMore.textContent = more > 0 ? fillIn(texts.more, { count: more }) : "";
    errorsMore.hidden = more === 0;
    errorRows.hidden = errors.length === 0;
    summary.hidden = false;
  }

  function refreshTable() {
    return window.ClinicPriceTable.reload().catch(function () {
      showError(texts.network);
    });
  }

  function finished(job) {
    if (following === null || following.id !== job.id || following.finished) return;
    following.finished = true;
    remember(null);
    if (job.status === "failed") {
      showState(fillIn(texts.failed, { error: describeError(job.error) }), "failed");
      return;
    }
    showProgress(100, job.done, job.total);
    showState(texts.succeeded, "succeeded");
    showSummary(job.result);
    refreshTable();
  }

  // A failed import's reason in the page's language, by its code and the values it quotes
  // (``sheet``: the workbook's sheet it is about); else as the API says it.
  function describeError(error) {
    if (!error) return "";
    var words = error.code && texts.fileReasons[error.code];
    if (words) {
      var values = error.values || {};
      var reason = fillIn(words, values);
      return values.sheet ? fillIn(texts.onSheet, { sheet: values.sheet, reason: reason }) : reason;
    }
    return error.detail || error.message || error.type || JSON.stringify(error);
  }

  function showJob(job) {
    if (job.status === "succeeded" || job.status === "failed") {
      finished(job);
      return;
    }
    showState(job.status === "running" ? texts.running : texts.queued, job.status);
    showProgress(job.progress, job.done, job.total);
  }

  function follow(job) {
    if (following !== null) following.subscription.unsubscribe();
    var channel = job.channel || "job:" + job.id;
    following = { id: job.id, channel: channel, finished: false, subscription: null };
    remember({ id: job.id, channel: channel });
    summary.hidden = true;
    showState(texts.queued, "queued");
    showProgress(job.progress || 0, job.done, job.total);
    following.subscription = window.ClinicSocket.subscribe(channel, {
      onSnapshot: function (data) {
        if (data === null || data === undefined) {
          remember(null);
          showState(texts.lost, "failed");
          return;
        }
        showJob(data);
      },
      onEvent: function (event) {
        switch (event.type) {
          case "job.queued":
          case "job.started":
            showJob(event.data);
            break;
          case "job.progress":
            showState(texts.running, "running");
            showProgress(event.data.progress, event.data.done, event.data.total);
            break;
          case "job.succeeded":
          case "job.failed":
            finished(event.data);
            break;
          default:
            break; // other kinds of event on this channel are not about progress
        }
      },
      onError: function () {
        showState(texts.lost, "failed");
      },
    });
  }

  // The API words a refused upload in English for scripts; the page says it in its own
  // language: by the reason, else by the field the refusal names, else by its status.
  function problemText(body, status) {
    if (status === 401) return texts.signedOut;
    if (status === 403) return texts.forbidden;
    if (status === 413) return texts.tooLarge;
    if (!body) return "";
    var parts = [];
    if (body.errors) {
      Object.keys(body.errors).forEach(function (field) {
        var said = [].concat(body.errors[field]);
        var known = said.filter(function (m) { return texts.reasons[m]; });
        if (known.length) {
          known.forEach(function (m) { parts.push(texts.reasons[m]); });
        } else {
          parts.push(texts.fields[field] || field + ": " + said.join(" "));
        }
      });
    }
    return parts.length ? parts.join(" ") : body.detail || body.title || "";
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    showError("");
    summary.hidden = true;
    setBusy(true);
    showState(texts.uploading, "uploading");
    showProgress(0, 0, null);
    var headers = { Accept: "application/json" };
    var token = document.querySelector("meta[name='csrf-token']");
    if (token) headers["X-CSRFToken"] = token.getAttribute("content");
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: headers,
      credentials: "same-origin",
    })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return null;
          })
          .then(function (body) {
            setBusy(false); // another file may be sent while this one is imported
            if (response.status === 202 && body && body.id) {
              form.reset();
              follow(body);
              return;
            }
            progressBox.hidden = true;
            showError(fillIn(texts.rejected, { detail: problemText(body, response.status) || response.status }));
          });
      })
      .catch(function () {
        setBusy(false);
        progressBox.hidden = true;
        showError(texts.network);
      });
  });

  window.ClinicSocket.connect();
  var earlier = remembered();
  if (earlier && earlier.id) follow(earlier);
})();
