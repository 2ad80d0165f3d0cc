"""Headless Chromium (Debian's package) driven by Playwright, and signing in through the form."""

from __future__ import annotations

import os
import re
from datetime import time

import pytest

from tests.conftest import ONE_BACKEND, PASSWORD

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


@pytest.fixture(params=[ONE_BACKEND])
def backend(request) -> str:
    """Pages are the same on either database; the database rules are tested elsewhere on both."""
    return request.param


@pytest.fixture(scope="session")
def browser():
    """One Chromium per test process; each test opens its own context (cookies, storage)."""
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


def sign_in_by_form(tab, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the form, as a person would."""
    tab.goto(f"{base_url}/login?lang=en")
    tab.fill("input[name=username]", username)
    tab.fill("input[name=password]", password)
    tab.click("form.form button[type=submit]")
    tab.wait_for_url(lambda url: "/login" not in url)


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in(tab, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Signed in by the sign-in form's own requests, sent with the tab's cookies but without
    drawing the form and the page it leads to: the pages a test is about then open on the
    session a person's sign-in leaves (language, device cookie and all). Two page loads less
    a test, a quarter of a browser test's time; :func:`sign_in_by_form` fills the form in,
    for the tests of signing in."""
    request = tab.context.request
    form = request.get(f"{base_url}/login?lang=en")
    token = CSRF_FIELD.search(form.text()).group(1)
    fields = {"csrf_token": token, "username": username, "password": password}
    answer = request.post(f"{base_url}/login", form=fields, max_redirects=0)
    assert answer.status == 302, (answer.status, answer.text()[:500])
    assert "/login" not in answer.headers["location"], answer.headers["location"]


# -- the electronic queue's screens ---------------------------------------------------------


@pytest.fixture
def queue_hall(runtime):
    """A cardiology queue (prefix K) shared by its department, a doctor of that department
    working in room 12 with his own sign-in, a board showing the queue in three voices, and a
    display account's API token for it. Built through the services the app uses."""
    import uuid

    from clinic.accounts import tokens, users
    from clinic.queue import admin as queue_admin
    from clinic.queue import boards as queue_boards
    from clinic.reference import directory as reference

    suffix = uuid.uuid4().hex[:6]
    with runtime.db.transaction() as s:
        department = reference.create_department(
            s,
            {
                "code": "card",
                "ticket_prefix": "K",
                "name_ru": "Кардиология",
                "name_uz": "Kardiologiya",
                "name_en": "Cardiology",
            },
        )
        room = reference.create_room(
            s, {"number": "12", "name": "", "department_id": department.id}
        )
        doctor = reference.create_doctor(
            s, {"full_name": "Ғуломов Ўткир", "department_id": department.id, "room_id": room.id}
        )
        # Open to the day's last instant: the browser tests issue at the real time.
        queue = queue_admin.create_queue(
            s,
            {"code": "card", "department_id": department.id, "closes_at": time(23, 59, 59, 999999)},
        )
        board = queue_boards.create_board(
            s, {"name": "Hall", "queue_ids": [queue.id], "voice_languages": ["ru", "uz", "en"]}
        )
        doctor_user = users.create_user(
            s, username=f"doctor-{suffix}", password=PASSWORD, roles=["doctor"], doctor_id=doctor.id
        )
        display = users.create_user(
            s, username=f"display-{suffix}", password=PASSWORD, roles=["display"]
        )
        token = tokens.create_token(s, display, name="hall screen")[1]
        return {
            "queue": queue.id,
            "room": room.id,
            "board": board.id,
            "doctor": doctor_user.username,
            "display": display.username,
            "display_token": token,
        }


def wait_live(tab) -> None:
    """Until the page's socket has said hello (ClinicSocket reports "live")."""
    tab.wait_for_function("() => window.ClinicSocket && ClinicSocket.status() === 'live'")


class LateAnswer:
    """A route handler (``tab.route(pattern, late)``) for an answer that comes late: the first
    request it meets is sent to the server at once, and its answer is kept until the test
    gives it to the page (``give``), after what happened meanwhile; the next ones go on."""

    def __init__(self) -> None:
        self.held = None

    def __call__(self, route) -> None:
        if self.held is not None:
            route.continue_()
        else:
            self.held = (route, route.fetch())

    def read(self, tab):
        """The answer kept, once the page has asked (its server's answer, read then)."""
        while self.held is None:
            tab.wait_for_timeout(50)
        return self.held[1]

    def give(self) -> None:
        route, answer = self.held
        route.fulfill(response=answer)
