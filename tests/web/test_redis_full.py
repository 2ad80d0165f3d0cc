"""Redis full (``maxmemory`` with ``noeviction``: it answers, and refuses every write): a
sign-in is a 503 the client may retry, as with Redis down, never a 500 with a session lost;
and readiness names Redis, not what fails because of it."""

from __future__ import annotations

import pytest
import redis
from sqlalchemy import select

from clinic.models import AuditEntry
from tests.conftest import PASSWORD, _create_user, make_settings

# The session store's rules, not the database's: one backend, a Redis of the test's own.
pytestmark = [pytest.mark.parametrize("backend", ["sqlite"]), pytest.mark.own_app]


@pytest.fixture
def settings(database_urls, backend, tmp_path, redis_prefix, private_redis):
    return make_settings(
        database_urls[backend], tmp_path / "instance", redis_prefix, REDIS_URL=private_redis.url
    )


def _fill(private_redis) -> None:
    """Past its memory: every write refused, reads and PING answered."""
    client = redis.Redis(port=private_redis.port)
    for i in range(100):
        client.set(f"junk:{i}", "x" * 10_000)
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory", str(int(client.info("memory")["used_memory"]) - 500_000))
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        client.set("one:more", "x")
    assert client.ping()
    client.close()


def test_signing_in_while_redis_is_full_is_a_503_to_retry_and_signs_nobody_in(
    app, runtime, private_redis
):
    _, username = _create_user(runtime, "registrar")
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as gunicorn serves it: a raise is a 500
    client = app.test_client()
    _fill(private_redis)
    for answer in (
        client.get("/api/v1/session/csrf"),
        client.post(
            "/api/v1/session", json={"username": username, "password": PASSWORD}, skip_csrf=True
        ),
    ):
        assert answer.status_code == 503, answer.get_data(as_text=True)[:300]
        assert answer.headers["Retry-After"]
    with runtime.db.session() as s:
        actions = s.scalars(select(AuditEntry.action)).all()
    assert "auth.sign_in" not in actions


def test_readiness_says_redis_when_it_refuses_writes(app, private_redis):
    client = app.test_client()
    assert client.get("/health/ready").get_json()["checks"]["redis"]["ok"] is True
    _fill(private_redis)
    body = client.get("/health/ready", headers={"X-Health-Token": "x"}).get_json()
    assert body["checks"]["redis"]["ok"] is False, body
