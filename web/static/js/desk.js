/*
 * The reception desk: each queue's tickets live from its staff channel, and a form per queue
 * that issues a ticket through the API and opens the printable ticket.
 */
(function () {
  "use strict";

  var Q = window.ClinicQueue;
  var config = Q.config("desk-config");
  var texts = config.texts;
  var issuedBox = document.getElementById("desk-issued");
  var errorBox = document.getElementById("desk-error");
  var SHOWN = ["called", "in_service", "waiting", "postponed"];

  function showIssued(ticket, printUrl) {
    Q.say(errorBox, "");
    issuedBox.textContent = Q.fill(texts.issued, { code: ticket.code }) + " ";
    var link = Q.element("a", "desk-issued__print", Q.fill(texts.print, { code: ticket.code }));
    link.href = printUrl;
    link.target = "clinic-ticket";
    issuedBox.appendChild(link);
    issuedBox.setAttribute("data-code", ticket.code);
    issuedBox.hidden = false;
  }

  function follow(card) {
    var queueId = Number(card.getAttribute("data-queue-id"));
    var book = new Q.TicketBook();
    var list = card.querySelector("[data-tickets]");
    var waiting = card.querySelector("[data-waiting]");
    var summary = card.querySelector("[data-summary]");

    function render() {
      waiting.textContent = String(book.waiting);
      list.textContent = "";
      book.list(SHOWN).forEach(function (ticket) {
        list.appendChild(Q.ticketRow(ticket, texts));
      });
      summary.textContent = Q.fill(texts.served, { count: book.count("served") });
    }

    book.follow(queueId, render, function () {
      Q.say(errorBox, texts.forbidden);
    });
  }

  function issue(form) {
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    var body = {
      source: "desk",
      priority: form.querySelector("input[name=priority]:checked").value,
      comment: form.elements.comment.value,
    };
    Q.issueAndPrint(form.getAttribute("data-issue-url"), body, config.printUrl)
      .then(
        function (answer) {
          if (answer.status !== 201) {
            Q.say(errorBox, Q.problem(texts, answer));
            return;
          }
          showIssued(answer.body, Q.fill(config.printUrl, { id: answer.body.id }));
          form.reset();
        },
        function () {
          Q.say(errorBox, texts.network);
        }
      )
      .then(function () {
        button.disabled = false;
      });
  }

  Array.prototype.forEach.call(document.querySelectorAll(".desk-queue"), function (card) {
    follow(card);
    card.querySelector("form").addEventListener("submit", function (e) {
      e.preventDefault();
      issue(e.target);
    });
  });
})();
