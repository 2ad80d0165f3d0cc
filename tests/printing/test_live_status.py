"""The whole path over the network: a ticket issued over HTTP becomes a print job in a real
worker (the request's commit sends the collecting task), its printer's state and the job's
state reach the desk's socket live, and the cashier may not follow the desk's jobs."""

from __future__ import annotations

import pytest
import requests

from clinic.accounts import tokens, users
from clinic.printing import printers as registry
from tests.conftest import ONE_BACKEND
from tests.payments.fixtures import make_queue
from tests.printing.printer_server import FakePrinter
from tests.wsclient import WSClient

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("backend", [ONE_BACKEND])]


def _token(runtime, make_user, role: str) -> str:
    user_id = make_user(role)
    with runtime.db.transaction() as s:
        return tokens.create_token(s, users.get_user(s, user_id), name="t")[1]


def test_a_desk_follows_its_ticket_from_retrying_to_printed_over_the_socket(
    runtime, live_server, worker, make_user, admin_token
):
    fake = FakePrinter()
    fake.down()
    with runtime.db.transaction() as s:
        queue_id = make_queue(s)
        registry.create_printer(
            s, {"name": "Desk", "host": "127.0.0.1", "port": fake.port,
                "targets": [f"queue:{queue_id}"]},
        )  # fmt: skip
    desk = _token(runtime, make_user, "registrar")
    ws = WSClient(live_server, token=desk)
    got = ws.subscribe(f"print_jobs:queue.{queue_id}")
    assert next(m for m in got if m.get("op") == "snapshot")["data"] == {"jobs": []}
    admin = WSClient(live_server, token=admin_token)
    admin.subscribe("printers:all")

    issued = requests.post(
        f"{live_server}/api/v1/queues/{queue_id}/tickets",
        json={"source": "kiosk"},
        headers={"Authorization": f"Bearer {desk}"},
        timeout=10,
    )
    assert issued.status_code == 201

    def job_event(predicate):
        return lambda m: m.get("type") == "print_job.changed" and predicate(m["data"]["job"])

    ws.until(job_event(lambda j: j["state"] == "queued" and j["attempts"] == 0), timeout=20)
    retrying = ws.until(job_event(lambda j: j["attempts"] >= 1), timeout=20)[-1]["data"]["job"]
    assert retrying["state"] == "queued" and "Connection" in retrying["last_error"]
    failing = admin.until(lambda m: m.get("type") == "printer.changed", timeout=20)[-1]
    assert failing["data"]["printer"]["state"] == "failing"

    fake.up()
    printed = ws.until(job_event(lambda j: j["state"] == "printed"), timeout=30)[-1]
    assert printed["data"]["job"]["id"] == retrying["id"]
    assert issued.json()["code"].encode() in fake.wait_for(1)[0]
    back = admin.until(
        lambda m: m.get("type") == "printer.changed" and m["data"]["printer"]["state"] == "ready",
        timeout=20,
    )
    assert back[-1]["data"]["printer"]["failing_since"] is None

    cashier = WSClient(live_server, token=_token(runtime, make_user, "cashier"))
    cashier.send({"op": "subscribe", "channel": f"print_jobs:queue.{queue_id}"})
    assert cashier.wait_closed() == 1008
    for client in (ws, admin, cashier):
        client.close()
    fake.down()
