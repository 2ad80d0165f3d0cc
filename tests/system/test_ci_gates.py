"""The CI gates (.ci/gates.py) fail the run exactly when a promise is broken."""

from __future__ import annotations

import importlib.util
import json
import subprocess  # nosec B404 - runs the repository's own script
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GATES = ROOT / ".ci" / "gates.py"

spec = importlib.util.spec_from_file_location("ci_gates", GATES)
gates = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gates)


def summary(lines: int, covered: int, branches: int = 0, covered_branches: int = 0) -> dict:
    return {
        "summary": {
            "num_statements": lines,
            "covered_lines": covered,
            "num_branches": branches,
            "covered_branches": covered_branches,
        }
    }


def coverage_report(overall: float, domain_file: dict, branch: bool = True) -> dict:
    return {
        "meta": {"branch_coverage": branch},
        "totals": {"percent_covered": overall},
        "files": {
            "clinic/queue/tickets.py": domain_file,
            "clinic/money.py": summary(40, 40, 10, 10),
            "web/queue/api.py": summary(100, 80, 20, 10),
        },
    }


def run(*args: str, cwd: Path = ROOT):
    return subprocess.run(  # nosec B603
        [sys.executable, str(GATES), *args], cwd=cwd, capture_output=True, text=True, timeout=30
    )


def test_coverage_passes_at_95_overall_and_every_domain_branch_covered():
    report = coverage_report(95.0, summary(100, 100, 30, 30))
    assert gates.coverage_gate(report, 95, 100) == []


def test_coverage_under_95_overall_fails():
    [problem] = gates.coverage_gate(coverage_report(94.99, summary(10, 10)), 95, 100)
    assert "overall branch coverage 94.99% is under 95%" in problem


def test_one_uncovered_domain_branch_fails_and_names_the_file():
    [problem] = gates.coverage_gate(coverage_report(99.0, summary(100, 100, 30, 29)), 95, 100)
    assert "clinic/ branch coverage" in problem and "clinic/queue/tickets.py 99.2%" in problem
    assert "money.py" not in problem


def test_a_report_without_branch_coverage_or_without_the_domain_fails():
    [problem] = gates.coverage_gate(coverage_report(100, summary(1, 1), branch=False), 95, 100)
    assert "without branch coverage" in problem
    report = coverage_report(100, summary(1, 1))
    report["files"] = {"web/app.py": summary(1, 1)}
    assert "no file of clinic/" in gates.coverage_gate(report, 95, 100)[0]


def test_the_coverage_gate_exits_1_when_crossed_and_0_when_held(tmp_path):
    failing, passing = tmp_path / "failing.json", tmp_path / "passing.json"
    failing.write_text(json.dumps(coverage_report(90.0, summary(10, 9))))
    passing.write_text(json.dumps(coverage_report(97.5, summary(10, 10))))
    crossed = run("coverage", str(failing))
    assert crossed.returncode == 1 and crossed.stderr.count("FAILED") == 2
    held = run("coverage", str(passing))
    assert held.returncode == 0 and "97.50% overall" in held.stdout
    assert run("coverage", str(tmp_path / "missing.json")).returncode == 2
    (tmp_path / "list.json").write_text("[]")
    assert run("coverage", str(tmp_path / "list.json")).returncode == 2


JUNIT = '<testsuites><testsuite name="pytest" tests="900" time="{}"/></testsuites>'


@pytest.mark.parametrize("seconds, code", [(299.9, 0), (300.0, 0), (300.5, 1), (1800, 1)])
def test_the_duration_gate_fails_a_suite_over_five_minutes(tmp_path, seconds, code):
    report = tmp_path / "junit.xml"
    report.write_text(JUNIT.format(seconds))
    result = run("duration", str(report))
    assert result.returncode == code, result.stdout + result.stderr
    if code:
        assert "over the 300 s limit" in result.stderr


def test_the_duration_gate_reads_a_bare_testsuite_and_refuses_a_broken_report(tmp_path):
    assert gates.suite_seconds(gates.ET.fromstring('<testsuite time="12.5"/>')) == 12.5
    with pytest.raises(gates.Unreadable):
        gates.suite_seconds(gates.ET.fromstring("<testsuites/>"))
    with pytest.raises(gates.Unreadable):
        gates.suite_seconds(gates.ET.fromstring("<testsuite/>"))
    broken = tmp_path / "junit.xml"
    broken.write_text("<testsuites>")
    assert run("duration", str(broken)).returncode == 2


def test_a_coverage_exclusion_without_a_reason_fails(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "fine.py").write_text(
        "x = 1  # pragma: no cover - only on Windows, which CI does not run\n"
    )
    assert run("pragmas", str(package)).returncode == 0
    (package / "bare.py").write_text("if x:  # pragma: no cover\n    pass\n")
    result = run("pragmas", str(package))
    assert result.returncode == 1 and "bare.py:1" in result.stderr


def test_the_repository_gives_a_reason_for_every_exclusion():
    assert gates.pragma_gate([ROOT / d for d in ("clinic", "web", "tasks", "workers")]) == []
