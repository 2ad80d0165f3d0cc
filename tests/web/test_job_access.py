"""A job someone else started is followed only by those whose permissions its kind of work
needs: a doctor who may follow his own report may not read a manager's whole-clinic one."""

from __future__ import annotations

import pytest

from clinic import jobs
from clinic.reports import building  # noqa: F401 - names the report jobs' followers
from clinic.visits import rescheduling  # noqa: F401 - names the visit moves' followers
from clinic.visits.events import RESCHEDULE_JOB
from tests.conftest import ONE_BACKEND
from tests.wsclient import WSClient

# The application's access rules, not database rules: they run on one backend.
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])

POLICY = 1008


def _job(runtime, kind: str, created_by: str) -> str:
    with runtime.db.transaction() as s:
        return jobs.create_job(s, kind=kind, task_name="reports.build", created_by=created_by).id


def test_a_report_someone_else_started_is_shown_to_report_readers_only(runtime, client_as):
    manager = client_as("manager", "jobmanager")
    doctor = client_as("doctor", "jobdoctor")
    colleague = client_as("doctor", "jobcolleague")
    managers = _job(runtime, "report", "jobmanager")
    doctors = _job(runtime, "report", "jobdoctor")
    assert manager.get(f"/api/v1/jobs/{managers}").status_code == 200
    assert manager.get(f"/api/v1/jobs/{doctors}").status_code == 200
    assert doctor.get(f"/api/v1/jobs/{doctors}").get_json()["created_by"] == "jobdoctor"
    for who, job_id in ((doctor, managers), (colleague, doctors)):
        hidden = who.get(f"/api/v1/jobs/{job_id}")
        assert hidden.status_code == 404  # as a job that does not exist
        assert "result" not in hidden.get_json()
    # A kind no module restricts: anyone who may follow jobs.
    plain = _job(runtime, "plain.kind", "jobmanager")
    assert colleague.get(f"/api/v1/jobs/{plain}").status_code == 200


def test_a_visit_move_someone_else_asked_for_is_shown_to_those_who_move_visits(runtime, client_as):
    """A move's outcome names the visit, its times, doctors and reason: a cashier, who reads
    no visits, or a doctor, who reads his own, does not follow the registrar's move."""
    moved = _job(runtime, RESCHEDULE_JOB, "movingregistrar")
    colleague = client_as("registrar", "otherregistrar")
    assert colleague.get(f"/api/v1/jobs/{moved}").status_code == 200
    for role in ("cashier", "doctor"):
        hidden = client_as(role).get(f"/api/v1/jobs/{moved}")
        assert hidden.status_code == 404, role
        assert "result" not in hidden.get_json()


def test_a_socket_may_not_follow_a_report_someone_else_started(live_server, runtime, client_as):
    doctor = client_as("doctor", "sockdoctor")
    managers = _job(runtime, "report", "sockmanager")
    own = _job(runtime, "report", "sockdoctor")
    cookie = f"clinic_session={doctor.get_cookie('clinic_session').value}"
    ws = WSClient(live_server, cookie=cookie, origin=live_server)
    assert ws.subscribe(f"job:{own}")[-1]["op"] == "subscribed"
    ws.send({"op": "subscribe", "channel": f"job:{managers}"})
    assert ws.wait_closed(timeout=5) == POLICY
