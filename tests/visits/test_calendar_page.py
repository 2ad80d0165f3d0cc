"""What the calendar page gives its script: a doctor who sees his patients by the calendar
(no queue) gets the steps to begin and end their visits, in the page's language."""

from __future__ import annotations

import json
import re
from html import unescape

from clinic.accounts.models import User
from clinic.reference import directory as reference
from tests.visits.conftest import make_clinic


def _config(client, query: str = "") -> dict:
    page = client.get(f"/visits/calendar?{query}")
    assert page.status_code == 200
    found = re.search(
        r'<script type="application/json" id="calendar-config">(.*?)</script>',
        page.get_data(as_text=True),
    )
    return json.loads(unescape(found.group(1)))


def test_a_doctor_begins_and_ends_his_visits_on_the_calendar_and_a_registrar_does_not(
    runtime, client_as
):
    clinic = make_clinic(runtime)
    doctor = client_as("doctor")
    with runtime.db.transaction() as s:
        user = s.query(User).filter(User.username == doctor.username).one()
        reference.update_doctor(s, user.doctor_id, {"department_id": clinic.department_id})
    own = _config(doctor, "lang=ru")
    assert own["mayTreat"] is True and own["mayCheckIn"] is False
    assert (own["texts"]["start"], own["texts"]["finish"]) == ("Начать приём", "Завершить")
    assert _config(doctor, "lang=uz")["texts"]["start"] == "Qabulni boshlash"
    desk = _config(client_as("registrar"), f"department={clinic.department_id}")
    assert desk["mayTreat"] is False and desk["mayCheckIn"] is True
