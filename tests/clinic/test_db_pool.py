"""Each process keeps a fixed number of PostgreSQL connections (``CLINIC_DB_POOL_SIZE``) and
opens none beyond them: a request past the pool waits for a connection to come back."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from clinic.db import Database
from clinic.runtime import Runtime
from clinic.settings import ConfigError, Settings
from tests.conftest import make_settings


def test_the_pool_size_is_a_setting_of_at_least_one(tmp_path):
    def size(**env) -> int:
        return Settings.from_env({"CLINIC_INSTANCE": str(tmp_path), **env}).db_pool_size

    assert size() == 10
    assert size(CLINIC_DB_POOL_SIZE="4") == 4
    with pytest.raises(ConfigError, match="CLINIC_DB_POOL_SIZE must be at least 1"):
        size(CLINIC_DB_POOL_SIZE="0")


@pytest.mark.parametrize("backend", ["postgresql"])
def test_the_runtime_keeps_the_set_number_of_connections(
    database_urls, backend, tmp_path, redis_prefix
):
    settings = make_settings(database_urls[backend], tmp_path, redis_prefix, CLINIC_DB_POOL_SIZE=3)
    runtime = Runtime(settings)
    try:
        pool = runtime.db.engine.pool
        assert (pool.size(), pool.overflow()) == (3, -3)  # none open yet, none beyond three
    finally:
        runtime.close()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_checkout_past_the_pool_waits_for_a_returned_connection(database_urls, backend):
    db = Database(database_urls[backend], pool_size=2, pool_timeout=10)
    try:
        held = [db.engine.connect() for _ in range(2)]
        answered = []

        def third():
            with db.engine.connect() as conn:
                answered.append(conn.execute(text("SELECT 1")).scalar())

        waiter = threading.Thread(target=third)
        waiter.start()
        waiter.join(0.3)
        # No third connection is opened: the waiter waits while both are held.
        assert waiter.is_alive() and answered == []
        held.pop().close()  # one comes back to the pool
        waiter.join(10)
        assert answered == [1]
        assert db.engine.pool.checkedout() == 1
        held.pop().close()
    finally:
        db.dispose()
