/*
 * Print status on a desk page: each element with data-print-scope ("queue.<id>" or
 * "cashier") follows print_jobs:<scope> live and lists the newest jobs with their state; a
 * job that did not print offers its PDF (to print from the browser) and a retry button.
 * Texts and URLs come from the JSON element #print-status-config.
 */
(function () {
  "use strict";

  var holder = document.getElementById("print-status-config");
  if (!holder || !window.ClinicSocket) return;
  var config = JSON.parse(holder.textContent);
  var texts = config.texts;
  var SHOWN = 5;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_m, key) {
      return key in values ? String(values[key]) : "";
    });
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function say(notice, text) {
    notice.textContent = text || "";
    notice.hidden = !text;
  }

  // Why the server refused: by the refusal's code, in the page's language.
  function refusal(status, body) {
    if (status === 401) return texts.signedOut;
    var words = texts.refusals || {};
    if (body && body.code && words[body.code]) return words[body.code];
    if (status === 403) return texts.forbidden;
    return fill(texts.failed, { detail: (body && body.detail) || String(status) });
  }

  // Resolves true once the server took the retry. Refused by the CSRF check (the session was
  // begun anew since the page was loaded), it is sent once more with the session's token.
  function retry(job, box, notice, again) {
    say(notice, "");
    var meta = document.querySelector('meta[name="csrf-token"]');
    return window
      .fetch(fill(config.urls.retry, { id: job.id }), {
        method: "POST",
        credentials: "same-origin",
        headers: {
          Accept: "application/json",
          "Content-Type": "application/json",
          "X-CSRFToken": meta ? meta.getAttribute("content") : "",
        },
        body: "{}",
      })
      .then(
        function (response) {
          if (response.status < 400) return true;
          box.setAttribute("data-error", String(response.status));
          return response
            .json()
            .then(null, function () {
              return {};
            })
            .then(function (body) {
              var renew = window.ClinicQueue && window.ClinicQueue.renewCsrfToken;
              var stale = response.status === 400 && /CSRF/.test((body && body.detail) || "");
              if (stale && renew && !again) {
                return renew().then(function (renewed) {
                  if (renewed) return retry(job, box, notice, true);
                  say(notice, refusal(response.status, body));
                  return false;
                });
              }
              say(notice, refusal(response.status, body));
              return false;
            });
        },
        function () {
          say(notice, texts.network);
          return false;
        }
      );
  }

  // ``retried``: the job's retry is on the list already (a second one would be refused).
  function row(job, box, notice, retried) {
    var li = element("li", "print-job print-job--" + job.state);
    li.setAttribute("data-job-id", job.id);
    li.setAttribute("data-state", job.state);
    var title = job.title + (job.copy ? " (" + texts.copy + ")" : "");
    li.appendChild(element("span", "print-job__title", title));
    var said = texts.states[job.state] || job.state;
    if (job.state === "queued" && job.attempts > 0) said = texts.retrying;
    if (job.last_error === config.out_of_paper && job.state === "queued") said = texts.out_of_paper;
    // Why it did not print, in the page's words: the printer is off, out of paper, ...
    var why = (texts.failures || {})[job.failure];
    if (job.state === "failed" && why) said += " (" + why + ")";
    li.appendChild(element("span", "print-job__state", " — " + said + " "));
    if (job.state === "failed" || job.state === "pdf_only") {
      var link = element("a", "print-job__pdf", texts.pdf);
      link.href = fill(config.urls.pdf, { id: job.id });
      link.target = "_blank";
      li.appendChild(link);
    }
    if (job.state === "failed" && !retried) {
      var again = element("button", "button print-job__retry", texts.retry);
      again.type = "button";
      again.addEventListener("click", function () {
        // Once a press: the paper comes out once, and no refusal follows the first press.
        again.disabled = true;
        retry(job, box, notice).then(function (sent) {
          if (!sent) again.disabled = false;
        });
      });
      li.appendChild(again);
    }
    return li;
  }

  function follow(box) {
    var jobs = {};
    var list = element("ol", "print-jobs");
    list.setAttribute("aria-live", "polite");
    box.appendChild(list);
    // What a refused Retry says, until the next one.
    var notice = element("p", "alert alert--error print-status__error");
    notice.setAttribute("role", "alert");
    notice.hidden = true;
    box.appendChild(notice);

    function render() {
      list.textContent = "";
      var retried = {};
      Object.keys(jobs).forEach(function (id) {
        if (jobs[id].retry_of_id) retried[jobs[id].retry_of_id] = true;
      });
      Object.keys(jobs)
        .map(Number)
        .sort(function (a, b) {
          return b - a;
        })
        .slice(0, SHOWN)
        .forEach(function (id) {
          list.appendChild(row(jobs[id], box, notice, retried[id]));
        });
    }

    window.ClinicSocket.subscribe("print_jobs:" + box.getAttribute("data-print-scope"), {
      onSnapshot: function (data) {
        jobs = {};
        (data && data.jobs ? data.jobs : []).forEach(function (job) {
          jobs[job.id] = job;
        });
        render();
      },
      onEvent: function (event) {
        jobs[event.data.job.id] = event.data.job;
        render();
      },
      onError: function () {
        box.hidden = true;
      },
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-print-scope]"), follow);
  // A queue's card added later (switched on while the desk was open) is followed too.
  window.ClinicPrintStatus = { follow: follow };
})();
