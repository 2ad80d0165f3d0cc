"""Who reads the calendars' channels: staff with visits.read; a doctor, only his own. The
events name the patient by id only."""

from __future__ import annotations

import pytest

from clinic.accounts import tokens, users
from clinic.accounts.models import User
from clinic.visits import booking, schedules
from tests.conftest import ONE_BACKEND, _create_user
from tests.visits.conftest import make_clinic, next_week_day
from tests.wsclient import WSClient

# The rules are Python over the identity; one database shows them.
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])


def _token(runtime, role: str) -> tuple[str, int | None]:
    user_id, _ = _create_user(runtime, role)
    with runtime.db.transaction() as s:
        user = users.get_user(s, user_id)
        return tokens.create_token(s, user, name="calendar")[1], s.get(User, user_id).doctor_id


def test_a_doctor_hears_his_own_calendar_without_patient_details_and_nobody_elses(
    runtime, live_server
):
    clinic = make_clinic(runtime)
    token, own = _token(runtime, "doctor")
    day = next_week_day(runtime.settings.tz)
    with runtime.db.transaction() as s:
        schedules.set_week(s, own, [{"weekday": day.weekday(), "starts": "09:00", "ends": "10:00"}])
    ws = WSClient(live_server, query=f"?token={token}")
    assert ws.subscribe(f"visits_doctor:{own}")[-1]["op"] == "subscribed"
    with runtime.db.transaction() as s:
        booking.book(
            s, patient_id=clinic.patient_ids[0], doctor_id=own,
            starts_at=clinic.at(day, 9), tz=runtime.settings.tz,
        )  # fmt: skip
    event = ws.until(lambda m: m.get("type") == "visit.booked")[-1]
    assert event["data"]["patient_id"] == clinic.patient_ids[0]
    assert not {"patient_name", "patient_phone"} & set(event["data"])
    for channel in (
        f"visits_doctor:{clinic.doctor_ids[0]}",
        f"visits_department:{clinic.department_id}",
    ):
        ws = WSClient(live_server, query=f"?token={token}")
        ws.send({"op": "subscribe", "channel": channel})
        assert ws.wait_closed() == 1008, channel


def test_a_registrar_reads_department_calendars_and_a_cashier_none(runtime, live_server):
    clinic = make_clinic(runtime)
    registrar, _ = _token(runtime, "registrar")
    ws = WSClient(live_server, query=f"?token={registrar}")
    assert ws.subscribe(f"visits_department:{clinic.department_id}")[-1]["op"] == "subscribed"
    assert ws.subscribe(f"visits_doctor:{clinic.doctor_ids[0]}")[-1]["op"] == "subscribed"
    cashier, _ = _token(runtime, "cashier")
    ws = WSClient(live_server, query=f"?token={cashier}")
    ws.send({"op": "subscribe", "channel": f"visits_department:{clinic.department_id}"})
    assert ws.wait_closed() == 1008
