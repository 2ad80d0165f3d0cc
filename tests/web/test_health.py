"""Health: liveness always; readiness checks every dependency and says which one failed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from clinic.events import record_event
from clinic.models import OutboxEvent, utcnow


def test_live_answers_without_dependencies(client):
    response = client.get("/health/live")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_ready_is_200_with_a_worker_answering(client, worker):
    response = client.get("/health/ready")
    body = response.get_json()
    assert response.status_code == 200, body
    assert set(body["checks"]) == {"database", "redis", "worker", "outbox", "queues", "jobs"}
    assert body["checks"]["worker"]["workers"]
    assert set(body["checks"]["queues"]["depths"]) == {
        "default",
        "payments",
        "printing",
        "reports",
        "visits",
    }


def test_ready_is_503_and_names_the_worker_when_none_answers(client):
    response = client.get("/health/ready")
    body = response.get_json()
    assert response.status_code == 503
    assert body["checks"]["worker"]["ok"] is False
    assert body["checks"]["database"]["ok"] and body["checks"]["redis"]["ok"]


def test_ready_reports_an_old_unpublished_event(runtime, client, worker):
    s = runtime.db.session()
    s.info["clinic.bus"] = None  # committed but never published
    record_event(s, "job:stuck", "test.tick", {})
    s.commit()
    s.execute(update(OutboxEvent).values(created_at=utcnow() - timedelta(minutes=5)))
    s.commit()
    s.close()
    body = client.get("/health/ready").get_json()
    assert body["checks"]["outbox"]["ok"] is False
    assert body["checks"]["outbox"]["unpublished"] == 1
    assert body["checks"]["outbox"]["oldest_age_s"] >= 299
