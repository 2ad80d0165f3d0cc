"""The GitHub workflows as an operator relies on them: actions pinned by commit and images by
digest, deploys only after the security scan and the smoke-run image, and monitoring that can
run on its schedule."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def workflow(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def test_every_action_is_pinned_by_commit_and_every_image_by_digest():
    texts = {path.name: path.read_text() for path in WORKFLOWS.glob("*.yml")}
    texts["docker-compose.yml"] = (ROOT / "docker-compose.yml").read_text()
    pinned = 0
    for name, text in texts.items():
        for ref in re.findall(r"^[ \t]*-?[ \t]*uses:[ \t]*(\S+)", text, re.MULTILINE):
            if not ref.startswith(("$/", "./")):
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), (name, ref)
        for image in re.findall(r"^[ \t]*image:[ \t]*(\S+)", text, re.MULTILINE):
            if "${" not in image:  # the application's own image, named by the deploy
                assert re.search(r"@sha256:[0-9a-f]{64}$", image), (name, image)
                pinned += 1
    assert pinned >= 8  # the patterns still find the workflows' and compose's images


def test_deploys_wait_for_the_security_scan_the_tests_and_the_smoke_run_image():
    jobs = workflow("ci-cd.yml")["jobs"]

    def needs(job: str) -> set[str]:
        direct = jobs[job].get("needs", [])
        direct = [direct] if isinstance(direct, str) else direct
        return set(direct).union(*(needs(n) for n in direct))

    for deploy in ("deploy-staging", "deploy-production"):
        assert {"security", "lint", "test", "load-test", "image"} <= needs(deploy)
        assert jobs[deploy]["environment"]["name"] in ("staging", "production")
    assert jobs["security"]["uses"].endswith(".github/workflows/security-scan.yml")
    assert "workflow_call" in workflow("security-scan.yml")[True]  # YAML reads `on` as True


def test_scheduled_monitoring_is_not_held_by_the_deploy_environments_rules():
    """Production's required reviewers would hold every scheduled run for approval, and
    staging's branch rule (develop) refuses runs from main: monitoring has its own."""
    job = workflow("monitoring.yml")["jobs"]["check"]
    environments = {
        job["environment"]["name"].replace("${{ matrix.environment }}", leg)
        for leg in job["strategy"]["matrix"]["environment"]
    }
    assert environments.isdisjoint({"staging", "production"}), environments
    assert job["environment"]["deployment"] is False


def _bandit_arguments(text: str) -> list[list[str]]:
    return [line.split()[1:] for line in re.findall(r"\S*/bandit [^\n]*", text)]


def test_the_security_scan_runs_bandit_as_make_lint_does():
    """`make lint` runs bandit as it passes; the scan ran it with `--configfile setup.cfg`,
    which bandit reads as YAML and refuses (exit 2), failing every scan and so every deploy."""
    (make,) = _bandit_arguments((ROOT / "Makefile").read_text())
    scans = _bandit_arguments((WORKFLOWS / "security-scan.yml").read_text())
    assert scans and all(scan == make for scan in scans), (scans, make)
