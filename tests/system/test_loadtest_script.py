"""`.ci/loadtest` (`make loadtest`, CI's load-test job) as CI runs it: it brings up the whole
system with `clinic run`, makes the administrator the locustfile signs in as, hands it the
run's Payme key, runs locust and stops everything again.

The locustfile here only signs in: the load itself is tests/system/test_load_smoke.py's."""

from __future__ import annotations

import os
import subprocess  # nosec B404 - runs the repository's own script
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

SIGN_IN_ONLY = """
import os
import sys

import gevent

sys.path.insert(0, {loadtests!r})
from load_setup import Api  # noqa: E402
from locust import User, constant, events, task  # noqa: E402


@events.init.add_listener
def no_timer(environment, **_kwargs):
    # The run ends once the sign-in is done: locust's timer would stop it half way.
    if environment.parsed_options is not None:
        environment.parsed_options.run_time = None


@events.test_start.add_listener
def sign_in(environment, **_kwargs):
    api = Api(environment.host)
    try:
        api.sign_in()
        print("signed in as", os.environ["LOAD_ADMIN_USER"], "with a Payme key:",
              bool(os.environ.get("LOAD_PAYME_KEY")), flush=True)
    except Exception as exc:
        print("sign-in failed:", exc, flush=True)
        environment.process_exit_code = 1
    finally:
        api.close()
        if environment.runner is not None:
            gevent.spawn(environment.runner.quit)


class Idle(User):
    wait_time = constant(1)

    @task
    def idle(self):
        pass
"""


def test_make_loadtest_signs_in_as_the_administrator_it_made_and_exits_0(tmp_path):
    """The script made its administrator with the domain functions alone, which cannot write
    a user before every table his row refers to is known: it stopped there, so `make
    loadtest` and CI's load-test job (and every image build and deploy after it) failed."""
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text(SIGN_IN_ONLY.format(loadtests=str(ROOT / "loadtests")))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CLINIC_", "FLOWER_", "LOAD_", "PAYME_"))
        and k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "WEB_CONCURRENCY"}
    }
    env.update(
        BIN=str(Path(sys.executable).parent),
        LOCUSTFILE=str(locustfile),
        LOAD_USERS="1",
        LOAD_SPAWN_RATE="1",
        LOAD_TIME="1s",  # not counted: the locustfile stops the run once it has signed in
        LOAD_PORT=str(free_port()),
        LOAD_FLOWER_PORT=str(free_port()),
    )
    result = subprocess.run(  # nosec B603 B607 - a fixed command line
        ["bash", ".ci/loadtest"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "signed in as load-admin with a Payme key: True" in result.stdout, output[-4000:]
    assert "clinic | everything stopped" in result.stdout, output[-4000:]
