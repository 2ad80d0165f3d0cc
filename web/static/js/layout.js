/* The layout's live indicator: shows the state of ClinicSocket once a page uses it. */
(function () {
  "use strict";
  var indicator = document.querySelector("[data-ws-status]");
  if (!indicator || !window.ClinicSocket) return;
  window.ClinicSocket.onStatus(function (status) {
    indicator.hidden = false;
    indicator.setAttribute("data-state", status);
    var label = indicator.getAttribute("data-label-" + status) || status;
    indicator.textContent = status === "signedout" ? "" : label;
    if (status === "signedout") {
      // The session ended: the page loaded again goes through signing in and back here.
      var link = document.createElement("a");
      link.href = window.location.href;
      link.textContent = label;
      indicator.appendChild(link);
    }
  });
})();

/*
 * What the browser says of a form field it refuses before sending ("Please fill out this
 * field.") comes in the browser's own language, whatever the page speaks: a registrar reading
 * the desk in Uzbek would read it in Russian or English. The commonest refusals are said in
 * the page's language instead (the texts come translated with the page); the rest keep the
 * browser's words. Each try to send starts without them, and typing or choosing clears a
 * field's, so the browser checks the field as it is now, whoever filled it since.
 */
(function () {
  "use strict";
  var holder = document.getElementById("validity-texts");
  if (!holder) return;
  var texts = JSON.parse(holder.textContent);

  function refusal(field) {
    var state = field.validity;
    if (state.valueMissing) {
      if (field.type === "radio" || field.type === "checkbox") return "";
      return field.tagName === "SELECT" ? texts.choose : texts.required;
    }
    if (state.tooShort) return texts.tooShort.replace("{n}", field.getAttribute("minlength"));
    if (state.typeMismatch && field.type === "email") return texts.email;
    if (state.badInput && field.type === "number") return texts.number;
    // A number field steps by whole numbers unless it says otherwise: a decimal typed in one
    // ("1.5" days) is a whole number missing, not just any step.
    if (state.stepMismatch && field.type === "number") {
      var step = field.getAttribute("step");
      if (!step || step === "1") return texts.wholeNumber || "";
    }
    if (state.rangeUnderflow) return texts.atLeast.replace("{n}", field.getAttribute("min"));
    if (state.rangeOverflow) return texts.atMost.replace("{n}", field.getAttribute("max"));
    return "";
  }

  function clear(field) {
    if (field && field.setCustomValidity) field.setCustomValidity("");
  }

  document.addEventListener(
    "invalid",
    function (event) {
      var field = event.target;
      if (!field.setCustomValidity) return;
      clear(field);
      var said = field.validity.valid ? "" : refusal(field);
      if (said) field.setCustomValidity(said);
    },
    true
  );
  // A press of a form's button (Enter in a field presses it too) checks the form afresh.
  document.addEventListener(
    "click",
    function (event) {
      var button = event.target.closest && event.target.closest("button, input[type=submit]");
      if (!button || !button.form || button.type !== "submit") return;
      Array.prototype.forEach.call(button.form.elements, clear);
    },
    true
  );
  document.addEventListener(
    "input",
    function (event) {
      clear(event.target);
    },
    true
  );
  document.addEventListener(
    "change",
    function (event) {
      clear(event.target);
    },
    true
  );
})();
