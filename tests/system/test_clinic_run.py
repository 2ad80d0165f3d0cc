"""`clinic run` as a user runs it: no DATABASE_URL, no REDIS_URL, a fresh instance folder.

The README promises that this one command brings up the whole system on SQLite and an
embedded Redis, and that Ctrl-C takes all of it down again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

from tests.conftest import free_port

pytestmark = pytest.mark.slow

READY_WITHIN = 60.0
STOP_WITHIN = 45.0


def _clinic() -> list[str]:
    script = Path(sys.executable).with_name("clinic")
    return [str(script)] if script.exists() else [sys.executable, "-m", "web.cli"]


def _user_env(instance: Path, **extra: str) -> dict[str, str]:
    """This process's environment less everything that would point at shared services."""
    dropped = {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "CLINIC_ENV", "WEB_CONCURRENCY"}
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in dropped and not k.startswith(("FLOWER_", "CLINIC_"))
    }
    env["CLINIC_INSTANCE"] = str(instance)
    env.update(extra)
    return env


def _tail(log: Path, lines: int = 60) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def _track(tree: dict[int, psutil.Process], root: psutil.Process) -> None:
    for proc in root.children(recursive=True):
        tree.setdefault(proc.pid, proc)


def _alive(procs) -> list[psutil.Process]:
    alive = []
    for proc in procs:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.NoSuchProcess:
            pass
    return alive


def _get_until_log(log: Path, text: str, deadline: float) -> str:
    while time.monotonic() < deadline:
        content = log.read_text(errors="replace")
        if text in content:
            return content
        time.sleep(0.1)
    return log.read_text(errors="replace")


@pytest.mark.timed  # ready within a minute: not among the long tests that start together
def test_clinic_run_brings_up_the_whole_system_and_sigint_leaves_no_process(tmp_path):
    port, flower_port = free_port(), free_port()
    log = tmp_path / "clinic-run.log"
    instance = tmp_path / "instance"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*_clinic(), "run", "--host", "127.0.0.1", "--port", str(port)]
            + ["--flower-port", str(flower_port)],
            cwd=tmp_path,
            env=_user_env(instance),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    root = psutil.Process(proc.pid)
    tree: dict[int, psutil.Process] = {}
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_WITHIN
        ready = None
        while time.monotonic() < deadline and proc.poll() is None:
            _track(tree, root)
            try:
                ready = requests.get(f"{base}/health/ready", timeout=5)
                if ready.status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.3)
        assert proc.poll() is None, f"clinic run exited early:\n{_tail(log)}"
        assert ready is not None and ready.status_code == 200, _tail(log)
        checks = ready.json()["checks"]
        assert all(checks[name]["ok"] for name in ("database", "redis", "worker")), checks
        assert (instance / "clinic.sqlite3").exists()
        assert (instance / "redis.sock").exists()

        # The scheduler and Flower start once the system is ready; the banner waits for
        # Flower to answer, and names every address.
        banner = _get_until_log(log, "API docs", time.monotonic() + 30)
        assert f"{base}/api/docs" in banner and f":{flower_port}/" in banner, _tail(log)
        flower = requests.get(f"http://127.0.0.1:{flower_port}/", timeout=5)
        assert flower.status_code == 200, _tail(log)
        spec = requests.get(f"{base}/api/openapi.json", timeout=5)
        assert spec.status_code == 200 and spec.json()["info"]["title"] == "Clinic API"
        assert requests.get(f"{base}/api/docs", timeout=5).status_code == 200

        # Every part of the tree is up: each child is a process.
        _track(tree, root)
        commands = [" ".join(p.cmdline()) for p in _alive(tree.values())]
        for part in ("redis-server", "gunicorn", "worker", "beat", "flower"):
            assert any(part in c for c in commands), (part, commands)
    finally:
        if proc.poll() is None:
            _track(tree, root)
            proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=STOP_WITHIN)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = None
        _, survivors = psutil.wait_procs(_alive(tree.values()), timeout=10)
        leftovers = _alive(survivors)
        for stray in leftovers:  # never leave a stray tree behind on this machine
            stray.kill()

    assert code == 0, f"clinic run exited with {code}:\n{_tail(log)}"
    assert not leftovers, [(p.pid, p.cmdline()) for p in leftovers]
    assert len(tree) >= 6, tree
    assert not (instance / "redis.sock").exists(), "the embedded Redis did not shut down cleanly"
    assert "everything stopped" in _tail(log, 5)


def _refused(tmp_path: Path, env: dict[str, str], *command: str) -> str:
    """Run a clinic command that must refuse to start; return what it printed on stderr."""
    result = subprocess.run(
        [*_clinic(), *command],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    return result.stderr


def _refused_in_process(env: dict[str, str], *command: str) -> str:
    """The same through click's runner, in this process (what a process of its own adds,
    ``clinic run`` shows): the environment is ``env`` exactly, for the command's time."""
    from click.testing import CliRunner

    from web.cli import cli

    cleared: dict[str, str | None] = {k: None for k in os.environ if k not in env}
    result = CliRunner().invoke(cli, list(command), env={**cleared, **env})
    assert result.exit_code == 2, (result.output, result.exception)
    assert "Traceback" not in result.output
    return result.stderr


@pytest.mark.parametrize("command", [["run"], ["worker"], ["flower"], ["db", "upgrade"]])
def test_production_without_secret_key_refuses_with_exit_code_2_and_says_why(tmp_path, command):
    env = _user_env(tmp_path / "instance", CLINIC_ENV="production")
    refuse = _refused if command == ["run"] else lambda _path, *rest: _refused_in_process(*rest)
    assert "SECRET_KEY must be set" in refuse(tmp_path, env, *command)
    assert not (tmp_path / "instance").exists(), "nothing may be created before refusing"


def test_flower_in_production_refuses_without_basic_auth(tmp_path):
    env = _user_env(
        tmp_path / "instance",
        CLINIC_ENV="production",
        SECRET_KEY="k" * 48,
        DATABASE_URL="postgresql://clinic@127.0.0.1:1/clinic",
        REDIS_URL="redis://127.0.0.1:1/0",
    )
    assert "FLOWER_BASIC_AUTH" in _refused_in_process(env, "flower")
