"""The package carries what the web needs at run time: `pip wheel .` builds without a
warning, and the wheel holds the templates, static files, translations and the domain's data
files next to the code."""

from __future__ import annotations

import shutil
import subprocess  # nosec B404 - pip on our own tree
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = [
    "web/templates/base.html",
    "web/templates/queue/board.html",
    "web/static/js/clinic-ws.js",
    "web/static/css/clinic.css",
    "web/translations/ru/LC_MESSAGES/messages.mo",
    "web/translations/uz/LC_MESSAGES/messages.mo",
    "clinic/accounts/data/common-passwords.txt",
    "clinic/queue/access.py",
    "workers/main.py",
]


def test_the_wheel_builds_without_warnings_and_carries_the_data_files(tmp_path):
    # pip builds in the source tree (build/, *.egg-info): build a copy, leave the tree clean.
    source = tmp_path / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "instance", "build", "*.egg-info", "__pycache__", ".*cache*"
        ),
    )
    done = subprocess.run(  # nosec B603
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--wheel-dir",
            str(tmp_path),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    output = done.stdout + done.stderr
    assert "Warning" not in output and "absent from the `packages`" not in output, output[-3000:]
    (wheel,) = tmp_path.glob("clinic-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [name for name in EXPECTED if name not in names] == []
    assert not [name for name in names if "__pycache__" in name or name.startswith("tests/")]
