"""One patient in two queues at once (the laboratory and the cardiologist): while one doctor
has him, the other does not call him in vain."""

from __future__ import annotations

from datetime import timedelta

from clinic.queue import calls
from clinic.queue import tickets as q
from tests.queue.test_services import MORNING, TZ, issue, make_queue, reference_patient


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
