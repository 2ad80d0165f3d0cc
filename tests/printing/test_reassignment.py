"""A printer changed while its jobs wait: a target given to another printer takes the tickets
not printed yet there, made for that one (a failed one retried goes there too); a printer
removed or switched off while a job goes out leaves that job printed or the desk's PDF."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import text, update

from clinic.base import utcnow
from clinic.printing import documents
from clinic.printing import jobs as print_jobs
from clinic.printing import printers as registry
from clinic.printing import spooler, thermal
from clinic.printing.models import JobKind, JobState, Printer, PrintJob
from clinic.printing.spooler import MAX_PAUSE
from clinic.printing.templates import COPY_MARK
from tests.printing.conftest import collect, drain, job, quick
from tests.printing.printer_server import FakePrinter
from tests.printing.test_printing import _issue, _jobs, _printer, _queue
from tests.races import wait_for, waits_for_a_lock


def test_tickets_waiting_for_an_away_printer_follow_their_queue_to_its_new_printer(
    client, runtime, fake_printer, clinic_profile
):
    queue_id = _queue(runtime)
    away = _printer(client, fake_printer, targets=[f"queue:{queue_id}", "receipts"])
    fake_printer.down()
    tickets = [_issue(client, queue_id) for _ in range(3)]
    collect(runtime)
    assert drain(runtime, away["id"])["retry_in"] > 0  # refused: the first one waits
    first = min(j["id"] for j in _jobs(client, queue_id))
    with runtime.db.transaction() as s:  # it had failed before the desk moved
        s.execute(update(PrintJob).where(PrintJob.id == first).values(state=JobState.FAILED))

    # The registrar's desk now has the 58 mm printer next to it.
    desk = FakePrinter()
    try:
        body = {"name": "Ресепшн 2", "host": "127.0.0.1", "port": desk.port, "paper_mm": 58}
        moved = client.post("/api/v1/printing/printers", json={**body, "targets": []})
        assert moved.status_code == 201
        new = moved.get_json()
        changed = client.patch(
            f"/api/v1/printing/printers/{new['id']}", json={"targets": [f"queue:{queue_id}"]}
        )
        assert changed.status_code == 200, changed.get_json()
        states = {j["id"]: (j["state"], j["printer"]) for j in _jobs(client, queue_id)}
        assert states == {
            first: (JobState.FAILED, "Регистратура"),
            first + 1: (JobState.QUEUED, "Ресепшн 2"),
            first + 2: (JobState.QUEUED, "Ресепшн 2"),
        }
        assert drain(runtime, new["id"]) == {"printed": 2, "retry_in": None}
        retried = client.post(f"/api/v1/printing/jobs/{first}/retry")
        assert retried.status_code == 202 and retried.get_json()["printer"] == "Ресепшн 2"
        assert drain(runtime, new["id"]) == {"printed": 1, "retry_in": None}
        printed = desk.jobs()
        codes = [t["code"].encode("cp866") for t in tickets]
        assert [codes[1] in printed[0], codes[2] in printed[1], codes[0] in printed[2]] == [
            True
        ] * 3
        for sent, job_id in zip(printed, (first + 1, first + 2, retried.get_json()["id"])):
            assert sent == job(runtime, job_id).payload
            # Made for its 58 mm paper: a rule of 32 dashes, not of 48.
            assert b"-" * 32 + b"\n" in sent and b"-" * 33 not in sent
    finally:
        desk.down()
    assert fake_printer.jobs() == []


@pytest.mark.parametrize("change", ["removed", "switched off", "made PDF only"])
@pytest.mark.parametrize("reaches_paper", [True, False])
def test_a_job_going_out_while_its_printer_is_changed_says_whether_it_reached_the_paper(
    client, runtime, fake_printer, clinic_profile, change, reaches_paper
):
    """The administrator removes the printer, switches it off or makes it "PDF only" while a
    ticket is being sent to it: a ticket that reached the paper shows printed (its PDF
    printed again would be a second one, unmarked), one that did not stays the desk's PDF
    rather than waiting for a printer that will never take it."""
    queue_id = _queue(runtime)
    printer = _printer(client, fake_printer, targets=[f"queue:{queue_id}"])
    if not reaches_paper:
        fake_printer.down()
    _issue(client, queue_id)
    collect(runtime)
    [waiting] = _jobs(client, queue_id)

    def send(*args, **kwargs):
        with runtime.db.transaction() as s:
            if change == "removed":
                registry.remove_printer(s, printer["id"])
            else:
                off = {"active": False} if change == "switched off" else {"kind": "pdf"}
                registry.update_printer(s, printer["id"], off)
        thermal.send(*args, **kwargs)

    spooler.drain(runtime.db.sessionmaker, printer["id"], quick(runtime.settings), send=send)
    [listed] = _jobs(client, queue_id)
    expected = JobState.PRINTED if reaches_paper else JobState.PDF_ONLY
    assert listed["state"] == expected, listed
    assert len(fake_printer.jobs()) == (1 if reaches_paper else 0)


@pytest.mark.parametrize("backend", ["postgresql"])  # SQLite lets one writer in at a time
def test_a_ticket_a_worker_is_taking_as_its_queue_moves_stays_with_that_worker(
    client, runtime, fake_printer
):
    """The printing worker takes the head ticket (it holds its printer's row and marks the
    ticket sending) at the moment the administrator gives the queue to another printer: the
    move waits for it, and leaves that ticket to the printer it is being sent to, so it does
    not come out of the new printer as well."""
    queue_id = _queue(runtime)
    old = _printer(client, fake_printer, targets=[f"queue:{queue_id}"])
    new = client.post("/api/v1/printing/printers", json={"name": "B", "kind": "pdf"}).get_json()
    _issue(client, queue_id)
    _issue(client, queue_id)
    collect(runtime)
    head, behind = sorted(j["id"] for j in _jobs(client, queue_id))
    pids, answers = [], []

    def administrator():
        with runtime.db.transaction() as s:
            pids.append(s.scalar(text("SELECT pg_backend_pid()")))
            registry.update_printer(s, new["id"], {"targets": [f"queue:{queue_id}"]})
        answers.append("moved")

    with runtime.db.transaction() as worker:  # as spooler.drain takes its head job
        assert spooler._lease(worker, old["id"], "worker-1", 30)
        taken = spooler.head_job(worker, old["id"])
        assert taken.id == head
        taken.state = JobState.SENDING
        worker.flush()
        moving = threading.Thread(target=administrator)
        moving.start()
        wait_for(lambda: answers or waits_for_a_lock(runtime, pids), what="the administrator")
    moving.join(30)
    assert answers == ["moved"]
    assert [(job(runtime, i).printer_id, job(runtime, i).state) for i in (head, behind)] == [
        (old["id"], JobState.SENDING),
        (new["id"], JobState.PDF_ONLY),
    ]


def test_a_cashiers_waiting_receipts_follow_her_desk_and_other_desks_jobs_stay(client, runtime):
    made = {}
    for name, target in (("Касса 1", "cashier:kassir1"), ("Касса 2", "cashier:kassir2")):
        body = {"name": name, "host": "127.0.0.1", "port": 9, "targets": [target]}
        made[name] = client.post("/api/v1/printing/printers", json=body).get_json()
    document = documents.test_page("Касса", "02.12.2026 10:00", ("ru", "uz"))
    with runtime.db.transaction() as s:
        waiting = {
            cashier: print_jobs.create_job(
                s,
                kind=JobKind.RECEIPT,
                scope=print_jobs.CASHIER_SCOPE,
                document=document,
                printer=registry.get_printer(s, made[name]["id"]),
                requested_by=cashier,
            ).id
            for cashier, name in (("kassir1", "Касса 1"), ("kassir2", "Касса 2"))
        }
    # Kassir 1 sits at the second desk today: its printer prints for her too.
    changed = client.patch(
        f"/api/v1/printing/printers/{made['Касса 2']['id']}",
        json={"targets": ["cashier:kassir1", "cashier:kassir2"]},
    )
    assert changed.status_code == 200
    assert {c: job(runtime, i).printer_id for c, i in waiting.items()} == {
        "kassir1": made["Касса 2"]["id"],
        "kassir2": made["Касса 2"]["id"],
    }
    # Given back to the first desk's printer: her receipt goes back with it, not kassir2's.
    client.patch(
        f"/api/v1/printing/printers/{made['Касса 1']['id']}", json={"targets": ["cashier:kassir1"]}
    )
    assert {c: job(runtime, i).printer_id for c, i in waiting.items()} == {
        "kassir1": made["Касса 1"]["id"],
        "kassir2": made["Касса 2"]["id"],
    }


def test_a_printers_corrected_address_prints_its_waiting_tickets_at_once(
    client, runtime, fake_printer, clinic_profile
):
    """Registered at a wrong port, the printer refused; its ticket waits out a pause of up to
    30 s between attempts. The administrator corrects the port: the ticket goes now."""
    queue_id = _queue(runtime)
    wrong = FakePrinter()
    wrong.down()
    printer = _printer(client, wrong, targets=[f"queue:{queue_id}"])
    _issue(client, queue_id)
    collect(runtime)
    assert drain(runtime, printer["id"])["retry_in"] > 0
    with runtime.db.transaction() as s:  # well into the longest pause
        s.execute(update(PrintJob).values(next_attempt_at=utcnow() + timedelta(seconds=MAX_PAUSE)))
    assert drain(runtime, printer["id"]) == {"printed": 0, "retry_in": None}
    fixed = client.patch(
        f"/api/v1/printing/printers/{printer['id']}", json={"port": fake_printer.port}
    )
    assert fixed.status_code == 200
    assert drain(runtime, printer["id"]) == {"printed": 1, "retry_in": None}
    assert len(fake_printer.jobs()) == 1


def test_a_corrected_address_that_still_refuses_gets_a_retry_period_of_its_own(
    client, runtime, fake_printer, clinic_profile
):
    """The printer has refused for longer than the retry period when the administrator
    corrects its port, to another wrong one: its ticket is tried there and waits, rather
    than failing at the new address's first refusal."""
    queue_id = _queue(runtime)
    wrong, still_wrong = FakePrinter(), FakePrinter()
    wrong.down()
    still_wrong.down()
    printer = _printer(client, wrong, targets=[f"queue:{queue_id}"])
    _issue(client, queue_id)
    collect(runtime)
    assert drain(runtime, printer["id"])["retry_in"] > 0
    long_ago = utcnow() - timedelta(seconds=runtime.settings.print_retry_seconds + 60)
    with runtime.db.transaction() as s:  # refusing since well before the period ended
        s.execute(update(Printer).values(failing_since=long_ago))
    fixed = client.patch(
        f"/api/v1/printing/printers/{printer['id']}", json={"port": still_wrong.port}
    )
    assert fixed.status_code == 200
    assert drain(runtime, printer["id"])["retry_in"] > 0
    [waiting] = _jobs(client, queue_id)
    assert waiting["state"] == JobState.QUEUED, waiting


@pytest.mark.parametrize("away", ["refused", "dropped mid-job"])
def test_a_ticket_being_sent_as_its_queue_moves_follows_it_when_it_did_not_print(
    client, runtime, fake_printer, clinic_profile, away
):
    """The administrator gives the queue to the desk's second printer while the worker is
    trying the ticket on the first one, which is away: the ticket stays with the attempt
    under way, and once that attempt has failed it goes to the queue's new printer (a copy
    when the first one may have printed some of it), instead of waiting on a printer that no
    longer prints for its queue until it fails."""
    queue_id = _queue(runtime)
    first = _printer(client, fake_printer, targets=[f"queue:{queue_id}"])
    if away == "refused":
        fake_printer.down()
    else:
        fake_printer.mode = "cut"
    ticket = _issue(client, queue_id)
    collect(runtime)
    desk = FakePrinter()
    try:
        body = {"name": "Ресепшн 2", "host": "127.0.0.1", "port": desk.port, "paper_mm": 58}
        second = client.post("/api/v1/printing/printers", json=body).get_json()

        def send(*args, **kwargs):
            changed = client.patch(
                f"/api/v1/printing/printers/{second['id']}",
                json={"targets": [f"queue:{queue_id}"]},
            )
            assert changed.status_code == 200, changed.get_json()
            thermal.send(*args, **kwargs)

        spooler.drain(runtime.db.sessionmaker, first["id"], quick(runtime.settings), send=send)
        [listed] = _jobs(client, queue_id)
        assert (listed["state"], listed["printer"]) == (JobState.QUEUED, "Ресепшн 2"), listed
        assert drain(runtime, second["id"]) == {"printed": 1, "retry_in": None}
        [printed] = desk.jobs()
        assert ticket["code"].encode("cp866") in printed
        assert b"-" * 32 + b"\n" in printed and b"-" * 33 not in printed  # made for 58 mm
        assert (thermal.printable(COPY_MARK).encode("cp866") in printed) is (away != "refused")
    finally:
        desk.down()
    assert fake_printer.jobs() == []
