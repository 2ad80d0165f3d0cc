"""Why a printer fails, said on the printers page in the page's language: the system's own
English words (``ConnectionRefusedError: [Errno 111] Connection refused``) are a code the
page has words for; and a printer switched off says so rather than "ready"."""

from __future__ import annotations

import json
import re

import pytest

from clinic.base import utcnow
from clinic.printing import printers as registry
from clinic.printing import thermal
from tests.conftest import ONE_BACKEND
from tests.printing.printer_server import FakePrinter


def _failure_of(port: int) -> str:
    try:
        thermal.send("127.0.0.1", port, b"job", timeout=0.5)
    except OSError as exc:
        return thermal.describe(exc)
    raise AssertionError("the printer took the job")


def test_each_way_a_printer_fails_has_a_code_of_its_own():
    printer = FakePrinter()
    try:
        printer.mode = "hang"
        hung = _failure_of(printer.port)
        printer.mode = "print"
        printer.down()
        refused = _failure_of(printer.port)
    finally:
        printer.down()
    assert thermal.failure(refused) == "refused", refused
    assert thermal.failure(hung) == "broke_off", hung
    assert thermal.failure(thermal.describe(TimeoutError("timed out"))) == "no_answer"
    assert thermal.failure(thermal.describe(OSError("not a host name: 'x'"))) == "unknown_host"
    assert thermal.failure(thermal.OUT_OF_PAPER) == "out_of_paper"
    assert thermal.failure("OSError: [Errno 113] No route to host") == "unreachable"
    assert thermal.failure("") is None


@pytest.mark.parametrize("backend", [ONE_BACKEND])
@pytest.mark.parametrize("lang", ["ru", "uz"])
def test_the_printers_page_says_why_a_printer_fails_in_its_language(
    client_as, runtime, backend, lang
):
    with runtime.db.transaction() as s:
        printer = registry.create_printer(s, {"name": "Касса", "host": "127.0.0.1", "port": 9})
        registry.mark_failing(s, printer, "ConnectionRefusedError: [Errno 111] refused", utcnow())
    admin = client_as("admin")
    [listed] = admin.get("/api/v1/printing/printers").get_json()
    assert listed["failure"] == "refused"
    page = admin.get(f"/admin/printers?lang={lang}").get_data(as_text=True)
    found = re.search(r'id="printers-config">(.*?)</script>', page, re.S)
    texts = json.loads(found.group(1))["texts"]
    english = json.loads(
        re.search(
            r'id="printers-config">(.*?)</script>',
            admin.get("/admin/printers?lang=en").get_data(as_text=True),
            re.S,
        ).group(1)
    )["texts"]
    assert set(texts["failures"]) == set(thermal.FAILURES)
    for code in thermal.FAILURES:
        assert texts["failures"][code] != english["failures"][code], (lang, code)
    assert texts["switchedOff"] != english["switchedOff"]
