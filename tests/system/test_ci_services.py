"""The decisions of .ci/run about PostgreSQL and Redis (.ci/services.sh), with stub commands:
a fresh machine gets the servers installed, started and a test role; a machine whose services
answer is left alone; servers elsewhere are waited for, never installed."""

from __future__ import annotations

import shutil
import subprocess  # nosec B404 - runs the repository's own script
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / ".ci" / "services.sh"
BASH = shutil.which("bash")
REAL_TOOLS = ("find", "sort", "tail", "mkdir", "sleep", "cat", "touch", "grep")

# Each stub notes its call, then answers from the state files of the fake machine.
STUBS = {
    "pg_isready": '[[ -e "$STATE/pg_up" ]]',
    "psql": """
case "$*" in
  *clinic_test:clinic_test@*) [[ -e "$STATE/pg_up" && -e "$STATE/role" ]] ;;
  *) [[ -e "$STATE/pg_up" && -e "$STATE/trust" ]] ;;
esac""",
    "redis-cli": '[[ -e "$STATE/redis_up" ]] && echo PONG',
    "pg_ctlcluster": 'touch "$STATE/pg_up"',
    "pg_createcluster": "true",
    "runuser": 'touch "$STATE/role"',
    "redis-server": 'touch "$STATE/redis_up"',
}
SERVER_COMMANDS = ("pg_ctlcluster", "pg_createcluster", "redis-server")
LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379/12"
ROLE_URL = "postgresql://clinic_test:clinic_test@127.0.0.1:5432/postgres"


class Machine:
    def __init__(self, root: Path) -> None:
        self.bin = root / "bin"
        self.state = root / "state"
        self.bin.mkdir()
        self.state.mkdir()
        for tool in REAL_TOOLS:
            (self.bin / tool).symlink_to(shutil.which(tool))

    def has(self, *commands: str) -> None:
        for name in commands:
            stub = self.bin / name
            stub.write_text(f'#!{BASH}\necho "{name} $*" >>"$STATE/calls"\n{STUBS[name]}\n')
            stub.chmod(0o755)

    def up(self, *flags: str) -> None:
        for flag in flags:
            (self.state / flag).touch()

    def run(self, script: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(  # nosec B603
            [BASH, "-c", f"source {SERVICES}\n{script}"],
            env={"PATH": str(self.bin), "STATE": str(self.state), "WAIT_SCALE": "0", **env},
            capture_output=True,
            text=True,
            timeout=30,
        )

    def calls(self) -> list[str]:
        path = self.state / "calls"
        return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def machine(tmp_path):
    return Machine(tmp_path)


def prepare(pg=LOCAL_PG, redis=LOCAL_REDIS) -> str:
    return f"""
for p in $(server_packages {pg} {redis}); do echo "install: $p"; done
start_postgres {pg} || echo "postgres: not ready"
echo "url: $(test_role_url {pg})"
start_redis {redis} || echo "redis: not ready"
"""


def test_a_fresh_machine_gets_both_servers_installed(machine):
    machine.has("pg_isready", "psql", "redis-cli")  # the clients only
    result = machine.run(f"server_packages {LOCAL_PG} {LOCAL_REDIS}")
    assert result.stdout.split() == ["postgresql", "redis-server"]


def test_installed_servers_are_started_and_a_test_role_made_once(machine):
    machine.has(*STUBS)
    first = machine.run(prepare())
    assert first.returncode == 0, first.stderr
    assert f"url: {ROLE_URL}" in first.stdout
    assert "not ready" not in first.stdout
    calls = machine.calls()
    assert any(c.startswith("pg_ctlcluster --skip-systemctl-redirect") for c in calls)
    assert any(c.startswith("runuser -u postgres -- psql") for c in calls)
    assert any(c.startswith("redis-server --daemonize yes") for c in calls)
    # Safe to run twice: everything answers now, nothing is started or made again.
    (machine.state / "calls").unlink()
    second = machine.run(prepare())
    assert f"url: {ROLE_URL}" in second.stdout
    assert not [c for c in machine.calls() if c.split()[0] in (*SERVER_COMMANDS, "runuser")]


def test_a_machine_whose_services_answer_is_left_as_it_is(machine):
    machine.has(*STUBS)
    machine.up("pg_up", "trust", "redis_up")
    result = machine.run(prepare())
    assert f"url: {LOCAL_PG}" in result.stdout
    assert "install:" not in result.stdout and "not ready" not in result.stdout
    assert not [c for c in machine.calls() if c.split()[0] in (*SERVER_COMMANDS, "runuser")]


def test_servers_elsewhere_are_waited_for_and_never_installed(machine):
    machine.has("pg_isready", "psql", "redis-cli")
    remote_pg = "postgresql://postgres@postgres:5432/postgres"
    remote_redis = "redis://redis:6379/12"
    result = machine.run(prepare(remote_pg, remote_redis))
    assert "install:" not in result.stdout
    assert "postgres: not ready" in result.stdout and "redis: not ready" in result.stdout
    assert f"url: {remote_pg}" in result.stdout


def test_a_given_test_database_url_is_never_replaced(machine):
    machine.has(*STUBS)
    machine.up("pg_up", "redis_up")  # answering, but refusing the default login
    given = "postgresql://someone:secret@127.0.0.1:5432/postgres"
    result = machine.run(f"echo url: $(test_role_url {given})", TEST_PG_ADMIN_URL=given)
    assert result.stdout.strip() == f"url: {given}"
    assert "runuser" not in " ".join(machine.calls())


@pytest.mark.parametrize(
    "url, local",
    [
        ("postgresql://postgres@127.0.0.1:5432/postgres", True),
        ("postgresql://u:p@localhost/db", True),
        ("redis://[::1]:6379/0", True),
        ("postgresql://postgres@postgres:5432/postgres", False),
        ("redis://10.0.0.5:6379/0", False),
    ],
)
def test_which_urls_are_this_machine(machine, url, local):
    assert (machine.run(f"url_is_local '{url}'").returncode == 0) is local


@pytest.mark.parametrize(
    "server, client, behind",
    [("160004", "15.20", "16"), ("150020", "15.20", ""), ("", "15.20", "")],
)
def test_a_pg_dump_older_than_the_server_is_noticed(tmp_path, server, client, behind):
    """pg_dump refuses to dump a newer server: CI's PostgreSQL 16 beside Debian 12's client 15
    failed the backup tests. The server's major version is said, for its client to be
    installed; nothing when the client keeps up or the server does not answer."""
    machine = Machine(tmp_path)
    for name, body in (
        ("psql", f'[[ -n "{server}" ]] && echo "{server}"'),
        ("pg_dump", f'echo "pg_dump (PostgreSQL) {client} (Debian {client}-0+deb12u1)"'),
    ):
        (machine.bin / name).write_text(f"#!{BASH}\n{body}\n")
        (machine.bin / name).chmod(0o755)
    result = machine.run(f"client_behind {LOCAL_PG}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == behind
