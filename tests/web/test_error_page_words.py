"""An error page speaks the page's language through and through: a refusal the web server
makes by itself (an address too long, a form too large) is explained in Russian or Uzbek,
not with the server library's English sentence."""

from __future__ import annotations

import re
from html import unescape

import pytest

HTML = {"Accept": "text/html"}
# Words of the web server library's own English descriptions of these refusals.
ENGLISH = re.compile(r"\b(the|this|data|length|server|request|exceeds|capacity)\b", re.I)


def _explained(response) -> str:
    page = unescape(response.get_data(as_text=True))
    found = re.search(r'<section class="error-page">(.*?)</section>', page, re.S)
    assert found, page[:500]
    return re.sub(r"<[^>]+>", " ", found.group(1))


@pytest.mark.parametrize("language, script", [("ru", "[А-Яа-яЁё]"), ("uz", "o'|sh|ch")])
def test_an_address_too_long_is_explained_in_the_page_language(client, language, script):
    response = client.get(f"/queue/desk?lang={language}&q=" + "a" * 20_000, headers=HTML)
    assert response.status_code == 414 and response.mimetype == "text/html"
    said = _explained(response)
    assert ENGLISH.search(said) is None, said
    assert re.search(script, said), said
    assert len(said.split()) > 6  # a heading and an explanation, not the code alone


@pytest.mark.parametrize("language, script", [("ru", "[А-Яа-яЁё]"), ("uz", "o'|sh|ch")])
def test_a_form_too_large_is_explained_in_the_page_language(client, language, script):
    response = client.post(
        f"/admin/users?lang={language}", data={"full_name": "x" * 30_000_000}, headers=HTML
    )
    assert response.status_code == 413 and response.mimetype == "text/html"
    said = _explained(response)
    assert ENGLISH.search(said) is None, said
    assert re.search(script, said), said


def test_the_api_keeps_saying_why_in_english(client):
    response = client.get("/api/v1/patients?q=" + "a" * 20_000)
    assert response.status_code == 414
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["detail"]
