"""A socket the server ends because the database failed it is closed with 1011 (the server
met an error), never 1000: a client tells a failure it should retry from a normal end."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.conftest import make_settings
from tests.live_server import LiveServer
from tests.wsclient import WSClient

# Taking the database away from the application takes a database role of its own.
pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

SERVER_ERROR = 1011


@pytest.fixture
def served_as_app_role(runtime, app_role, tmp_path):
    """The clinic served over real sockets, connected to the database as ``app_role``."""
    from clinic.runtime import Runtime
    from web import create_app

    role, url = app_role
    app_runtime = Runtime(make_settings(url, tmp_path / "app", runtime.settings.redis_prefix))
    app = create_app(runtime=app_runtime)
    app.config["TESTING"] = True
    server = LiveServer(app).start()
    yield role, server.url
    server.stop()
    hub = app.extensions.get("clinic.ws", {}).pop("hub", None)
    if hub is not None:
        hub.stop()
    app_runtime.close()


def _refuse_connections(runtime, role: str) -> None:
    """The database server takes the role's connections away and lets it in no more."""
    with runtime.db.engine.begin() as conn:
        conn.execute(text(f"ALTER ROLE {role} NOLOGIN"))
        conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"),
            {"r": role},
        )


def test_a_subscription_the_database_refuses_closes_the_socket_with_1011(
    runtime, served_as_app_role, admin_token
):
    role, url = served_as_app_role
    ws = WSClient(url, token=admin_token)
    assert ws.subscribe("reference:services")[-1]["op"] == "subscribed"
    _refuse_connections(runtime, role)
    ws.send({"op": "subscribe", "channel": "reference:rooms"})
    assert ws.wait_closed() == SERVER_ERROR


def test_a_snapshot_the_database_fails_closes_the_socket_with_1011(
    runtime, served_as_app_role, admin_token
):
    """The snapshot (its last event's number) is read by the socket's sender, after the
    rights were checked."""
    role, url = served_as_app_role
    with runtime.db.engine.begin() as conn:
        conn.execute(text(f"REVOKE SELECT ON event_channels FROM {role}"))
    ws = WSClient(url, token=admin_token)
    ws.send({"op": "subscribe", "channel": "reference:services"})
    assert ws.wait_closed() == SERVER_ERROR


def test_a_handshake_the_database_fails_closes_the_socket_with_1011(
    runtime, served_as_app_role, admin_token
):
    """A screen's token in the address is read once the socket is open."""
    role, url = served_as_app_role
    _refuse_connections(runtime, role)
    ws = WSClient(url, query=f"?token={admin_token}", expect_hello=False)
    assert ws.wait_closed() == SERVER_ERROR
