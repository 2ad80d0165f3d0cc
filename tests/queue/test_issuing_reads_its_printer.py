"""The desk's and the kiosk's answer to a ticket says whether the queue's thermal printer
prints it, read by the statement that reads the queue for issuing: no statement of its own
(one more round trip on every ticket). The rule is the printing module's: the queue's own
printer first, else the one for every ticket; only an active network printer prints on paper."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import event

from clinic.printing import printers as registry
from clinic.printing.models import Printer, PrinterState
from clinic.queue import admin as queue_admin
from clinic.reference import directory as reference

# Each queue: the printers given to it ({} a thermal one, None none).
OWN = {
    "own": {},
    "none": None,
    "own_off": {"active": False},
    "own_pdf": {"kind": "pdf", "host": ""},
}


@pytest.fixture
def queues(runtime):
    with runtime.db.transaction() as s:
        department = reference.create_department(
            s,
            {
                "code": "lab",
                "ticket_prefix": "L",
                "name_ru": "Лаборатория",
                "name_uz": "Laboratoriya",
                "name_en": "Laboratory",
            },
        )
        made = {}
        for number, (name, printer) in enumerate(OWN.items()):
            made[name] = queue_admin.create_queue(
                s,
                {
                    "code": name.replace("_", ""),
                    "department_id": department.id,
                    "prefix": "ABCD"[number],
                    "closes_at": time(23, 59, 59, 999999),
                },
            ).id
            if printer is not None:
                registry.create_printer(
                    s,
                    {
                        "name": name,
                        "host": "192.168.1.50",
                        **printer,
                        "targets": [f"queue:{made[name]}"],
                    },
                )
    return made


def _answers(client, queues) -> dict:
    said = {}
    for name, queue_id in queues.items():
        answer = client.post(f"/api/v1/queues/{queue_id}/tickets", json={})
        assert answer.status_code == 201, answer.get_json()
        said[name] = (answer.get_json()["on_paper"], answer.get_json()["printer_failing"])
    return said


def test_each_queue_is_answered_by_its_own_printer_else_the_one_for_every_ticket(
    client_as, runtime, queues
):
    desk = client_as("registrar")
    assert _answers(desk, queues) == {
        "own": (True, False),
        "none": (False, False),
        "own_off": (False, False),
        "own_pdf": (False, False),
    }
    with runtime.db.transaction() as s:
        registry.create_printer(s, {"name": "Hall", "host": "192.168.1.51", "targets": ["tickets"]})
    # A queue's own printer comes first, even one switched off or printing no paper.
    assert _answers(desk, queues) == {
        "own": (True, False),
        "none": (True, False),
        "own_off": (False, False),
        "own_pdf": (False, False),
    }
    with runtime.db.transaction() as s:
        hall = s.query(Printer).filter_by(name="Hall").one()
        hall.state = PrinterState.FAILING
    kiosk = client_as("kiosk")
    said = {}
    for name, queue_id in queues.items():
        answer = kiosk.post(f"/api/v1/kiosk/queues/{queue_id}/tickets").get_json()
        said[name] = (answer["on_paper"], answer["printer_failing"])
    assert said == {
        "own": (True, False),
        "none": (True, True),
        "own_off": (False, False),
        "own_pdf": (False, False),
    }


def test_the_printer_is_read_with_the_queue_not_on_its_own(client_as, runtime, queues):
    desk = client_as("registrar")
    desk.post(f"/api/v1/queues/{queues['own']}/tickets", json={})  # the day's row is made
    sent: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        sent.append(" ".join(statement.split()))

    event.listen(runtime.db.engine, "before_cursor_execute", note)
    try:
        answer = desk.post(f"/api/v1/queues/{queues['own']}/tickets", json={})
    finally:
        event.remove(runtime.db.engine, "before_cursor_execute", note)
    assert answer.status_code == 201 and answer.get_json()["on_paper"] is True
    reading = [s for s in sent if "printer_assignments" in s]
    assert len(reading) == 1, sent
    assert "FROM queues" in reading[0]
