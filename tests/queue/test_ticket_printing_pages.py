"""One paper a ticket: the desk and the kiosk are told which queues' tickets their thermal
printer prints (their scripts then open no browser print of them), by the rule the printing
module makes each ticket's print job by."""

from __future__ import annotations

import json
from datetime import time

import pytest

from clinic.printing import intake
from clinic.printing import printers as registry
from clinic.printing.models import JobState, Printer, PrinterState, PrintJob
from clinic.queue import admin as queue_admin
from clinic.queue import calls
from clinic.queue import tickets as q
from clinic.reference import directory as reference
from tests.conftest import ONE_BACKEND

# Server-rendered pages, not database rules: they run on one backend (see tests/conftest.py).
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
NAMES = ("printed", "plain", "off", "pdf")


@pytest.fixture
def queues(runtime):
    """Four queues: one with its own thermal printer, one with none, one whose printer is
    switched off and one given a "PDF only" printer."""
    with runtime.db.transaction() as s:
        department = reference.create_department(
            s,
            {
                "code": "card",
                "ticket_prefix": "K",
                "name_ru": "Кардиология",
                "name_uz": "Kardiologiya",
                "name_en": "Cardiology",
            },
        )
        made = {
            name: queue_admin.create_queue(
                s,
                {
                    "code": name,
                    "department_id": department.id,
                    "prefix": "ABCD"[number],
                    "closes_at": time(23, 59, 59, 999999),
                },
            ).id
            for number, name in enumerate(NAMES)
        }
        for name, extra in (
            ("printed", {}),
            ("off", {"active": False}),
            ("pdf", {"kind": "pdf", "host": ""}),
        ):
            registry.create_printer(
                s,
                {"name": name, "host": "192.168.1.50", **extra, "targets": [f"queue:{made[name]}"]},
            )
    return made


def _config(client, path: str, config_id: str) -> dict:
    page = client.get(f"{path}?lang=en", headers=HTML).get_data(as_text=True)
    block = page.split(f'<script type="application/json" id="{config_id}">', 1)[1]
    return json.loads(block.split("</script>", 1)[0])


def _printed_on_paper(runtime, queues: dict) -> set[int]:
    """The queues whose ticket, issued now, has a print job going to a thermal printer."""
    with runtime.db.transaction() as s:
        issued = {q.issue_ticket(s, queue_id, tz=runtime.settings.tz).id for queue_id in queues}
    with runtime.db.transaction() as s:
        intake.collect(s, runtime.settings)
    with runtime.db.transaction() as s:
        made = s.query(PrintJob).filter(PrintJob.subject_id.in_(issued)).all()
        assert len(made) == len(queues)
        return {
            q.get_ticket(s, job.subject_id).queue_id for job in made if job.state == JobState.QUEUED
        }


def test_the_desk_and_the_kiosk_are_told_which_queues_print_on_their_own_printer(
    client, runtime, queues
):
    on_paper = _printed_on_paper(runtime, queues.values())
    assert on_paper == {queues["printed"]}
    for path, config_id in (("/queue/desk", "desk-config"), ("/kiosk", "kiosk-config")):
        config = _config(client, path, config_id)
        assert set(config["ticketsOnPaper"]) == on_paper, path
        assert config["printUrl"].endswith("/{id}/print")


def test_a_printer_for_every_ticket_takes_the_queues_without_their_own(client, runtime, queues):
    with runtime.db.transaction() as s:
        registry.create_printer(s, {"name": "Холл", "host": "192.168.1.51", "targets": ["tickets"]})
    on_paper = _printed_on_paper(runtime, queues.values())
    # A queue's own printer comes first: one switched off or PDF only leaves its tickets PDFs.
    assert on_paper == {queues["printed"], queues["plain"]}
    assert set(_config(client, "/queue/desk", "desk-config")["ticketsOnPaper"]) == on_paper
    assert set(_config(client, "/kiosk", "kiosk-config")["ticketsOnPaper"]) == on_paper


def test_the_issue_answer_says_whether_the_queues_printer_prints_the_ticket(
    client_as, runtime, queues
):
    """A page loaded before a printer was given or taken away learns it from the answer."""
    registrar = client_as("registrar")
    said = {}
    for name, queue_id in queues.items():
        answer = registrar.post(f"/api/v1/queues/{queue_id}/tickets", json={"source": "kiosk"})
        assert answer.status_code == 201, answer.get_json()
        said[queue_id] = answer.get_json()["on_paper"]
    with runtime.db.transaction() as s:
        intake.collect(s, runtime.settings)
        jobs = s.query(PrintJob).all()
        printed = {q.get_ticket(s, j.subject_id).queue_id: j.state == JobState.QUEUED for j in jobs}
    assert said == printed == {queue_id: name == "printed" for name, queue_id in queues.items()}


def test_the_issue_answer_says_when_the_queues_printer_is_failing(client_as, runtime, queues):
    """Out of paper or unreachable, the printer may never print the ticket: the kiosk asks the
    patient to keep his number in mind. A printer that prints no paper is not failing."""
    with runtime.db.transaction() as s:
        for printer in s.query(Printer).all():
            printer.state = PrinterState.FAILING
    kiosk = client_as("kiosk")
    said = {}
    for name, queue_id in queues.items():
        answer = kiosk.post(f"/api/v1/kiosk/queues/{queue_id}/tickets")
        assert answer.status_code == 201, answer.get_json()
        said[name] = (answer.get_json()["on_paper"], answer.get_json()["printer_failing"])
    assert said == {
        "printed": (True, True),
        "plain": (False, False),
        "off": (False, False),
        "pdf": (False, False),
    }
    desk = client_as("registrar").post(f"/api/v1/queues/{queues['printed']}/tickets", json={})
    assert desk.get_json()["printer_failing"] is True

    with runtime.db.transaction() as s:
        for printer in s.query(Printer).all():
            printer.state = PrinterState.READY
    again = kiosk.post(f"/api/v1/kiosk/queues/{queues['printed']}/tickets").get_json()
    assert (again["on_paper"], again["printer_failing"]) == (True, False)


def test_the_kiosk_page_has_the_failing_printers_words_in_its_language(client_as, queues):
    page = client_as("kiosk").get("/kiosk?lang=ru", headers=HTML).get_data(as_text=True)
    note = page.split('id="kiosk-printer"', 1)[1].split("</p>", 1)[0]
    assert "hidden" in note and "Принтер сейчас не работает" in note


def test_the_kiosk_shows_the_code_of_its_own_waiting_ticket_and_no_other(
    client_as, runtime, queues
):
    """The code the paper would carry, for the screen when the printer fails: of a ticket
    this kiosk issued while it waits, as its printed ticket; any other is a 404."""
    kiosk = client_as("kiosk")
    config = _config(kiosk, "/kiosk", "kiosk-config")
    mine = kiosk.post(f"/api/v1/kiosk/queues/{queues['printed']}/tickets").get_json()
    code = kiosk.get(config["qrUrl"].replace("{id}", str(mine["id"])))
    assert code.status_code == 200 and code.mimetype == "image/svg+xml"
    assert code.headers["Cache-Control"] == "no-store"
    with runtime.db.session() as s:
        token = q.get_ticket(s, mine["id"]).token
    assert f"/t/{token}" in code.get_data(as_text=True)

    desk = client_as("registrar").post(f"/api/v1/queues/{queues['printed']}/tickets", json={})
    assert kiosk.get(f"/kiosk/ticket/{desk.get_json()['id']}/code.svg").status_code == 404
    assert kiosk.get("/kiosk/ticket/999999/code.svg").status_code == 404
    with runtime.db.transaction() as s:
        calls.cancel(s, q.get_ticket(s, mine["id"]))
    assert kiosk.get(f"/kiosk/ticket/{mine['id']}/code.svg").status_code == 404
    assert client_as("display").get(f"/kiosk/ticket/{mine['id']}/code.svg").status_code == 403


def test_the_kiosk_shows_an_earlier_patients_code_and_paper_no_more_once_his_turn_at_it_is_over(
    client_as, runtime, queues
):
    """A minute after issuing, past the time the kiosk shows a ticket: his page's code and
    his paper are his alone, not the next person's who types his ticket's number into the
    kiosk's address."""
    from datetime import timedelta

    from sqlalchemy import update

    from clinic.queue.models import Ticket

    kiosk = client_as("kiosk")
    earlier = kiosk.post(f"/api/v1/kiosk/queues/{queues['printed']}/tickets").get_json()
    assert kiosk.get(f"/kiosk/ticket/{earlier['id']}/code.svg").status_code == 200
    with runtime.db.transaction() as s:
        issued = s.get(Ticket, earlier["id"]).created_at
        s.execute(
            update(Ticket)
            .where(Ticket.id == earlier["id"])
            .values(created_at=issued - timedelta(seconds=61))
        )
    assert kiosk.get(f"/kiosk/ticket/{earlier['id']}/code.svg").status_code == 404
    assert kiosk.get(f"/kiosk/ticket/{earlier['id']}/print", headers=HTML).status_code == 404
    latest = kiosk.post(f"/api/v1/kiosk/queues/{queues['printed']}/tickets").get_json()
    assert kiosk.get(f"/kiosk/ticket/{latest['id']}/code.svg").status_code == 200
