"""The deployment files stay valid: docker-compose.yml against the Compose Specification (and a
compose implementation, when one is installed), every variable it needs documented."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, timeout=30, check=False
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_compose_file_matches_the_compose_specification():
    check = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run(
        [str(check), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_config_resolves_with_the_example_environment():
    command = _compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    result = subprocess.run(
        [*command, "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE), "config", "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_variable_the_compose_file_reads_is_in_the_example_environment():
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE.read_text()))
    documented = {
        line.split("=", 1)[0]
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert used <= documented, sorted(used - documented)


def test_compose_commits_no_secret_and_keeps_flower_on_loopback():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    for name in ("migrate", "web", "worker", "beat", "flower"):
        env = services[name]["environment"]
        for secret in ("SECRET_KEY", "FLOWER_BASIC_AUTH"):
            assert re.fullmatch(r"\$\{%s:\?[^}]*\}" % secret, env[secret]), (name, secret)
        assert env["CLINIC_ENV"] == "production"
    assert all(port.startswith("127.0.0.1:") for port in services["flower"]["ports"])
    assert services["beat"]["deploy"]["replicas"] == 1


def test_every_setting_the_application_reads_reaches_its_containers():
    """A setting put in .env that compose does not pass on silently does nothing (outgoing
    mail, say, would never leave a compose host)."""
    # The settings object and the modules that read some of its values for it.
    sources = ("settings.py", "setting_values.py", "payment_settings.py")
    read = set(
        re.findall(
            r"(?:env\.get\(|(?:whole_number|pairs|rate_limit)\(\s*env, )\"([A-Z0-9_]+)\"",
            "".join((ROOT / "clinic" / name).read_text() for name in sources),
        )
    )
    assert {"CLINIC_SMTP_HOST", "SECRET_KEY", "CLINIC_TZ"} <= read  # the pattern still finds them
    # The image sets the instance folder; the beat volume is mounted there.
    read.discard("CLINIC_INSTANCE")
    env = yaml.safe_load(COMPOSE.read_text())["x-clinic"]["environment"]
    assert read <= set(env), sorted(read - set(env))


def test_the_number_of_workers_is_a_setting_every_deploy_keeps():
    """`docker compose up` sets each service it starts back to its configured count: workers
    added with `up --scale worker=3` were cut back to one by the next deploy's `up`. The count
    lives in .env, where every `up` reads it."""
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    assert services["worker"]["deploy"]["replicas"] == "${CLINIC_WORKER_REPLICAS:-1}"
    advice = (ROOT / "docs" / "operations.md").read_text() + COMPOSE.read_text()
    assert "--scale worker" not in advice
