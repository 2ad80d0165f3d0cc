"""The desk's registration reads a date of birth as a registrar in Tashkent types it, day
first (01.05.1990), whatever the computer's own settings: the browser's date field followed
those, month first on one set to English (US), so "01051990" was the 5th of January and
"01.05.1990" was refused by the browser in its own language. (The desk's script run by the
Node.js that comes with Playwright, the page stood in for as in test_desk_script.)"""

from __future__ import annotations

import pytest

from tests.web.page_scripts import run
from tests.web.test_desk_script import PAGE, SCRIPT

REGISTER = """
var posted = [], resets = 0;
window.fetch = function (url, options) {
  if (options.method === "POST") posted.push(JSON.parse(options.body));
  var text = JSON.stringify({id: 9, full_name: "Ivanov Ivan", possible_duplicates: []});
  return Promise.resolve({status: 201, text: function () { return Promise.resolve(text); }});
};
var typedDay = {value: TYPED};
ids["patient-new"].elements = {full_name: {value: "Ivanov Ivan"}, sex: {value: "M"},
                               phone: {value: ""}, birth_date: typedDay};
ids["patient-new"].reset = function () { resets += 1; };
"""

SUBMIT = """
(async function () {
  var tick = function () { return new Promise(function (r) { setImmediate(r); }); };
  ids["patient-new"].submit();
  for (var t = 0; t < 5; t++) await tick();
  process.stdout.write(JSON.stringify({posted: posted, resets: resets,
    error: ids["desk-error"].hidden ? "" : ids["desk-error"].textContent}));
})();
"""


def _register(typed: str) -> dict:
    page = PAGE.replace("fields: {}", 'fields: {birth_date: "check the date"}')
    return run(page + REGISTER.replace("TYPED", repr(typed)) + SCRIPT + SUBMIT)


@pytest.mark.parametrize(
    "typed, sent",
    [
        ("01.05.1990", "1990-05-01"),
        ("1.5.1990", "1990-05-01"),
        (" 01/05/1990 ", "1990-05-01"),
        ("01-05-1990", "1990-05-01"),
        ("01051990", "1990-05-01"),
        ("1990-05-01", "1990-05-01"),
        ("31.12.2001", "2001-12-31"),
    ],
)
def test_a_birth_date_typed_day_first_is_registered_as_that_day(typed, sent):
    out = _register(typed)
    assert [body.get("birth_date") for body in out["posted"]] == [sent]
    assert out["error"] == ""


@pytest.mark.parametrize("typed", ["1990", "01.05.90", "май 1990", "01.05.1990.12"])
def test_a_birth_date_that_reads_as_no_day_is_said_and_what_was_typed_stays(typed):
    out = _register(typed)
    assert out == {"posted": [], "resets": 0, "error": "check the date"}


def test_no_birth_date_registers_the_patient_without_one():
    out = _register("  ")
    assert [body.get("birth_date") for body in out["posted"]] == [None]
