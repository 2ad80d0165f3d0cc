"""The price list page in headless Chromium keeps its table up to date: a price changed, a
service added or switched off by anyone else shows without reloading the page."""

from __future__ import annotations

import pytest

from clinic.reference import price_list
from tests.browser.conftest import new_tab, sign_in, wait_live

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _service(code: str, price: int) -> dict:
    return {"code": code, "name_ru": "Приём", "name_uz": "Qabul", "name_en": f"Visit {code}"} | {
        "price": price
    }


def test_a_price_changed_elsewhere_shows_on_an_open_price_list(
    browser, live_server, runtime, make_user
):
    """Also a change landing after the server drew the table and before the page's script
    subscribed: it comes as no event, and the page's first snapshot must still bring it."""
    with runtime.db.transaction() as s:
        visit = price_list.create_service(s, _service("GP-01", 15_000_000)).id
    make_user("registrar", "reception")
    context, tab = new_tab(browser)
    changed = []

    def change_then_serve(route):
        # The page's script is asked for once its HTML, the table drawn at 150,000, is in.
        if not changed:
            with runtime.db.transaction() as s:  # the administrator, at another desk
                price_list.update_service(s, visit, {"price": 16_000_000})
            changed.append(True)
        route.continue_()

    try:
        sign_in(tab, live_server, "reception")
        tab.route("**/static/js/price-list-live.js*", change_then_serve)
        tab.goto(f"{live_server}/services?lang=en")
        wait_live(tab)
        assert changed
        _wait_for_price(tab, "GP-01", "160,000 UZS")

        with runtime.db.transaction() as s:
            price_list.update_service(s, visit, {"price": 18_000_000})
        _wait_for_price(tab, "GP-01", "180,000 UZS")
        with runtime.db.transaction() as s:
            price_list.create_service(s, _service("GP-02", 9_000_000))
            price_list.deactivate_service(s, visit)
        tab.wait_for_selector("#services-table tr[data-code='GP-02']", timeout=5_000)
        tab.wait_for_selector("#services-table tr[data-code='GP-01'].is-inactive", timeout=5_000)
        assert tab.get_attribute("#price-table [data-service-count]", "data-service-count") == "2"
    finally:
        context.close()


def _wait_for_price(tab, code: str, price: str) -> None:
    tab.wait_for_function(
        "([code, price]) => ((document.querySelector(`tr[data-code='${code}']`) || {})"
        ".innerText || '').includes(price)",
        arg=[code, price],
        timeout=5_000,
    )
