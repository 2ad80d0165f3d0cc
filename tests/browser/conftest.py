"""Headless Chromium (Debian's package) driven by Playwright, and signing in through the form."""

from __future__ import annotations

import os

import pytest

from tests.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
]
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it: its absence is a broken run, not a skip
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def new_tab(browser, **context_options):
    options = {"viewport": {"width": 1280, "height": 900}, "locale": "en-US", **context_options}
    context = browser.new_context(**options)
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    return context, tab


def sign_in(tab, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the form, as a person would."""
    tab.goto(f"{base_url}/login?lang=en")
    tab.fill("input[name=username]", username)
    tab.fill("input[name=password]", password)
    tab.click("form.form button[type=submit]")
    tab.wait_for_url(lambda url: "/login" not in url)
