"""The kiosk's account, which makes no API tokens, is not offered the form that would make one:
its tokens page says why instead."""

from __future__ import annotations

import pytest

from tests.conftest import ONE_BACKEND

# A server-rendered page, not database rules: one backend.
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])
HTML = {"Accept": "text/html"}
WHY = "The kiosk's account makes no API tokens"


def test_the_kiosk_is_told_why_it_makes_no_tokens_instead_of_a_form(client_as):
    page = client_as("kiosk").get("/account/tokens?lang=en", headers=HTML)
    html = page.get_data(as_text=True).replace("&#39;", "'")
    assert page.status_code == 200
    assert 'action="/account/tokens"' not in html and 'name="days"' not in html
    assert WHY in html


@pytest.mark.parametrize("role", ["registrar", "display"])
def test_other_accounts_keep_the_form(client_as, role):
    html = client_as(role).get("/account/tokens?lang=en", headers=HTML).get_data(as_text=True)
    assert 'action="/account/tokens"' in html and WHY not in html.replace("&#39;", "'")


def test_a_kiosk_that_also_holds_another_role_keeps_the_form(client_as, runtime):
    from clinic.accounts import users

    desk = client_as("kiosk", "hall-kiosk")
    with runtime.db.transaction() as s:
        users.set_roles(s, users.find_user(s, "hall-kiosk"), ["kiosk", "registrar"])
    desk.sign_in("hall-kiosk")
    html = desk.get("/account/tokens?lang=en", headers=HTML).get_data(as_text=True)
    assert 'action="/account/tokens"' in html
