"""A printer whose paper has run out takes the connection and reads the job like any other:
only its answer to the paper question (DLE EOT 4) says that nothing came out. The job waits,
the printer shows it, and the job prints once paper is in."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import update

from clinic.printing import thermal
from clinic.printing.models import JobState, Printer, PrintJob
from clinic.printing.templates import COPY_MARK
from tests.conftest import ONE_BACKEND
from tests.printing.conftest import drain, job
from tests.printing.printer_server import FakePrinter
from tests.races import wait_for


@pytest.fixture
def printer():
    fake = FakePrinter()
    yield fake
    fake.down()


def test_a_printer_out_of_paper_is_told_from_its_answer_and_sent_nothing_more(printer):
    printer.paper = False
    with pytest.raises(thermal.OutOfPaper) as raised:
        thermal.send("127.0.0.1", printer.port, b"ticket", timeout=3)
    assert thermal.describe(raised.value) == "out of paper"
    assert printer.jobs() == [] and printer.unprinted == [b"ticket"]
    # Asked first, while the paper is still out: the job is not sent again.
    with pytest.raises(thermal.NoPaperYet):
        thermal.send("127.0.0.1", printer.port, b"ticket", timeout=3, paper_first=True)
    # The question alone, read as the sender closes the connection it asked on.
    wait_for(lambda: len(printer.unprinted) == 2, what="the question to be read")
    assert printer.unprinted == [b"ticket", b""]

    printer.paper = True
    thermal.send("127.0.0.1", printer.port, b"ticket", timeout=3, paper_first=True)
    assert printer.wait_for(1) == [b"ticket"]


def test_a_printer_that_ignores_the_paper_question_prints_as_before(printer):
    printer.answers_paper = False
    thermal.send("127.0.0.1", printer.port, b"ticket", timeout=3)
    assert printer.wait_for(1) == [b"ticket" + thermal.PAPER_STATUS]


def _due_now(runtime, job_id: int) -> None:
    with runtime.db.transaction() as s:
        s.execute(update(PrintJob).where(PrintJob.id == job_id).values(next_attempt_at=None))


def test_a_job_sent_to_a_printer_out_of_paper_waits_and_prints_once_paper_is_in(
    client, runtime, fake_printer
):
    body = {"name": "Касса 1", "host": "127.0.0.1", "port": fake_printer.port}
    printer = client.post("/api/v1/printing/printers", json=body).get_json()
    fake_printer.paper = False
    made = client.post(f"/api/v1/printing/printers/{printer['id']}/test").get_json()
    original = job(runtime, made["id"]).payload

    assert drain(runtime, printer["id"])["retry_in"] is not None
    waiting = job(runtime, made["id"])
    assert waiting.state == JobState.QUEUED and waiting.last_error == "out of paper"
    # The printer may keep what it read and print it with the paper in: a copy comes next.
    assert waiting.copy and waiting.payload.endswith(original)
    with runtime.db.session() as s:
        shown = s.get(Printer, printer["id"])
        assert (shown.state, shown.last_error) == ("failing", "out of paper")

    # Tried again with the paper still out: asked first, it is sent nothing.
    _due_now(runtime, made["id"])
    drain(runtime, printer["id"])
    assert job(runtime, made["id"]).state == JobState.QUEUED
    wait_for(lambda: len(fake_printer.unprinted) == 2, what="the question to be read")
    assert fake_printer.unprinted == [original, b""] and fake_printer.jobs() == []

    fake_printer.paper = True
    _due_now(runtime, made["id"])
    assert drain(runtime, printer["id"])["printed"] == 1
    printed = job(runtime, made["id"])
    assert printed.state == JobState.PRINTED and fake_printer.jobs() == [printed.payload]
    assert printed.payload.count(COPY_MARK.encode("cp866")) == 1
    with runtime.db.session() as s:
        assert s.get(Printer, printer["id"]).state == "ready"


@pytest.mark.parametrize("backend", [ONE_BACKEND])  # the pages' words, on any database
@pytest.mark.parametrize(
    "lang, words", [("ru", "нет бумаги"), ("uz", "qog'oz tugadi"), ("en", "out of paper")]
)
def test_a_desk_says_in_its_language_that_the_printer_is_out_of_paper(
    client_as, backend, lang, words
):
    page = client_as("cashier").get(f"/payments/desk?lang={lang}").get_data(as_text=True)
    config = _config(page, "print-status-config")
    # The desk's script tells the job's error by this text, and says it in these words.
    assert config["out_of_paper"] == thermal.OUT_OF_PAPER
    assert words in config["texts"]["out_of_paper"]
    # So does the printers page, of a printer failing for want of paper.
    page = client_as("admin").get(f"/admin/printers?lang={lang}").get_data(as_text=True)
    config = _config(page, "printers-config")
    assert config["outOfPaper"] == thermal.OUT_OF_PAPER
    assert words in config["texts"]["out_of_paper"]


def _config(page: str, element_id: str) -> dict:
    found = re.search(rf'id="{element_id}">(.*?)</script>', page, re.S)
    return json.loads(found.group(1))


@pytest.mark.parametrize("backend", [ONE_BACKEND])
@pytest.mark.parametrize("lang, word", [("ru", "копия"), ("uz", "nusxa"), ("en", "copy")])
def test_a_desk_marks_a_reprint_in_its_own_language(client_as, backend, lang, word):
    # The list of print jobs marks a copy in the page's words, not in Russian on every desk.
    page = client_as("registrar").get(f"/queue/desk?lang={lang}").get_data(as_text=True)
    assert _config(page, "print-status-config")["texts"]["copy"] == word
