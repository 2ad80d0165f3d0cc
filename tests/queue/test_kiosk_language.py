"""Each patient at the kiosk touches the language he reads (``?lang=ru&visitor=1``): the page,
and the ticket it prints in the browser, speak it for him, and nothing of it is remembered:
neither as the kiosk account's language nor in the kiosk computer's cookie, so the next
patient finds the kiosk's own language. A plain ``?lang=`` sets the kiosk's own language, as
on every page, and a visitor's language counts on no other page."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from clinic.accounts.models import User
from tests.conftest import ONE_BACKEND
from tests.queue.test_kiosk_account import queue_id  # noqa: F401 - the kiosk's queue

pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])

HTML = {"Accept": "text/html"}


def _config(page) -> dict:
    found = re.search(
        r'<script type="application/json" id="kiosk-config">(.*?)</script>',
        page.get_data(as_text=True),
        re.S,
    )
    return json.loads(found.group(1))


def _language_of(runtime, username: str):
    with runtime.db.session() as s:
        return s.scalar(select(User.language).where(User.username == username))


def test_a_patients_language_is_for_his_page_only(client_as, runtime, queue_id):  # noqa: F811
    kiosk = client_as("kiosk", "kiosk-hall")
    # The kiosk set up in Uzbek, as its start address says.
    own = kiosk.get("/kiosk?lang=uz", headers=HTML)
    assert _language_of(runtime, "kiosk-hall") == "uz"
    assert "Talon oling" in own.get_data(as_text=True)
    assert _config(own)["home"] is None  # its own language: nowhere to go back to
    assert "?lang=" not in _config(own)["printUrl"]
    for code in ("ru", "uz", "en"):
        assert f'href="/kiosk?lang={code}&amp;visitor=1"' in own.get_data(as_text=True)

    russian = kiosk.get("/kiosk?lang=ru&visitor=1", headers=HTML)
    text = russian.get_data(as_text=True)
    assert russian.status_code == 200 and "Возьмите талон" in text and 'lang="ru"' in text
    config = _config(russian)
    assert config["home"] == "/kiosk"
    assert config["printUrl"] == "/kiosk/ticket/{id}/print?lang=ru&visitor=1"
    assert "lang=" not in russian.headers.get("Set-Cookie", "")

    ticket = kiosk.post(f"/api/v1/kiosk/queues/{queue_id}/tickets", json={}).get_json()
    printed = kiosk.get(f"/kiosk/ticket/{ticket['id']}/print?lang=ru&visitor=1", headers=HTML)
    assert printed.status_code == 200 and "Ваш талон" in printed.get_data(as_text=True)
    assert "lang=" not in printed.headers.get("Set-Cookie", "")

    # The next patient finds the kiosk in its own language.
    assert _language_of(runtime, "kiosk-hall") == "uz"
    assert "Talon oling" in kiosk.get("/kiosk", headers=HTML).get_data(as_text=True)


def test_a_visitors_language_counts_on_the_kiosk_only(client_as, runtime):
    desk = client_as("registrar", "desk-lang")
    answer = desk.get("/queue/desk?lang=en&visitor=1", headers=HTML)
    assert answer.status_code == 200
    assert "lang=en" in answer.headers.get("Set-Cookie", "")
    assert _language_of(runtime, "desk-lang") == "en"
