#!/usr/bin/env python3
"""The pipeline's enforced promises, as gates that fail the CI run when crossed.

    python .ci/gates.py coverage coverage.json    branch coverage: 95% overall, 100% for clinic/
    python .ci/gates.py duration junit.xml        the test suite took at most 5 minutes
    python .ci/gates.py pragmas clinic web ...    every "pragma: no cover" says why

``coverage.json`` is coverage.py's JSON report (``pytest --cov --cov-report=json``), measured
with ``branch = True``; ``junit.xml`` is pytest's ``--junitxml`` report, whose suite time is
the wall time of the whole run. Exit 0 when the gate holds, 1 when it is crossed (with the
reason), 2 when the report cannot be read. Standard library only: it runs before anything is
installed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import xml.etree.ElementTree as ET  # nosec B405 - our own pytest report, not foreign input
from pathlib import Path

OVERALL_MIN = 95.0
DOMAIN_MIN = 100.0
DOMAIN = "clinic/"
SUITE_MAX_SECONDS = 300.0
# "# pragma: no cover" must be followed by a reason: "# pragma: no cover - <why>".
PRAGMA = re.compile(r"#\s*pragma:\s*no\s*(cover|branch)\b(?P<rest>.*)$", re.IGNORECASE)
REASON = re.compile(r"^\s*[-:—]\s*\S.{4,}")


class Unreadable(Exception):
    """The report is missing or not the kind of report expected."""


def _percent(covered: int, total: int) -> float:
    return 100.0 if total == 0 else 100.0 * covered / total


def _file_counts(summary: dict) -> tuple[int, int]:
    """(covered, total) over statements and branches, as coverage.py counts its percentage."""
    covered = summary["covered_lines"] + summary.get("covered_branches", 0)
    total = summary["num_statements"] + summary.get("num_branches", 0)
    return covered, total


def coverage_gate(report: dict, overall_min: float, domain_min: float) -> list[str]:
    """The reasons the coverage report fails the gate (none: it passes)."""
    try:
        files = report["files"]
        overall = report["totals"]["percent_covered"]
        if not report["meta"].get("branch_coverage"):
            return ["the report was measured without branch coverage (set branch = True)"]
    except (KeyError, TypeError) as exc:
        raise Unreadable(f"not a coverage.py JSON report: missing {exc}") from exc
    problems = []
    if overall < overall_min:
        problems.append(f"overall branch coverage {overall:.2f}% is under {overall_min:g}%")
    domain = {
        path: _file_counts(data["summary"])
        for path, data in files.items()
        if path.replace("\\", "/").startswith(DOMAIN)
    }
    if not domain:
        problems.append(f"no file of {DOMAIN} in the report: was it measured?")
        return problems
    covered = sum(c for c, _ in domain.values())
    total = sum(t for _, t in domain.values())
    percent = _percent(covered, total)
    if percent < domain_min:
        short = sorted(
            (path, _percent(c, t)) for path, (c, t) in domain.items() if _percent(c, t) < 100.0
        )
        listed = ", ".join(f"{path} {p:.1f}%" for path, p in short)
        problems.append(
            f"{DOMAIN} branch coverage {percent:.2f}% is under {domain_min:g}% ({listed})"
        )
    return problems


def suite_seconds(junit: ET.Element) -> float:
    """Wall time of the run: the <testsuite> time (pytest writes one, or several under
    <testsuites>, which ran one after another)."""
    suites = [junit] if junit.tag == "testsuite" else junit.findall("testsuite")
    if not suites:
        raise Unreadable("no <testsuite> in the JUnit report")
    try:
        return sum(float(suite.attrib["time"]) for suite in suites)
    except (KeyError, ValueError) as exc:
        raise Unreadable(f"a <testsuite> without a readable time: {exc}") from exc


def duration_gate(seconds: float, max_seconds: float) -> list[str]:
    if seconds > max_seconds:
        return [f"the test suite took {seconds:.0f} s, over the {max_seconds:.0f} s limit"]
    return []


def pragma_gate(paths: list[Path]) -> list[str]:
    """Every line left out of the coverage measure must say why, on the same line."""
    problems = []
    for root in paths:
        for path in sorted(root.rglob("*.py")) if root.is_dir() else [root]:
            for number, line in enumerate(path.read_text().splitlines(), 1):
                match = PRAGMA.search(line)
                if match and not REASON.match(match.group("rest")):
                    problems.append(f"{path}:{number}: 'pragma: no cover' without a reason")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="gate", required=True)
    cov = commands.add_parser("coverage", help="branch coverage thresholds")
    cov.add_argument("report", type=Path)
    cov.add_argument("--overall-min", type=float, default=OVERALL_MIN)
    cov.add_argument("--domain-min", type=float, default=DOMAIN_MIN)
    dur = commands.add_parser("duration", help="test suite wall time")
    dur.add_argument("report", type=Path)
    dur.add_argument("--max-seconds", type=float, default=SUITE_MAX_SECONDS)
    pragmas = commands.add_parser("pragmas", help="coverage exclusions carry a reason")
    pragmas.add_argument("paths", type=Path, nargs="+")
    args = parser.parse_args(argv)

    try:
        if args.gate == "coverage":
            report = json.loads(args.report.read_text())
            problems = coverage_gate(report, args.overall_min, args.domain_min)
            passed = f"branch coverage {report['totals']['percent_covered']:.2f}% overall"
        elif args.gate == "duration":
            seconds = suite_seconds(ET.parse(args.report).getroot())  # nosec B314
            problems = duration_gate(seconds, args.max_seconds)
            passed = f"the test suite took {seconds:.0f} s (limit {args.max_seconds:.0f} s)"
        else:
            problems = pragma_gate(args.paths)
            passed = "every coverage exclusion gives its reason"
    except (OSError, ValueError, ET.ParseError, Unreadable) as exc:
        print(f"gate {args.gate}: cannot read the report: {exc}", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"gate {args.gate} FAILED: {problem}", file=sys.stderr)
    if not problems:
        print(f"gate {args.gate} passed: {passed}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
