"""``clinic run`` and ``clinic web`` outside production, with no ``CLINIC_PUBLIC_URL``: the
tickets' QR codes and links open the address the command serves, not the development
default's port 5000. A given address, and production, are left as they are."""

from __future__ import annotations

import os

import pytest

from clinic.public_url import public_url
from web.cli import serve_links_here


@pytest.mark.parametrize(
    "host, port, address",
    [
        ("127.0.0.1", 5077, "http://localhost:5077"),
        ("0.0.0.0", 8000, "http://localhost:8000"),
        ("192.168.1.20", 5000, "http://192.168.1.20:5000"),
        ("fe80::1", 5000, "http://[fe80::1]:5000"),
    ],
)
def test_the_links_open_the_address_served(monkeypatch, host, port, address):
    monkeypatch.delenv("CLINIC_PUBLIC_URL", raising=False)
    monkeypatch.delenv("CLINIC_ENV", raising=False)
    serve_links_here(host, port)
    assert public_url(os.environ) == address


def test_a_given_address_and_production_are_left_alone(monkeypatch):
    monkeypatch.setenv("CLINIC_PUBLIC_URL", "https://clinic.example.uz")
    serve_links_here("127.0.0.1", 5077)
    assert public_url(os.environ) == "https://clinic.example.uz"

    monkeypatch.delenv("CLINIC_PUBLIC_URL")
    monkeypatch.setenv("CLINIC_ENV", "production")
    serve_links_here("127.0.0.1", 5077)
    assert "CLINIC_PUBLIC_URL" not in os.environ
