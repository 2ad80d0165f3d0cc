"""What the printer registry refuses: settings the printing worker could never print with
are a 422 naming the field, and change nothing."""

from __future__ import annotations

import pytest

from clinic.printing import printers as registry


@pytest.mark.parametrize(
    "host",
    [
        "10.0.0.5\n",  # pasted with its line end: no printer has that address
        "999.1.1.1",  # a mistyped address is no host name either
        "192.168.1",
        "0.0.0.0",  # "any address": the worker would connect to its own machine
        "255.255.255.255",
        "224.0.0.1",
    ],
)
def test_an_address_no_printer_can_have_is_refused(host):
    assert not registry.is_host(host)


@pytest.mark.parametrize(
    "host", ["192.168.1.50", "printer-1", "kassa.clinic.lan", "fe80::1", "3com-printer.lan"]
)
def test_a_printers_address_or_host_name_is_taken(host):
    assert registry.is_host(host)


def test_bad_printer_settings_are_refused_naming_the_field_and_change_nothing(client):
    created = client.post("/api/v1/printing/printers", json={"name": "A", "host": "10.0.0.5"})
    assert created.status_code == 201
    url = f"/api/v1/printing/printers/{created.get_json()['id']}"
    for changes, field in (
        ({"host": "10.0.0.6\n"}, "host"),
        ({"host": "10.0.0.256"}, "host"),
        ({"languages": "ru+ru"}, "languages"),
        ({"languages": "uz+ru+uz"}, "languages"),
    ):
        refused = client.patch(url, json=changes)
        assert refused.status_code == 422, changes
        assert set(refused.get_json()["errors"]) == {field}
        body = {"name": "B", "host": "10.0.0.7", **changes}
        refused = client.post("/api/v1/printing/printers", json=body)
        assert refused.status_code == 422, changes
        assert set(refused.get_json()["errors"]) == {field}
    listed = client.get("/api/v1/printing/printers").get_json()
    assert [(p["name"], p["host"], p["languages"]) for p in listed] == [("A", "10.0.0.5", "ru+uz")]


def test_a_name_another_printer_has_is_a_409_naming_the_name_field(client):
    made = [
        client.post("/api/v1/printing/printers", json={"name": name, "host": host})
        for name, host in (("Касса 1", "10.0.0.5"), ("Касса 2", "10.0.0.6"))
    ]
    assert [m.status_code for m in made] == [201, 201]
    again = client.post("/api/v1/printing/printers", json={"name": " Касса 1 ", "host": "10.0.0.7"})
    second = made[1].get_json()["id"]
    renamed = client.patch(f"/api/v1/printing/printers/{second}", json={"name": "Касса 1"})
    for refused in (again, renamed):
        body = refused.get_json()
        assert refused.status_code == 409 and body["code"] == "name_taken", body
        assert set(body["errors"]) == {"name"}, body
