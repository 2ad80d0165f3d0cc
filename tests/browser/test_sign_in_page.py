"""Signing in as a person does it, in headless Chromium."""

from __future__ import annotations

import pytest

from clinic.accounts.permissions import ROLES
from tests.browser.conftest import new_tab, sign_in_by_form
from tests.conftest import PASSWORD
from web.pages import NAVIGATION_KEY
from web.permissions import SIGNED_IN, declared_permission

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def expected_links(app, role: str) -> set[str]:
    """The navigation a role should see: every link whose page its permissions open."""
    with app.test_request_context():
        from flask import url_for

        shown = set()
        for link in app.extensions[NAVIGATION_KEY]:
            if link.endpoint not in app.view_functions:
                continue
            permission = declared_permission(app, link.endpoint)
            if permission == SIGNED_IN or permission in ROLES[role]:
                shown.add(url_for(link.endpoint))
        return shown


def test_a_registrar_signs_in_sees_only_registrar_pages_and_signs_out(
    browser, app, live_server, make_user
):
    make_user("registrar", "reception1")
    context, tab = new_tab(browser)
    tab.goto(f"{live_server}/services?lang=en")
    assert "/login" in tab.url  # anonymous: sent to the sign-in page

    tab.fill("input[name=username]", "reception1")
    tab.fill("input[name=password]", "wrong password here")
    tab.click("form.form button[type=submit]")
    assert "Wrong username or password" in tab.inner_text(".alert--error")

    sign_in_by_form(tab, live_server, "reception1")
    links = {a.get_attribute("href") for a in tab.locator("nav.mainnav a").all()}
    assert links == expected_links(app, "registrar")
    assert not any(h.startswith("/admin") for h in links)

    cookie = next(c for c in context.cookies() if c["name"] == "clinic_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False  # plain HTTP in development

    assert tab.goto(f"{live_server}/admin/users").status == 403
    tab.goto(f"{live_server}/services?lang=en")
    tab.click(".account button[type=submit]")
    tab.wait_for_url(lambda url: "/login" in url)
    tab.goto(f"{live_server}/services?lang=en")
    assert "/login" in tab.url  # signed out: the session is gone
    context.close()


def test_an_admin_sees_the_administration_pages(browser, app, live_server, make_user):
    make_user("admin", "chief")
    context, tab = new_tab(browser)
    sign_in_by_form(tab, live_server, "chief", PASSWORD)
    links = {a.get_attribute("href") for a in tab.locator("nav.mainnav a").all()}
    assert links == expected_links(app, "admin")
    context.close()
