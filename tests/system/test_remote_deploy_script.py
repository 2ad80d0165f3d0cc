"""deploy/remote-deploy.sh with fake `ssh` and `scp` on PATH and a fake public address: what it
copies to the host, when it rolls back, and that the deploy key never shows in its output."""

from __future__ import annotations

import os
import subprocess  # nosec B404 - runs the repository's own script
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "remote-deploy.sh"
KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nthe-deploy-key\n-----END OPENSSH PRIVATE KEY-----"

FAKE = """#!/usr/bin/env bash
# Records "NAME arguments" and succeeds.
printf '%s %s\\n' "$(basename "$0")" "$*" >>"$FAKE_DIR/calls"
"""


@pytest.fixture
def runner(tmp_path):
    """Fake ssh and scp, and a public /health/ready answering the status in `status`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("ssh", "scp"):
        (bin_dir / name).write_text(FAKE)
        (bin_dir / name).chmod(0o755)
    status = {"code": 200}

    class Health(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(status["code"])
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
        "DEPLOY_HOST": "clinic.example.uz",
        "DEPLOY_USER": "deploy",
        "DEPLOY_SSH_KEY": KEY,
        "DEPLOY_KNOWN_HOSTS": "clinic.example.uz ssh-ed25519 AAAA",
        "DEPLOY_DIR": "",
        "PUBLIC_URL": f"http://127.0.0.1:{server.server_port}/",
        "PUBLIC_TIMEOUT": "1",
    }
    yield tmp_path, env, status
    server.shutdown()
    thread.join(5)


def remote_deploy(env, image="ghcr.io/clinic/clinic:abc123"):
    return subprocess.run(  # nosec B603 B607
        ["bash", str(SCRIPT), image], env=env, capture_output=True, text=True, timeout=60
    )


def test_a_release_live_from_outside_copies_the_operator_scripts_and_succeeds(runner):
    directory, env, _ = runner
    result = remote_deploy(env)
    assert result.returncode == 0, result.stdout + result.stderr
    scp, ssh = (directory / "calls").read_text().splitlines()
    copied = scp.split()[-4:]
    assert [Path(p).name for p in copied[:-1]] == ["docker-compose.yml", "deploy.sh", "backup.sh"]
    assert copied[-1] == "deploy@clinic.example.uz:/srv/clinic/"
    assert ssh.endswith("cd '/srv/clinic' && bash ./deploy.sh 'ghcr.io/clinic/clinic:abc123'")
    assert "the-deploy-key" not in result.stdout + result.stderr


def test_a_release_not_ready_from_outside_is_rolled_back_and_fails(runner):
    directory, env, status = runner
    status["code"] = 503
    result = remote_deploy(env)
    assert result.returncode == 1
    assert "rolling back" in result.stderr
    last = (directory / "calls").read_text().splitlines()[-1]
    assert last.startswith("ssh ") and last.endswith("bash ./deploy.sh rollback")
    assert "the-deploy-key" not in result.stdout + result.stderr
