"""The cashier's desk served with her shift open shows it open before the shift is read:
never "open your shift" and its form for the moment the reading takes. Run by the Node.js
that comes with Playwright, with the page's elements stood in for (no browser, well under a
second)."""

from __future__ import annotations

from tests.web.page_scripts import run
from tests.web.test_cashier_shift_script import PAGE, SCRIPT


def _before_the_reading(has_shift: bool) -> dict:
    """The shift's line and forms while its first reading is on its way."""
    program = (
        PAGE
        + f"""
elements["shift-state"] = {{textContent: ""}};
var served = window.ClinicQueue.config();
served.hasShift = {str(has_shift).lower()};
window.ClinicQueue.config = function () {{ return served; }};
window.ClinicQueue.api = function () {{ return new Promise(function () {{}}); }};
"""
        + SCRIPT
        + """
process.stdout.write(JSON.stringify({
  said: elements["shift-state"].textContent,
  open_form: !elements["shift-open"].hidden,
  close_form: !elements["shift-close"].hidden,
}));
"""
    )
    return run(program)


def test_a_shift_open_when_the_desk_was_served_is_shown_open_before_it_is_read():
    assert _before_the_reading(True) == {"said": "", "open_form": False, "close_form": True}
    assert _before_the_reading(False) == {"said": "none", "open_form": True, "close_form": False}
