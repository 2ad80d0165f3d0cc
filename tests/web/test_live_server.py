"""The tests' server stops in order: every request it began, an open socket's included, is
over once it has stopped. What a request does at its end (noting a token's use) then happens
inside its own test, never in the next test's tables or in a database already dropped."""

from __future__ import annotations

import pytest
from flask import request

from tests.conftest import ONE_BACKEND
from tests.live_server import LiveServer
from tests.wsclient import WSClient

pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])


@pytest.mark.own_app
def test_a_stopped_server_has_ended_every_request_it_began_an_open_sockets_too(app, admin_token):
    ended = []
    # Where a request notes its token's use (web/auth/__init__.py), after its answer.
    app.teardown_request(lambda _exc: ended.append(request.path))
    server = LiveServer(app).start()
    ws = WSClient(server.url, token=admin_token)  # open: its "hello" has come
    assert ended == []
    server.stop()
    assert ended == ["/ws"]
    assert ws.wait_closed() is None  # cut: nothing more comes, at once
