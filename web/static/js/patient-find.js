/*
 * The calendar's booking form finds its patient as the reception desk does: by name in
 * either script, or by phone, through the patients API (which spells both sides alike).
 * Each one found is listed with his record's number, phone and date of birth (namesakes
 * apart); the one chosen fills the form's patient number, which no other page shows.
 */
(function () {
  "use strict";

  var Q = window.ClinicQueue;
  var search = document.getElementById("booking-patient-search");
  var booking = document.getElementById("booking-form");
  if (!search || !booking) return;
  var config = Q.config("calendar-config");
  var texts = config.texts;
  var list = document.getElementById("booking-patients");
  var number = booking.elements.patient_id;
  var error = booking.querySelector('[data-error-for="patient_id"]');

  // A date of birth as the clinic's pages write dates (01.05.1990): a calendar day, read
  // from its digits, has no time zone to shift it.
  function day(iso) {
    var parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
    return parts ? parts[3] + "." + parts[2] + "." + parts[1] : iso;
  }

  function describe(patient) {
    return ["№ " + patient.id, patient.full_name, patient.phone, day(patient.birth_date)]
      .filter(Boolean)
      .join(" · ");
  }

  function choose(patient) {
    number.value = String(patient.id);
    Q.say(error, "");
    list.textContent = "";
    list.appendChild(Q.element("li", "patient-result", describe(patient)));
    booking.elements.notify_email.focus();
  }

  function show(items) {
    list.textContent = "";
    if (!items.length) list.appendChild(Q.element("li", "muted", texts.noPatients));
    items.forEach(function (patient) {
      var item = Q.element("li", "patient-result");
      item.setAttribute("data-patient-id", patient.id);
      item.appendChild(Q.element("span", "", describe(patient)));
      var pick = Q.element("button", "button button--small", texts.choose);
      pick.type = "button";
      pick.addEventListener("click", function () {
        choose(patient);
      });
      item.appendChild(pick);
      list.appendChild(item);
    });
  }

  search.addEventListener("submit", function (e) {
    e.preventDefault();
    var typed = search.elements.q.value.trim();
    if (!typed) return;
    Q.findPatients(config.patientsUrl, typed, {
      list: list,
      errorBox: error,
      texts: texts,
      show: show,
    });
  });

  // A number typed by hand is another patient than the one chosen: his line goes.
  number.addEventListener("input", function () {
    list.textContent = "";
  });
  // A visit booked empties the form: the patient chosen for it goes with it.
  booking.addEventListener("reset", function () {
    list.textContent = "";
    search.reset();
  });
})();
