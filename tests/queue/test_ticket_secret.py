"""A ticket's secret (its patient's page, ``/t/<secret>``) is the patient's credential: it
reads his ticket and gives up his place. The staff who issue tickets hand it over on the
printed ticket; a reader of the queue who may not cancel tickets (a manager, a doctor) is
never shown it, or he could cancel any of them through the patient's door, in nobody's name."""

from __future__ import annotations

from clinic.accounts import users
from clinic.queue import admin as queue_admin
from clinic.reference import directory as reference
from tests.queue.test_api import OPEN_ALL_DAY, make_queue


def doctor_of(session, username: str) -> int:
    return next(u for u in users.list_users(session) if u.username == username).doctor_id


def _secret_shown(answer, secret: str) -> bool:
    return secret in answer.get_data(as_text=True)


def test_only_those_who_issue_tickets_are_shown_their_patients_secret(
    runtime, client_as, anon_client
):
    queue_id = make_queue(runtime)
    registrar = client_as("registrar")
    issued = registrar.post(f"/api/v1/queues/{queue_id}/tickets", json={})
    assert issued.status_code == 201, issued.get_json()
    ticket = issued.get_json()
    secret = ticket["patient_url"].removeprefix("/t/")
    assert registrar.get(f"/api/v1/tickets/{ticket['id']}").get_json()["patient_url"] == (
        f"/t/{secret}"
    )

    manager = client_as("manager")
    for path in (f"/api/v1/queues/{queue_id}/tickets", f"/api/v1/tickets/{ticket['id']}"):
        answer = manager.get(path)
        assert answer.status_code == 200, answer.get_json()
        assert not _secret_shown(answer, secret), path

    # Nor to the doctor of a queue, who calls and serves tickets but cancels none.
    doctor = client_as("doctor")
    with runtime.db.transaction() as s:
        department_id = reference.get_doctor(s, doctor_of(s, doctor.username)).department_id
        his_queue = queue_admin.create_queue(
            s, {"code": "his", "department_id": department_id, **OPEN_ALL_DAY}
        ).id
    his = registrar.post(f"/api/v1/queues/{his_queue}/tickets", json={}).get_json()
    his_secret = his["patient_url"].removeprefix("/t/")
    for answer in (
        doctor.get(f"/api/v1/queues/{his_queue}/tickets"),
        doctor.post(f"/api/v1/queues/{his_queue}/call-next", json={}),
        doctor.get(f"/api/v1/tickets/{his['id']}"),
    ):
        assert answer.status_code == 200, answer.get_json()
        assert not _secret_shown(answer, his_secret)

    # The patient's own door still opens with it.
    assert anon_client.get(f"/api/v1/public/tickets/{secret}").status_code == 200
