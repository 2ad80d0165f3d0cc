"""The new invoice form goes on from the keyboard: once the cashier chooses the patient (his
search and its list go away), the focus is on the services' search, her next step; "Another
patient" puts it on the patients' search. Run by the Node.js that comes with Playwright
with the page's elements stood in for (no browser, about a second)."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import ONE_BACKEND
from tests.web.page_scripts import run
from tests.web.test_cashier_invoice_script import PATIENT, WAITING, desk_program

STORY = r"""
var focused = null;
El.prototype.focus = function () { focused = this; };
(async function () {
  var said = {};
  $("new-invoice-card").open = true;
  $("new-invoice-patient").elements.q.value = "каримов";
  $("new-invoice-patient").fire("submit");
  await settle();
  button($("new-invoice-patients"), "choose")[0].fire("click");
  await settle();
  said.chosen = focused === $("new-invoice-service").elements.q;
  $("new-invoice-unchoose").fire("click");
  said.another = focused === $("new-invoice-patient").elements.q;
  process.stdout.write(JSON.stringify(said));
})();
"""


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_choosing_the_patient_puts_the_focus_on_the_next_step(client_as):
    page = client_as("cashier").get("/payments/desk?lang=ru").get_data(as_text=True)
    config = json.loads(re.search(r'id="cashier-config">(.*?)</script>', page).group(1))
    answers = {
        config["patientsApi"]: [200, {"items": [PATIENT]}],
        config["patientTicketsApi"].replace("{id}", "7"): [200, [WAITING]],
    }
    assert run(desk_program(config, answers, STORY)) == {"chosen": True, "another": True}
