"""deploy/deploy.sh against a fake `docker` that records its calls and a fake web container
whose /health/ready answers 503 while a broken image runs."""

from __future__ import annotations

import os
import subprocess  # nosec B404 - runs the repository's own script
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "deploy.sh"
SERVICES = "web worker beat flower"

FAKE_DOCKER = """#!/usr/bin/env bash
# Records "CLINIC_IMAGE | arguments"; `up` makes that image the running one, or fails for an
# image whose containers cannot start (half of them recreated on it all the same).
printf '%s | %s\\n' "${CLINIC_IMAGE:-}" "$*" >>"$FAKE_DIR/calls"
if [[ "$1 $2" == "compose up" ]]; then
    printf '%s' "$CLINIC_IMAGE" >"$FAKE_DIR/running"
    [[ "$CLINIC_IMAGE" != *cannot-start* ]] || exit 1
fi
if [[ "$1 $2 $3 $4" == "compose run --rm migrate" && "$CLINIC_IMAGE" == *bad-migration* ]]; then
    echo "alembic: relation already exists" >&2
    exit 3
fi
"""


@pytest.fixture
def host(tmp_path):
    """A deploy directory, a fake docker on PATH, and the running release's health endpoint."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER)
    docker.chmod(0o755)
    (tmp_path / ".env").write_text("SECRET_KEY=x\nCLINIC_IMAGE=clinic:old\n")

    class Health(BaseHTTPRequestHandler):
        def do_GET(self):
            running = (tmp_path / "running").read_text() if (tmp_path / "running").exists() else ""
            self.send_response(503 if "broken" in running else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "FAKE_DIR": str(tmp_path),
        "DEPLOY_DIR": str(tmp_path),
        "HEALTH_URL": f"http://127.0.0.1:{server.server_port}/health/ready",
        "HEALTH_TIMEOUT": "1",
        "HEALTH_INTERVAL": "0.1",
    }
    env.pop("CLINIC_IMAGE", None)
    yield tmp_path, env
    server.shutdown()
    thread.join(5)


def deploy(host, *args):
    directory, env = host
    return subprocess.run(  # nosec B603
        ["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=30
    )


def calls(directory: Path) -> list[str]:
    return (directory / "calls").read_text().splitlines()


def state(directory: Path, name: str) -> str:
    return (directory / ".deploy" / name).read_text().strip()


def test_a_good_rollout_migrates_starts_and_switches_keeping_the_previous_image(host):
    directory, _ = host
    assert deploy(host, "clinic:v1").returncode == 0
    (directory / "calls").unlink()
    result = deploy(host, "clinic:v2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls(directory) == [
        f"clinic:v2 | compose pull {SERVICES}",
        "clinic:v2 | compose run --rm migrate",
        f"clinic:v2 | compose up --detach --no-deps --remove-orphans {SERVICES}",
    ]
    assert state(directory, "current") == "clinic:v2"
    assert state(directory, "previous") == "clinic:v1"
    assert "CLINIC_IMAGE=clinic:v2\n" in (directory / ".env").read_text()
    assert "SECRET_KEY=x" in (directory / ".env").read_text()


def test_a_failing_health_gate_rolls_back_to_the_previous_image_and_fails(host):
    directory, _ = host
    assert deploy(host, "clinic:v1").returncode == 0
    result = deploy(host, "clinic:v2-broken")
    assert result.returncode == 1
    assert "rolling back to clinic:v1" in result.stdout
    assert "rolled back: clinic:v1 is running and ready" in result.stdout
    assert calls(directory)[-1] == (
        f"clinic:v1 | compose up --detach --no-deps --remove-orphans {SERVICES}"
    )
    assert (directory / "running").read_text() == "clinic:v1"
    assert state(directory, "current") == "clinic:v1"
    assert "CLINIC_IMAGE=clinic:v1\n" in (directory / ".env").read_text()


def test_a_release_whose_containers_cannot_start_is_rolled_back_and_fails(host):
    directory, _ = host
    assert deploy(host, "clinic:v1").returncode == 0
    result = deploy(host, "clinic:v2-cannot-start")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "rolling back to clinic:v1" in result.stdout
    assert (directory / "running").read_text() == "clinic:v1"
    assert state(directory, "current") == "clinic:v1"
    assert "CLINIC_IMAGE=clinic:v1\n" in (directory / ".env").read_text()


def test_a_failing_migration_stops_before_the_switch_and_says_the_release_runs_on(host):
    directory, _ = host
    assert deploy(host, "clinic:v1").returncode == 0
    (directory / "calls").unlink()
    result = deploy(host, "clinic:v2-bad-migration")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the migration with clinic:v2-bad-migration failed (exit 3)" in result.stdout
    assert "clinic:v1 keeps running" in result.stdout
    assert not any(" up " in call for call in calls(directory))
    assert (directory / "running").read_text() == "clinic:v1"
    assert state(directory, "current") == "clinic:v1"
    assert "CLINIC_IMAGE=clinic:v1\n" in (directory / ".env").read_text()


def test_the_gate_probes_the_web_port_where_the_env_file_publishes_it(host):
    directory, env = host
    port = env.pop("HEALTH_URL").split(":")[2].split("/")[0]
    with (directory / ".env").open("a") as f:
        f.write(f'CLINIC_WEB_ADDRESS=127.0.0.1\nCLINIC_WEB_PORT="{port}"\n')
    result = deploy((directory, env), "clinic:v1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert state(directory, "current") == "clinic:v1"


def test_a_first_rollout_that_fails_its_gate_has_nothing_to_roll_back_to(host):
    result = deploy(host, "clinic:v1-broken")
    assert result.returncode == 1
    assert "no previous image" in result.stdout
    assert not (host[0] / ".deploy" / "current").exists()


def test_rollback_starts_the_previous_image_again(host):
    directory, _ = host
    for image in ("clinic:v1", "clinic:v2"):
        assert deploy(host, image).returncode == 0
    result = deploy(host, "rollback")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (directory / "running").read_text() == "clinic:v1"
    assert state(directory, "current") == "clinic:v1"
    assert state(directory, "previous") == "clinic:v2"


def test_without_an_image_it_prints_its_usage():
    result = subprocess.run(  # nosec B603
        ["bash", str(SCRIPT)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2 and "deploy.sh IMAGE" in result.stderr
