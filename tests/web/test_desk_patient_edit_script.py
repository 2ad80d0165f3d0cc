"""The desk corrects the chosen patient's record (a name misspelt, a new phone, a date of
birth mistyped), which no page did: the form opens with the record as it is, the date of
birth written and read day first; what the API refuses stays typed, said by its field; saved,
the desk names him as he is now. (The desk's script run by the Node.js that comes with
Playwright, the page stood in for as in test_desk_script.)"""

from __future__ import annotations

import json

from tests.web.page_scripts import run
from tests.web.test_desk_script import PAGE, SCRIPT

ON_FILE = {"id": 5, "full_name": "Oʻralov Gʻulom", "sex": "M", "phone": "+998901234567",
           "birth_date": "1990-05-01"}  # fmt: skip

EDIT = """
var ON_FILE = PATIENT_ON_FILE, patches = [], answers = [];
window.fetch = function (url, options) {
  var said = [200, {items: [ON_FILE], total: 1}];
  if (options.method === "PATCH") {
    patches.push([url, JSON.parse(options.body)]);
    said = answers.shift();
  }
  var text = JSON.stringify(said[1]);
  return Promise.resolve({status: said[0], text: function () { return Promise.resolve(text); }});
};
var tick = function () { return new Promise(function (r) { setImmediate(r); }); };
var edit = ids["patient-edit"], fields = edit.elements;
async function settle() { for (var t = 0; t < 5; t++) await tick(); }
async function chooseHim() {
  ids["patient-search"].submit();
  await settle();
  button(ids["patient-results"]).listeners.click();
}
function opened() {
  return {hidden: edit.hidden, full_name: fields.full_name.value, sex: fields.sex.value,
          phone: fields.phone.value, birth_date: fields.birth_date.value};
}
""".replace("PATIENT_ON_FILE", json.dumps(ON_FILE))


def _run(steps: str) -> dict:
    page = PAGE.replace("fields: {}", 'fields: {birth_date: "check the date", phone: "bad phone"}')
    return run(page + EDIT + SCRIPT + "(async function () {" + steps + "})();")


def test_the_chosen_patients_record_opens_as_it_is_and_saved_names_him_anew():
    out = _run("""
  await chooseHim();
  var before = edit.hidden;
  ids["patient-edit-open"].listeners.click();
  var shown = opened();
  fields.full_name.value = "Oʻralov Gʻulomjon";
  fields.phone.value = "8 93 765 43 21";
  fields.birth_date.value = "2.5.1990";
  answers.push([200, Object.assign({}, ON_FILE,
    {full_name: "Oʻralov Gʻulomjon", phone: "+998937654321", birth_date: "1990-05-02"})]);
  edit.submit();
  await settle();
  process.stdout.write(JSON.stringify({before: before, shown: shown, patches: patches,
    after: edit.hidden, named: ids["patient-chosen"].querySelector("[data-name]").textContent}));
""")
    assert out["before"] is True
    assert out["shown"] == {"hidden": False, "full_name": "Oʻralov Gʻulom", "sex": "M",
                            "phone": "+998901234567", "birth_date": "01.05.1990"}  # fmt: skip
    assert out["patches"] == [
        ["/api/v1/patients/5", {"full_name": "Oʻralov Gʻulomjon", "sex": "M",
                                "phone": "8 93 765 43 21", "birth_date": "1990-05-02"}]  # fmt: skip
    ]
    assert out["after"] is True and out["named"] == "Oʻralov Gʻulomjon"


def test_a_refused_correction_keeps_what_was_typed_and_names_the_field():
    out = _run("""
  await chooseHim();
  ids["patient-edit-open"].listeners.click();
  fields.phone.value = "90 12";
  answers.push([422, {status: 422, errors: {phone: ["Not an Uzbek phone number"]}}]);
  edit.submit();
  await settle();
  var refused = {error: ids["desk-error"].textContent, open: !edit.hidden,
                 phone: fields.phone.value};
  fields.phone.value = "";
  fields.birth_date.value = "1990";
  edit.submit();
  await settle();
  process.stdout.write(JSON.stringify({refused: refused, sent: patches.length,
    unread: ids["desk-error"].textContent, open: !edit.hidden}));
""")
    assert out["refused"] == {"error": "bad phone", "open": True, "phone": "90 12"}
    # A date of birth that reads as no day is said before anything is sent.
    assert out == {**out, "sent": 1, "unread": "check the date", "open": True}


def test_an_emptied_phone_or_birth_date_is_taken_off_the_record():
    out = _run("""
  await chooseHim();
  ids["patient-edit-open"].listeners.click();
  fields.phone.value = " ";
  fields.birth_date.value = "";
  answers.push([200, Object.assign({}, ON_FILE, {phone: null, birth_date: null})]);
  edit.submit();
  await settle();
  process.stdout.write(JSON.stringify(patches[0][1]));
""")
    assert out == {"full_name": "Oʻralov Gʻulom", "sex": "M", "phone": None, "birth_date": None}
