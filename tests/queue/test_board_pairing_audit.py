"""Pairing a board's screen leaves one audit row carrying the status it was answered with:
the administrator's form is redirected to the page that shows the one-time code (303), the
screen's code and a display account's own visit to the board (303)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from clinic.models import AuditEntry
from tests.conftest import ONE_BACKEND
from tests.queue import test_board_screens as screens_tests

# What the audit row of a page says is the web's own rule: one backend.
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])
# A board of one queue, as the screens' tests make it.
hall = screens_tests.hall


def _rows(runtime, answer) -> list[tuple[int, str]]:
    with runtime.db.session() as s:
        found = s.scalars(
            select(AuditEntry).where(AuditEntry.request_id == answer.headers["X-Request-ID"])
        )
        return [(row.status, row.object_type) for row in found]


def test_each_pairing_is_audited_with_the_status_it_was_answered(
    runtime, client, anon_client, hall
):
    started = client.post(f"/admin/boards/{hall['board']}/screens", data={"label": "left"})
    assert started.status_code == 303
    assert _rows(runtime, started) == [(303, "board_screens")]

    shown = client.get(started.headers["Location"], headers={"Accept": "text/html"})
    code = re.search(r'id="pairing-code">([A-Z0-9-]+)<', shown.get_data(as_text=True))
    paired = anon_client.post("/board/pair", data={"pairing_code": code.group(1)})
    assert paired.status_code == 303
    assert _rows(runtime, paired) == [(303, "board_screens")]
