"""The printers page lists what a printer may print for, as the administrator types it in its
"Prints for" field: each working queue by the name the desk shows, the two catch-alls, and
each cashier by name. A switched-off queue and a non-cashier are not there."""

from __future__ import annotations

import re
from html import unescape

from tests.queue.test_api import make_queue


def _listed(page: str) -> dict[str, str]:
    found = re.findall(r"<li><code>([^<]+)</code>: ([^<]+)</li>", page)
    return {target: unescape(what) for target, what in found}


def test_the_printers_page_lists_what_a_printer_may_print_for(client_as, client, runtime):
    therapy = make_queue(runtime, "therapy")
    asleep = make_queue(runtime, "surgery")
    assert client.patch(f"/api/v1/queues/{asleep}", json={"active": False}).status_code == 200
    client_as("cashier", "kassir7")

    page = client.get("/admin/printers?lang=ru", headers={"Accept": "text/html"})
    assert page.status_code == 200
    listed = _listed(page.get_data(as_text=True))
    assert listed[f"queue:{therapy}"] == "талоны очереди «Кардиология»"
    assert f"queue:{asleep}" not in listed
    assert listed["tickets"] == "все остальные талоны"
    assert listed["receipts"].startswith("все остальные кассовые документы")
    assert listed["cashier:kassir7"].startswith("документы кассира ")
    assert "cashier:admin" not in listed
