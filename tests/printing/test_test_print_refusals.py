"""A test page is printed on paper or not at all: a "PDF only" printer and one switched off
print nothing, so their test is refused by its code instead of becoming a PDF nobody sees
while the page says the page was sent. A printer removed meanwhile is refused by its code too,
which the printers page treats as done."""

from __future__ import annotations

from clinic.printing.models import JobState


def _printer(client, **extra) -> dict:
    body = {"name": "Регистратура", "host": "127.0.0.1", "port": 9, **extra}
    made = client.post("/api/v1/printing/printers", json=body)
    assert made.status_code == 201, made.get_json()
    return made.get_json()


def _test_jobs(client) -> list[dict]:
    return client.get("/api/v1/printing/jobs?scope=printers").get_json()


def test_a_printer_that_prints_nothing_on_paper_refuses_a_test_page(client):
    pdf = _printer(client, name="PDF", kind="pdf", host="")
    off = _printer(client, name="Off", active=False)

    refused = client.post(f"/api/v1/printing/printers/{pdf['id']}/test")
    assert refused.status_code == 409 and refused.get_json()["code"] == "printer_pdf_only"
    refused = client.post(f"/api/v1/printing/printers/{off['id']}/test")
    assert refused.status_code == 409 and refused.get_json()["code"] == "printer_switched_off"
    assert _test_jobs(client) == []

    # Switched on again, it prints its test page.
    client.patch(f"/api/v1/printing/printers/{off['id']}", json={"active": True})
    made = client.post(f"/api/v1/printing/printers/{off['id']}/test")
    assert made.status_code == 202 and made.get_json()["state"] == JobState.QUEUED
    assert [j["id"] for j in _test_jobs(client)] == [made.get_json()["id"]]


def test_a_printer_removed_already_is_refused_by_its_code(client):
    printer = _printer(client)
    url = f"/api/v1/printing/printers/{printer['id']}"
    assert client.delete(url).status_code == 204
    for again in (client.delete(url), client.post(f"{url}/test"), client.patch(url, json={})):
        assert again.status_code == 404 and again.get_json()["code"] == "printer_unknown"
