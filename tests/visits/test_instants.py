"""An instant is written as the API writes them (``2026-03-01T09:00:00+05:00``, or with
``Z``): ISO's other forms the parser also read (``20260301T090000+0500``, the week form), an
offset no clock keeps (``+23:59``, seconds in it) or digits past the microsecond are a 422
naming the field, not read as some instant and booked."""

from __future__ import annotations

import pytest

from clinic.visits.models import Visit
from tests.conftest import ONE_BACKEND
from tests.visits.conftest import make_clinic, next_week_day

pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])


def _book(client, clinic, starts_at: str):
    body = {"patient_id": clinic.patient_ids[0], "doctor_id": clinic.doctor_ids[0],
            "starts_at": starts_at}  # fmt: skip
    return client.post("/api/v1/visits", json=body)


def test_an_instant_in_another_iso_form_is_refused_and_the_api_form_books(runtime, client):
    clinic = make_clinic(runtime)
    at = clinic.at(next_week_day(runtime.settings.tz), 9)
    local = at.astimezone(runtime.settings.tz)
    offset = local.strftime("%z")  # +0500
    offset = f"{offset[:3]}:{offset[3:]}"
    refused = [
        local.strftime("%Y%m%dT%H%M%S%z"),
        local.strftime("%G-W%V-%uT%H:%M:%S") + offset,
        local.strftime("%Y-%m-%d %H:%M:%S") + offset,
        local.strftime("%Y-%m-%dT%H:%M:%S") + offset + ":00",
        local.strftime("%Y-%m-%dT%H:%M:%S.1234567") + offset,
        local.strftime("%Y-%m-%dT%H:%M:%S+23:59"),
    ]
    for text in refused:
        response = _book(client, clinic, text)
        assert response.status_code == 422, (text, response.get_json())
        assert list(response.get_json()["errors"]) == ["starts_at"], text
    with runtime.db.session() as s:
        assert s.query(Visit).count() == 0
    booked = _book(client, clinic, local.strftime("%Y-%m-%dT%H:%M:%S") + offset)
    assert booked.status_code == 201, booked.get_json()


def test_the_audit_log_reads_its_period_as_instants_of_the_api_form(client):
    assert client.get("/api/v1/audit?since=2026-03-01T09:00:00Z").status_code == 200
    response = client.get("/api/v1/audit?since=2026-W09-7T09:00:00%2B05:00")
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["since"]
