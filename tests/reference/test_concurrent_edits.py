"""Two registrars changing one patient at the same moment, each a field of his own: both
changes are kept, and the patient's last event says what he is, with both of them."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import select, text

from clinic.models import OutboxEvent, Patient
from clinic.reference import patients
from tests.races import wait_for, waits_for_a_lock


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite lets one writer in at a time
@pytest.mark.parametrize("second", ["birth date changed", "deactivated"])
def test_the_last_event_of_a_patient_changed_at_two_desks_at_once_is_him_as_he_is(runtime, second):
    with runtime.db.transaction() as s:
        patient = patients.create_patient(
            s, {"full_name": "Karimov Sherzod", "sex": "M", "phone": "90 123 45 67"}
        )
        s.flush()
        patient_id = patient.id
    pids, done = [], []
    read, go = threading.Event(), threading.Event()

    def second_desk():
        with runtime.db.transaction() as s:
            pids.append(s.scalar(text("SELECT pg_backend_pid()")))
            patients.get_patient(s, patient_id)  # the desk shows him as he was
            read.set()
            go.wait(30)
            if second == "deactivated":
                patients.deactivate_patient(s, patient_id)
            else:
                patients.update_patient(s, patient_id, {"birth_date": "1990-05-12"})
        done.append(True)

    thread = threading.Thread(target=second_desk)
    thread.start()
    assert read.wait(30)
    with runtime.db.transaction() as first:
        patients.update_patient(first, patient_id, {"phone": "93 555 12 34"})
        first.flush()
        go.set()  # the second desk saves while the first has not committed yet
        wait_for(lambda: done or waits_for_a_lock(runtime, pids), what="the second desk")
    thread.join(30)
    assert done == [True]

    with runtime.db.session() as s:
        stored = s.get(Patient, patient_id)
        last = s.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.channel == "reference:patients")
            .order_by(OutboxEvent.seq.desc())
            .limit(1)
        ).one()
    assert stored.phone == "+998935551234"
    assert last.data["phone"] == "+998935551234", last.data
    if second == "deactivated":
        assert last.data["active"] is False and stored.active is False
    else:
        assert last.data["birth_date"] == "1990-05-12" and stored.birth_date == date(1990, 5, 12)


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite lets one writer in at a time
def test_the_audit_row_of_a_desk_says_only_what_that_desk_changed(runtime, client):
    """The first desk's new phone is not put down to the second desk, whose request came
    while the first was saving it."""
    from clinic.models import AuditEntry

    made = client.post("/api/v1/patients", json={"full_name": "Karimov Sherzod", "sex": "M"})
    patient_id = made.get_json()["id"]
    answers = []

    def second_desk():
        answers.append(
            client.patch(f"/api/v1/patients/{patient_id}", json={"birth_date": "1990-05-12"})
        )

    with runtime.db.transaction() as first:
        patients.update_patient(first, patient_id, {"phone": "93 555 12 34"})
        first.flush()
        thread = threading.Thread(target=second_desk)
        thread.start()

        def second_waits() -> bool:
            with runtime.db.session() as s:
                blocked = "SELECT count(*) FROM pg_locks WHERE NOT granted"
                return bool(answers) or s.scalar(text(blocked)) > 0

        wait_for(second_waits, what="the second desk")  # for the row the first one holds
    thread.join(30)
    assert answers[0].status_code == 200, answers[0].get_json()
    with runtime.db.session() as s:
        row = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "reference.update_patient")
        ).one()
    assert row.summary["changes"] == {"birth_date": {"before": None, "after": "1990-05-12"}}


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite lets one writer in at a time
def test_an_import_changing_a_price_keeps_the_vat_the_desk_changed_at_that_moment(runtime):
    """An administrator sets a service's VAT while an import (a file without that column)
    changes its price: both stay, the import's batch never writes back the VAT it read
    before the administrator's change was saved."""
    from clinic.models import Service
    from clinic.reference import price_list
    from tests.reference.test_price_import import csv_bytes, run_import

    entry = {"code": "US-01", "name_ru": "УЗИ", "name_uz": "UTT", "name_en": "Ultrasound"}
    with runtime.db.transaction() as s:
        service_id = price_list.create_service(s, {**entry, "price": 10_000_000}).id
    header = ["code", "name_ru", "name_uz", "name_en", "price"]
    data = csv_bytes([header, ["US-01", "УЗИ", "UTT", "Ultrasound", "120 000"]])
    results = []

    def run() -> None:
        try:
            results.append(run_import(runtime, "p.csv", data))
        except Exception as exc:  # said by the assertion below
            results.append(repr(exc))

    importer = threading.Thread(target=run)

    def import_waits() -> bool:
        with runtime.db.session() as s:
            return (
                bool(results)
                or s.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")) > 0
            )

    with runtime.db.transaction() as desk:
        price_list.update_service(desk, service_id, {"vat_percent": 12})
        desk.flush()
        importer.start()
        wait_for(import_waits, what="the import")
    importer.join(30)
    assert results and isinstance(results[0], dict), results
    assert results[0]["updated"] == 1, results
    with runtime.db.session() as s:
        stored = s.get(Service, service_id)
        assert (stored.vat_percent, stored.price) == (12, 12_000_000)
