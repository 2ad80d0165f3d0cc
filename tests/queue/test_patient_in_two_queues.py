"""One patient in two queues at once (the laboratory and the cardiologist): while one doctor
has him, the other does not call him in vain."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import text

from clinic.errors import Conflict
from clinic.queue import calls
from clinic.queue import tickets as q
from tests.queue.test_services import MORNING, TZ, issue, make_queue, reference_patient
from tests.races import wait_for, waits_for_a_lock


def _patient(runtime) -> int:
    with runtime.db.transaction() as s:
        return reference_patient(s).id


def test_call_next_passes_over_a_patient_another_doctor_has_and_calls_him_once_free(runtime):
    lab = make_queue(runtime, code="lab", prefix="L")
    cardiology = make_queue(runtime, code="cardio", prefix="C")
    patient = _patient(runtime)
    in_lab = issue(runtime, lab, patient_id=patient).id
    his = issue(runtime, cardiology, patient_id=patient).id
    after_him = issue(runtime, cardiology, now=MORNING + timedelta(minutes=1)).id
    with runtime.db.transaction() as s:
        assert calls.call_next(s, lab, tz=TZ, now=MORNING).id == in_lab
    # The cardiologist calls while he is called to the laboratory: the next one comes.
    with runtime.db.transaction() as s:
        assert calls.call_next(s, cardiology, tz=TZ, now=MORNING).id == after_him
    with runtime.db.transaction() as s:
        calls.finish_service(s, q.get_ticket(s, after_him), tz=TZ, now=MORNING)
        calls.start_service(s, q.get_ticket(s, in_lab), now=MORNING)
    # With the laboratory now: still not called, and nobody else waits.
    with runtime.db.transaction() as s:
        assert calls.call_next(s, cardiology, tz=TZ, now=MORNING) is None
        assert q.get_ticket(s, his).status == "waiting"
    with runtime.db.transaction() as s:
        calls.finish_service(s, q.get_ticket(s, in_lab), tz=TZ, now=MORNING)
    # Done there, he keeps his place in cardiology and is called.
    with runtime.db.transaction() as s:
        assert calls.call_next(s, cardiology, tz=TZ, now=MORNING).id == his


def test_tickets_without_a_patient_are_called_as_ever(runtime):
    lab = make_queue(runtime, code="lab", prefix="L")
    cardiology = make_queue(runtime, code="cardio", prefix="C")
    issue(runtime, lab)
    walk_in = issue(runtime, cardiology).id
    with runtime.db.transaction() as s:
        calls.call_next(s, lab, tz=TZ, now=MORNING)
        assert calls.call_next(s, cardiology, tz=TZ, now=MORNING).id == walk_in


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite lets one writer in at a time
def test_two_doctors_calling_him_at_the_same_instant_do_not_both_call_him(runtime):
    """The laboratory calls him and has not committed yet when the cardiologist presses
    "call next": the cardiologist waits for the laboratory's call, finds him taken and calls
    the next one."""
    lab = make_queue(runtime, code="lab", prefix="L")
    cardiology = make_queue(runtime, code="cardio", prefix="C")
    patient = _patient(runtime)
    issue(runtime, lab, patient_id=patient)
    issue(runtime, cardiology, patient_id=patient)
    after_him = issue(runtime, cardiology, now=MORNING + timedelta(minutes=1)).id
    pids, answers = [], []

    def cardiologist():
        try:
            with runtime.db.transaction() as s:
                pids.append(s.scalar(text("SELECT pg_backend_pid()")))
                answers.append(calls.call_next(s, cardiology, tz=TZ, now=MORNING).id)
        except Exception as exc:  # noqa: BLE001 - asserted below
            answers.append(exc)

    thread = threading.Thread(target=cardiologist)
    with runtime.db.transaction() as s:
        calls.call_next(s, lab, tz=TZ, now=MORNING)
        thread.start()
        wait_for(lambda: answers or waits_for_a_lock(runtime, pids), what="the cardiologist")
    thread.join(30)
    assert answers == [after_him]


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite lets one writer in at a time
def test_a_ticket_issued_for_him_while_a_doctor_calls_him_does_not_wait_for_the_call(runtime):
    lab = make_queue(runtime, code="lab", prefix="L")
    xray = make_queue(runtime, code="xray", prefix="X")
    patient = _patient(runtime)
    issue(runtime, lab, patient_id=patient)
    pids, answers = [], []

    def desk():
        try:
            with runtime.db.transaction() as s:
                pids.append(s.scalar(text("SELECT pg_backend_pid()")))
                answers.append(q.issue_ticket(s, xray, tz=TZ, now=MORNING, patient_id=patient).id)
        except Exception as exc:  # noqa: BLE001 - asserted below
            answers.append(exc)

    thread = threading.Thread(target=desk)
    with runtime.db.transaction() as s:
        calls.call_next(s, lab, tz=TZ, now=MORNING)
        thread.start()
        wait_for(lambda: answers or waits_for_a_lock(runtime, pids), what="the desk")
        issued_during_the_call = list(answers)
    thread.join(30)
    assert len(issued_during_the_call) == 1 and isinstance(issued_during_the_call[0], int)


def test_a_postponed_patient_gone_to_another_doctor_is_not_called_back_until_free(runtime):
    """Postponed "come back after the X-ray": while the X-ray has him, calling him back is
    refused naming why (409 patient_elsewhere), and succeeds once the X-ray is done."""
    therapy = make_queue(runtime, code="therapy", prefix="T")
    xray = make_queue(runtime, code="xray", prefix="X")
    patient = _patient(runtime)
    his = issue(runtime, therapy, patient_id=patient).id
    at_xray = issue(runtime, xray, patient_id=patient).id
    with runtime.db.transaction() as s:
        calls.postpone(s, calls.call_next(s, therapy, tz=TZ, now=MORNING), now=MORNING)
        calls.call_next(s, xray, tz=TZ, now=MORNING)
    with runtime.db.transaction() as s:
        with pytest.raises(Conflict) as refused:
            calls.call_back(s, q.get_ticket(s, his), now=MORNING)
        assert refused.value.code == "patient_elsewhere"
    with runtime.db.transaction() as s:
        calls.finish_service(s, q.get_ticket(s, at_xray), tz=TZ, now=MORNING)
    with runtime.db.transaction() as s:
        assert calls.call_back(s, q.get_ticket(s, his), now=MORNING).status == "called"


def test_the_doctors_screen_says_why_he_is_not_called_back_in_its_language(client, runtime):
    queue_id = make_queue(runtime, code="therapy", prefix="T")
    page = client.get(f"/queue/doctor?queue={queue_id}&lang=uz", headers={"Accept": "text/html"})
    html = page.get_data(as_text=True)
    config = json.loads(html.split('id="doctor-config">', 1)[1].split("</script>", 1)[0])
    assert config["texts"]["refusals"]["patient_elsewhere"].startswith("Bu bemor hozir boshqa")


def test_the_doctors_screen_says_when_those_waiting_may_not_be_called_now(client, runtime):
    """ "Call next" answers 204 while the only ones waiting are with another doctor (or have
    not paid in a pay-first queue): the screen says so, not that nobody waits."""
    queue_id = make_queue(runtime, code="therapy", prefix="T")
    page = client.get(f"/queue/doctor?queue={queue_id}&lang=ru", headers={"Accept": "text/html"})
    html = page.get_data(as_text=True)
    config = json.loads(html.split('id="doctor-config">', 1)[1].split("</script>", 1)[0])
    assert config["texts"]["nobodyFree"].startswith("Сейчас вызвать некого")
    assert config["texts"]["nobodyFree"] != config["texts"]["nobody"]
