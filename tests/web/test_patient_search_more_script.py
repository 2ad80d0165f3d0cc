"""A search of patients that finds more than its list shows says so, at the desk and in the
calendar's booking form: ten "Karimov"s of 150 listed without a word read as all there
are, and the one sought, not among them, was registered a second time. (The page scripts
run by the Node.js that comes with Playwright, the pages stood in for.)"""

from __future__ import annotations

import json

from tests.web import test_calendar_patient_script as calendar
from tests.web import test_desk_script as desk
from tests.web.page_scripts import run

MORE = "{shown} of {total} shown: type more"
KARIMOVS = [{"id": n, "full_name": f"Karimov {n}", "phone": None} for n in range(1, 11)]


def test_the_desk_says_how_many_more_its_search_found():
    page = desk.PAGE.replace('noPatients: "none",', f'noPatients: "none", morePatients: "{MORE}",')
    answers = """
var total = 150;
window.fetch = function (url) {
  var text = JSON.stringify({items: KARIMOVS, total: total});
  return Promise.resolve({status: 200, text: function () { return Promise.resolve(text); }});
};
""".replace("KARIMOVS", json.dumps(KARIMOVS))
    program = page + answers + desk.SCRIPT + """
(async function () {
  var tick = function () { return new Promise(function (r) { setImmediate(r); }); };
  var said = [];
  for (var n of [150, 10]) {
    total = n;
    ids["patient-search"].submit();
    for (var t = 0; t < 5; t++) await tick();
    var list = ids["patient-results"].children;
    said.push([list.length, list[list.length - 1].textContent]);
  }
  process.stdout.write(JSON.stringify(said));
})();
"""
    assert run(program) == [[11, "10 of 150 shown: type more"], [10, "Karimov 10choose"]]


def test_the_booking_forms_search_says_how_many_more_it_found():
    page = calendar.PAGE.replace(
        'noPatients: "Nobody found.",', f'noPatients: "none", morePatients: "{MORE}",'
    )
    program = page + calendar.SCRIPT + """
(async function () {
  answer = [200, {items: KARIMOVS, total: 150}];
  await find("Karimov");
  var many = lines();
  answer = [200, {items: KARIMOVS, total: 10}];
  await find("Karimov");
  process.stdout.write(JSON.stringify({many: many.length, last: many[many.length - 1],
                                        all: lines().length}));
})();
""".replace("KARIMOVS", json.dumps(KARIMOVS))
    assert run(program) == {"many": 11, "last": "10 of 150 shown: type more", "all": 10}
