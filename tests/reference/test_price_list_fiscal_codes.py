"""The price list page marks a service without its IKPU or package code: Payme prints no
fiscal receipt for an invoice naming it (the detail is left out), which the administrator
could otherwise learn only from the server's log."""

from __future__ import annotations

import re

from clinic.reference.price_list import create_service

NAMES = {"name_ru": "Приём", "name_uz": "Qabul", "name_en": "Visit"}
FULL = {"ikpu_code": "10000000000000001", "package_code": "1000001"}


def _row(page: str, code: str) -> str:
    found = re.search(rf'<tr[^>]*data-code="{code}".*?</tr>', page, re.S)
    assert found, code
    return found.group(0)


def test_a_service_without_its_fiscal_codes_is_marked_on_the_price_list(client, runtime):
    with runtime.db.transaction() as s:
        create_service(s, {"code": "FULL", **NAMES, "price": 100, **FULL})
        create_service(s, {"code": "NO-IKPU", **NAMES, "price": 100, "package_code": "1"})
        create_service(
            s, {"code": "NO-PACK", **NAMES, "price": 100, "ikpu_code": FULL["ikpu_code"]}
        )
    page = client.get("/services?lang=en").get_data(as_text=True)
    assert "fiscal-codes-missing" not in _row(page, "FULL")
    for code in ("NO-IKPU", "NO-PACK"):
        assert "No IKPU or package code" in _row(page, code)
    russian = client.get("/services?lang=ru").get_data(as_text=True)
    assert "Нет кода ИКПУ или кода упаковки" in _row(russian, "NO-IKPU")
    uzbek = client.get("/services?lang=uz").get_data(as_text=True)
    assert "IKPU yoki qadoq kodi yo" in _row(uzbek, "NO-IKPU")
