"""The layering holds: the import contracts in setup.cfg (no cycles between a layer's
packages, no Flask or Celery in the domain, neither tasks nor workers import the web)."""

from __future__ import annotations

import os
import subprocess  # nosec B404 - our own linter on our own tree
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contracts_are_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(  # nosec B603
        [str(lint_imports), "--no-cache"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout
