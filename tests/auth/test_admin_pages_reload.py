"""A new API token and a board's pairing code are made by a form that redirects to the page
showing them (post/redirect/get): reloading that page makes no second one, and shows the
secret no more."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from clinic.accounts.models import ApiToken
from clinic.queue import screens
from tests.conftest import ONE_BACKEND
from tests.queue import test_board_screens as screens_tests

# Pages and their forms, not database rules: one backend.
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])
HTML = {"Accept": "text/html"}
# A board of one queue, as the screens' tests make it.
hall = screens_tests.hall


def test_reloading_the_page_of_a_new_token_makes_no_second_token(client_as, runtime):
    desk = client_as("registrar", "feruza")
    made = desk.post("/account/tokens", data={"name": "skript", "days": "30"})
    assert made.status_code == 303 and made.headers["Location"] == "/account/tokens"
    assert "clk_" not in made.get_data(as_text=True)
    shown = desk.get(made.headers["Location"], headers=HTML)
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    secret = re.search(r'id="new-token">(clk_[^<]+)<', shown.get_data(as_text=True)).group(1)
    reloaded = desk.get(made.headers["Location"], headers=HTML)
    assert reloaded.status_code == 200 and secret not in reloaded.get_data(as_text=True)
    assert 'id="new-token"' not in reloaded.get_data(as_text=True)
    with runtime.db.session() as s:
        assert [t.name for t in s.scalars(select(ApiToken))] == ["skript"]
    # The one shown is the one made.
    me = desk.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.get_json()["username"] == "feruza"


def test_reloading_the_page_of_a_pairing_code_makes_no_second_code(client, runtime, hall):
    board = hall["board"]
    client.get("/admin/boards?lang=en", headers=HTML)
    started = client.post(f"/admin/boards/{board}/screens", data={"label": "left"})
    assert started.status_code == 303 and started.headers["Location"] == "/admin/boards"
    assert "pairing-code" not in started.get_data(as_text=True)
    shown = client.get(started.headers["Location"], headers=HTML)
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    page = shown.get_data(as_text=True)
    code = re.search(r'id="pairing-code">([A-Z0-9-]+)<', page).group(1)
    assert "Pairing code for a screen of Hall:" in page
    reloaded = client.get(started.headers["Location"], headers=HTML).get_data(as_text=True)
    assert code not in reloaded and 'id="pairing-code"' not in reloaded
    with runtime.db.session() as s:
        assert [screen.label for screen in screens.list_screens(s, board)] == ["left"]
    # The code shown pairs the screen.
    paired = client.application.test_client().post("/board/pair", data={"pairing_code": code})
    assert paired.status_code == 303 and paired.headers["Location"] == f"/board/{board}"
