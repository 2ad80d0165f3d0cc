"""The audit page refuses a period that ends before it starts, in its language and naming the
field, and shows its last page for a page number past it."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from html import unescape

import pytest
from sqlalchemy import insert

from clinic.accounts.models import AuditEntry
from tests.conftest import ONE_BACKEND

# A server-rendered page, not database rules: one backend.
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])
HTML = {"Accept": "text/html"}


def _rows(runtime, username: str, count: int) -> None:
    with runtime.db.transaction() as s:
        s.execute(
            insert(AuditEntry),
            [
                dict(
                    at=datetime(2026, 3, 2, 9, 0, n % 60, tzinfo=timezone.utc),
                    username=username,
                    roles="",
                    action=f"test.row{n:03d}",
                    object_type="",
                    object_id="",
                    status=200,
                    ip="",
                    user_agent="",
                    request_id=f"paging-{n}",
                )
                for n in range(count)
            ],
        )


def _links(html: str) -> dict[str, str]:
    return {
        rel: unescape(url) for url, rel in re.findall(r'href="([^"]*)" rel="(prev|next)"', html)
    }


def test_a_period_that_ends_before_it_starts_is_refused_on_the_page_naming_to(client):
    answer = client.get("/admin/audit?lang=en&since=2026-12-10&until=2026-12-01", headers=HTML)
    said = unescape(answer.get_data(as_text=True))
    assert answer.status_code == 400
    assert "The day in “To” is before the day in “From”" in said
    assert "export.csv" not in said and "No entries match" not in said
    # One day, from its start to its end, is a period.
    same_day = client.get("/admin/audit?since=2026-12-10&until=2026-12-10", headers=HTML)
    assert same_day.status_code == 200


@pytest.mark.parametrize("lang, to", [("ru", "По"), ("uz", "Gacha")])
def test_the_refused_period_names_the_field_as_the_page_labels_it(client, lang, to):
    answer = client.get(f"/admin/audit?lang={lang}&since=2026-12-10&until=2026-12-01", headers=HTML)
    assert answer.status_code == 400
    # Quoted as the page's language quotes ("«По»" once translated).
    assert re.search(f"[“«]{to}[”»]", unescape(answer.get_data(as_text=True)))


def test_a_page_past_the_last_shows_the_last_page(client, runtime):
    _rows(runtime, "busy", 130)
    for asked in ("3", "5", "100001"):
        answer = client.get(f"/admin/audit?lang=en&username=busy&page={asked}", headers=HTML)
        text = answer.get_data(as_text=True)
        assert answer.status_code == 200, asked
        assert "Page 2 of 2" in text and "No entries match" not in text, asked
        assert "test.row029" in text and "test.row030" not in text, asked
        links = _links(text)
        assert set(links) == {"prev"} and links["prev"].endswith("page=1"), asked
        assert "test.row129" in client.get(links["prev"], headers=HTML).get_data(as_text=True)


def test_a_page_past_a_single_page_shows_its_entries(client, runtime):
    _rows(runtime, "quiet", 3)
    text = client.get("/admin/audit?lang=en&username=quiet&page=4", headers=HTML).get_data(
        as_text=True
    )
    assert "test.row002" in text and "No entries match" not in text
    assert _links(text) == {}
