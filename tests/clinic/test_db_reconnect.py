"""A pooled PostgreSQL connection the server has closed is replaced before a request uses it,
without a round trip per checkout: the request after a restart or an ended backend works."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import NullPool

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])


def _backend_pid(runtime) -> int:
    with runtime.db.session() as s:
        return s.scalar(text("SELECT pg_backend_pid()"))


def test_a_connection_the_server_ended_is_replaced_before_it_is_used(runtime):
    pid = _backend_pid(runtime)  # back in the pool, idle
    admin = create_engine(runtime.db.engine.url, poolclass=NullPool)
    with admin.begin() as other:  # the server ends it, as a restart would
        # Waiting (up to 10 s) until the backend has gone: it closes its socket on its way out.
        ended = other.execute(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid})
        assert ended.scalar() is True
    admin.dispose()
    # Every idle pooled connection is that one or another live one: each request works.
    pids = {_backend_pid(runtime) for _ in range(3)}
    assert pid not in pids


def test_a_live_pooled_connection_is_used_again_without_a_ping(runtime, monkeypatch):
    dialect = runtime.db.engine.dialect
    pings = []
    real_ping = dialect.do_ping
    monkeypatch.setattr(dialect, "do_ping", lambda conn: pings.append(conn) or real_ping(conn))
    _backend_pid(runtime)
    assert runtime.db.engine.pool.checkedin() >= 1  # idle in the pool now
    _backend_pid(runtime)  # a pooled connection again
    assert pings == []


def test_a_connection_closed_on_this_side_is_replaced_too(runtime):
    import psycopg

    from clinic.db import _replace_if_closed_by_the_server

    url = runtime.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    closed = psycopg.connect(url)
    closed.close()
    with pytest.raises(DisconnectionError):
        _replace_if_closed_by_the_server(closed, None, None)
