"""A printer changed while the printing worker makes a job for it leaves no job waiting for a
printer that takes no more; a ticket printed from the browser while its job waits comes out
of the thermal printer as a copy; a printer switched on again starts afresh."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, text, update

from clinic.printing import intake
from clinic.printing import printers as registry
from clinic.printing.models import JobState, Printer, PrinterState, PrintJob
from clinic.printing.templates import COPY_MARK
from tasks import printing as printing_tasks
from tests.printing.conftest import collect, drain, job, quick
from tests.printing.printer_server import FakePrinter
from tests.printing.test_printing import _issue, _jobs, _printer, _queue
from tests.races import wait_for, waits_for_a_lock

MARK = COPY_MARK.encode("cp866")
HTML = {"Accept": "text/html"}
CHANGES = ["switched off", "made PDF only", "removed"]


def _change(session, printer_id: int, change: str) -> None:
    """What the administrator does to the printer on the printers page."""
    if change == "removed":
        registry.remove_printer(session, printer_id)
    else:
        off = {"active": False} if change == "switched off" else {"kind": "pdf"}
        registry.update_printer(session, printer_id, off)


def _only_job(runtime) -> PrintJob:
    with runtime.db.session() as s:
        [made] = s.scalars(select(PrintJob)).all()
        return made


def _fail(client, runtime, fake, queue_id: int, printer_id: int) -> tuple[dict, dict]:
    """A ticket whose printer stays away until its job has failed."""
    fake.down()
    ticket = _issue(client, queue_id)
    collect(runtime)

    def given_up():
        drain(runtime, printer_id)
        return _jobs(client, queue_id)[0]["state"] == JobState.FAILED

    wait_for(given_up, what="the job failed")
    return ticket, _jobs(client, queue_id)[0]


# -- a printer changed while its job is being made --------------------------------------------


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite lets one writer in at a time
@pytest.mark.parametrize("change", CHANGES)
def test_a_printer_changed_while_the_worker_makes_its_job_waits_and_the_job_is_a_pdf(
    client, runtime, fake_printer, clinic_profile, change
):
    """The printing worker has made the ticket's job for an active printer, not committed yet,
    when the administrator switches the printer off, makes it "PDF only" or removes it: the
    change waits for the job, then makes it the desk's PDF, rather than leaving it queued for
    a printer that prints no more (on a removed printer, with no printer at all)."""
    queue_id = _queue(runtime)
    printer = _printer(client, fake_printer, targets=[f"queue:{queue_id}"])
    _issue(client, queue_id)
    pids, answers = [], []

    def administrator():
        with runtime.db.transaction() as s:
            pids.append(s.scalar(text("SELECT pg_backend_pid()")))
            _change(s, printer["id"], change)
        answers.append("changed")

    with runtime.db.transaction() as worker:
        assert intake.collect(worker, runtime.settings) == 1
        changing = threading.Thread(target=administrator)
        changing.start()
        wait_for(lambda: answers or waits_for_a_lock(runtime, pids), what="the administrator")
        assert answers == [], "the change did not wait for the job being made"
    changing.join(30)
    assert answers == ["changed"]
    made = _only_job(runtime)
    assert made.state == JobState.PDF_ONLY
    assert made.printer_id == (None if change == "removed" else printer["id"])
    assert drain(runtime, printer["id"]) == {"printed": 0, "retry_in": None}
    assert fake_printer.jobs() == []


@pytest.mark.parametrize("backend", ["postgresql"])
@pytest.mark.parametrize("change", CHANGES)
def test_a_job_made_while_its_printer_is_being_changed_waits_and_is_a_pdf(
    client, runtime, fake_printer, clinic_profile, change
):
    """The administrator's change is not committed yet when the worker makes the ticket's job:
    the job waits for it and is made for the printer as it has become, a PDF."""
    queue_id = _queue(runtime)
    printer = _printer(client, fake_printer, targets=[f"queue:{queue_id}"])
    _issue(client, queue_id)
    pids, answers = [], []

    def worker():
        with runtime.db.transaction() as s:
            pids.append(s.scalar(text("SELECT pg_backend_pid()")))
            answers.append(intake.collect(s, runtime.settings))

    with runtime.db.transaction() as administrator:
        _change(administrator, printer["id"], change)
        collecting = threading.Thread(target=worker)
        collecting.start()
        wait_for(lambda: answers or waits_for_a_lock(runtime, pids), what="the worker")
        assert answers == [], "the job was made without waiting for the printer's change"
    collecting.join(30)
    assert answers == [1]
    made = _only_job(runtime)
    assert made.state == JobState.PDF_ONLY
    assert made.printer_id == (None if change == "removed" else printer["id"])


@pytest.mark.parametrize("change", ["switched off", "removed"])
def test_the_sweeper_makes_a_pdf_of_a_job_left_waiting_for_a_printer_that_takes_no_more(
    client, runtime, fake_printer, clinic_profile, change
):
    """Should a job ever be left queued for a printer switched off, or with no printer, the
    sweeper leaves it to its desk as a PDF; a job waiting for a printer that prints stays."""
    queue_id, other_queue = _queue(runtime), _queue(runtime)
    printer = _printer(client, fake_printer, targets=[f"queue:{queue_id}"])
    away = FakePrinter()
    away.down()
    body = {"name": "Кабинет 5", "host": "127.0.0.1", "port": away.port}
    waiting = client.post(
        "/api/v1/printing/printers", json={**body, "targets": [f"queue:{other_queue}"]}
    )
    assert waiting.status_code == 201
    _issue(client, queue_id)
    _issue(client, other_queue)
    collect(runtime)
    assert drain(runtime, waiting.get_json()["id"])["retry_in"] > 0  # waits out a pause
    with runtime.db.transaction() as s:  # as if the registry had not seen the job
        if change == "removed":
            s.execute(
                update(PrintJob).where(PrintJob.printer_id == printer["id"]).values(printer_id=None)
            )
        else:
            s.execute(update(Printer).where(Printer.id == printer["id"]).values(active=False))
    assert printing_tasks.sweep() == []
    [listed] = _jobs(client, queue_id)
    assert listed["state"] == JobState.PDF_ONLY
    assert [j["state"] for j in _jobs(client, other_queue)] == [JobState.QUEUED]
    assert printing_tasks.sweep() == [] and _jobs(client, queue_id) == [listed]


# -- a ticket printed from the browser while its job waits ------------------------------------


def test_print_again_at_the_desk_while_the_job_waits_makes_its_paper_a_copy(
    client, runtime, fake_printer, clinic_profile
):
    """The printer is away; the registrar prints the ticket from the browser ("Print again"):
    once the printer is back, the ticket it prints is marked as a copy."""
    queue_id = _queue(runtime)
    printer = _printer(client, fake_printer, targets=[f"queue:{queue_id}"])
    fake_printer.down()
    ticket = _issue(client, queue_id)
    collect(runtime)
    assert drain(runtime, printer["id"])["retry_in"] > 0
    page = client.get(f"/ticket/{ticket['id']}/print", headers=HTML)
    assert page.status_code == 200 and ticket["code"] in page.get_data(as_text=True)
    fake_printer.up()
    with runtime.db.transaction() as s:  # its pause is over
        s.execute(update(PrintJob).values(next_attempt_at=None))
    assert drain(runtime, printer["id"]) == {"printed": 1, "retry_in": None}
    [paper] = fake_printer.jobs()
    assert ticket["code"].encode("cp866") in paper and MARK in paper
    [listed] = _jobs(client, queue_id)
    assert listed["copy"] is True and listed["state"] == JobState.PRINTED


def test_print_again_at_the_desk_after_the_job_failed_makes_its_retry_a_copy(
    client, runtime, fake_printer, clinic_profile
):
    queue_id = _queue(runtime)
    printer = _printer(client, fake_printer, targets=[f"queue:{queue_id}"])
    ticket, failed = _fail(client, runtime, fake_printer, queue_id, printer["id"])
    assert client.get(f"/ticket/{ticket['id']}/print", headers=HTML).status_code == 200
    fake_printer.up()
    retried = client.post(f"/api/v1/printing/jobs/{failed['id']}/retry")
    assert retried.status_code == 202 and retried.get_json()["copy"] is True
    assert drain(runtime, printer["id"]) == {"printed": 1, "retry_in": None}
    [paper] = fake_printer.jobs()
    assert ticket["code"].encode("cp866") in paper and MARK in paper


def test_the_kiosks_printed_ticket_makes_its_waiting_job_a_copy(
    client_as, client, runtime, fake_printer, clinic_profile
):
    queue_id = _queue(runtime)
    printer = _printer(client, fake_printer, targets=[f"queue:{queue_id}"])
    fake_printer.down()
    kiosk = client_as("kiosk")
    issued = kiosk.post(f"/api/v1/kiosk/queues/{queue_id}/tickets", json={})
    assert issued.status_code == 201, issued.get_json()
    ticket = issued.get_json()
    collect(runtime)
    assert kiosk.get(f"/kiosk/ticket/{ticket['id']}/print", headers=HTML).status_code == 200
    [listed] = _jobs(client, queue_id)
    assert job(runtime, listed["id"]).pdf_opened_at is not None
    fake_printer.up()
    assert drain(runtime, printer["id"]) == {"printed": 1, "retry_in": None}
    assert MARK in fake_printer.jobs()[0]


def test_the_printable_ticket_leaves_its_printed_job_and_other_tickets_alone(
    client, runtime, fake_printer, clinic_profile
):
    queue_id = _queue(runtime)
    printer = _printer(client, fake_printer, targets=[f"queue:{queue_id}"])
    first, second = _issue(client, queue_id), _issue(client, queue_id)
    collect(runtime)
    assert drain(runtime, printer["id"]) == {"printed": 2, "retry_in": None}
    fake_printer.down()
    third = _issue(client, queue_id)
    collect(runtime)
    assert client.get(f"/ticket/{first['id']}/print", headers=HTML).status_code == 200
    opened = {j["subject_id"]: job(runtime, j["id"]).pdf_opened_at for j in _jobs(client, queue_id)}
    assert opened == {first["id"]: None, second["id"]: None, third["id"]: None}


# -- a printer switched on again -------------------------------------------------------------


@pytest.mark.parametrize(
    "off, on", [({"active": False}, {"active": True}), ({"kind": "pdf"}, {"kind": "network"})]
)
def test_a_printer_switched_on_again_starts_afresh(
    client, runtime, fake_printer, clinic_profile, off, on
):
    """It failed, was switched off (or made "PDF only") and is switched on again: it shows
    ready, its tickets are not said to wait for a failing printer, and its first ticket has a
    retry period of its own (a printer still starting that refuses once is tried again), not
    the old failure's, long over."""
    queue_id = _queue(runtime)
    printer = _printer(client, fake_printer, targets=[f"queue:{queue_id}"])
    _fail(client, runtime, fake_printer, queue_id, printer["id"])
    time.sleep(quick(runtime.settings).print_retry_seconds + 0.5)  # the period is long over
    url = f"/api/v1/printing/printers/{printer['id']}"
    assert client.patch(url, json=off).status_code == 200
    switched = client.patch(url, json=on)
    assert switched.status_code == 200
    shown = switched.get_json()
    assert (shown["state"], shown["failing_since"], shown["last_error"]) == (
        PrinterState.READY,
        None,
        "",
    )
    ticket = _issue(client, queue_id)
    assert ticket["printer_failing"] is False
    collect(runtime)
    assert drain(runtime, printer["id"])["retry_in"] > 0  # still starting: refused once
    newest = _jobs(client, queue_id)[0]
    assert newest["subject_id"] == ticket["id"]
    assert (newest["state"], newest["attempts"]) == (JobState.QUEUED, 1)
    fake_printer.up()
    with runtime.db.transaction() as s:
        s.execute(update(PrintJob).where(PrintJob.id == newest["id"]).values(next_attempt_at=None))
    assert drain(runtime, printer["id"]) == {"printed": 1, "retry_in": None}
