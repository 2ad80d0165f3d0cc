"""Page scripts run without a browser: the Node.js that comes with Playwright runs a page's
script after a program that stands in for the page (well under a second each)."""

from __future__ import annotations

import json
import subprocess  # nosec B404 - runs Playwright's own Node.js on the project's scripts
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "web" / "static" / "js"

# Anything the script touches of the page: every property is another stand-in, every call
# answers one; what the script sets is kept.
STAND_IN = """
var window = globalThis;
function standIn() {
  var kept = {};
  var fn = function () { return standIn(); };
  return new Proxy(fn, {
    get: function (target, name) {
      if (name in kept) return kept[name];
      if (name === Symbol.toPrimitive) return function () { return ""; };
      if (name === "then") return undefined;
      return standIn();
    },
    set: function (target, name, value) { kept[name] = value; return true; },
  });
}
"""


# The doctor's screen's words, as the page hands them to doctor.js (only their placeholders).
DOCTOR_TEXTS = {
    "statuses": {},
    "roomBusy": "busy {code}",
    "roomBusyElsewhere": "busy elsewhere",
    "nobody": "nobody",
    "nobodyFree": "nobody free",
    "network": "network",
    "refusals": {},
    "failed": "failed {detail}",
    "forbidden": "forbidden",
    "room": "room {room}",
}


def doctor_document(texts: dict | None = None, **config) -> str:
    """The doctor's screen's config (queue 1, room 3, and ``config``; its words and
    ``texts``) and a ``doc`` answering its elements by id from ``ids``, made by the
    program's own ``el()``."""
    config = {"queue": 1, "roomId": 3, **config, "queueNames": {}}
    config["texts"] = {**DOCTOR_TEXTS, **(texts or {})}
    return f"""var config = {json.dumps(config, ensure_ascii=False)};
var ids = {{"doctor-config": {{textContent: JSON.stringify(config)}}}};
var doc = {{
  getElementById: function (id) {{ return (ids[id] = ids[id] || el()); }},
  querySelector: function () {{ return null; }},
  createElement: el,
}};
"""


def script(name: str) -> str:
    """The text of ``web/static/js/<name>``."""
    return (SCRIPTS / name).read_text(encoding="utf-8")


def node() -> str:
    from playwright._impl._driver import compute_driver_executable

    executable = compute_driver_executable()[0]
    if not Path(executable).exists():  # pragma: no cover - Playwright without its driver
        pytest.skip("no Node.js in Playwright's driver")
    return executable


def run(program: str):
    """Run ``program`` and answer what it wrote to its standard output, read as JSON."""
    ran = subprocess.run(  # nosec B603 - a fixed program, no shell
        [node(), "-e", program], capture_output=True, text=True, timeout=30, check=True
    )
    return json.loads(ran.stdout)
