"""The demo clinic: loaded into an empty database, it opens the queue's screens to its demo
users (the doctor's screen, the paired board, the kiosk), and its users are made only into an
empty users table."""

from __future__ import annotations

from datetime import time
from html import unescape

import pytest

from clinic.demo import DEMO_PASSWORD, load_demo_clinic
from clinic.queue import admin as queue_admin
from clinic.queue import boards as queue_boards
from clinic.reference import patients
from tests.conftest import ONE_BACKEND

# Server-rendered pages, not database rules: they run on one backend (see tests/conftest.py).
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_the_demo_clinic_opens_the_queue_screens_to_its_demo_users(app, runtime):
    with runtime.db.transaction() as s:
        patients_before = patients.list_patients(s)[1]
        logins = load_demo_clinic(s)
    assert patients_before == 0
    assert {login["role"] for login in logins} == {
        "admin",
        "registrar",
        "cashier",
        "doctor",
        "manager",
        "display",
        "kiosk",
    }
    assert all(login["password"] == DEMO_PASSWORD for login in logins)
    with runtime.db.session() as s:
        assert load_demo_clinic(s) is None
        queues = queue_admin.list_queues(s)
        assert len(queues) == 5
        # Open the whole day: the demo can be tried at any hour.
        assert all(
            (x.online_from, x.online_until, x.online_daily_limit, x.closes_at)
            == (time(0), time(23, 59), 50, time(23, 59, 59))
            for x in queues
        )
        (board,) = queue_boards.list_boards(s)
        assert board.name == "Main hall" and board.voice_languages == "ru+uz"
        # The hall's screen names itself in the language it shows.
        assert queue_boards.board_title(board, "ru") == "Главный холл"
        assert queue_boards.board_title(board, "uz") == "Asosiy zal"
        assert sorted(board.queue_ids) == sorted(x.id for x in queues)

    doctor = app.test_client()
    doctor.sign_in("doctor", DEMO_PASSWORD)
    page = unescape(doctor.get("/queue/doctor?lang=ru", headers=HTML).get_data(as_text=True))
    assert "Терапия" in page and "Вызвать следующего" in page
    display = app.test_client()
    display.sign_in("display", DEMO_PASSWORD)
    # Signed in as a display, the screen is paired with the board and keeps it for good.
    paired = display.get(f"/board/{board.id}", headers=HTML)
    assert paired.status_code == 303 and paired.headers["Location"] == f"/board/{board.id}"
    assert display.get(f"/board/{board.id}", headers=HTML).status_code == 200
    kiosk = app.test_client()
    kiosk.sign_in("kiosk", DEMO_PASSWORD)
    assert kiosk.get("/", headers=HTML).headers["Location"].endswith("/kiosk")


def test_demo_users_are_made_only_into_an_empty_users_table(client, runtime):
    with runtime.db.transaction() as s:
        assert load_demo_clinic(s) == []
