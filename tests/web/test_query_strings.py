"""A query string is read as strictly as a body: a parameter the endpoint does not read is a
422 naming it (a typo such as ``pagesize=10`` answered a full page as if understood; the
schemas declared strict were read leniently all the same), and one given twice that is not a
list a 400 naming it (``page=1&page=2`` was read as its first). ``lang`` goes with any."""

from __future__ import annotations

import pytest

from tests.conftest import ONE_BACKEND

# What is checked is the web layer's reading of the query, before any database read.
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])


def _refused(response, status: int, field: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert list(response.get_json()["errors"]) == [field], response.get_json()


@pytest.mark.parametrize(
    "url, field",
    [
        ("/api/v1/patients?pagesize=10", "pagesize"),
        ("/api/v1/patients?q=karimov&activ=true", "activ"),
        ("/api/v1/payments/invoices?day=2026-03-01", "day"),
        ("/api/v1/printing/jobs?scope=queue.1&satus=failed", "satus"),
        ("/api/v1/users?rol=doctor", "rol"),
        # Endpoints that read no query at all refuse one as well.
        ("/api/v1/reports/dashboard?day=2026-03-01", "day"),
        ("/api/v1/users/1?expand=tokens", "expand"),
        ("/api/v1/me?lang=ru&fields=roles", "fields"),
    ],
)
def test_a_parameter_the_endpoint_does_not_read_is_a_422_naming_it(client, url, field):
    _refused(client.get(url), 422, field)


@pytest.mark.parametrize(
    "url, field",
    [
        ("/api/v1/patients?page=1&page=2", "page"),
        ("/api/v1/patients?page_size=5&page_size=500", "page_size"),
        ("/api/v1/departments?q=&q=x", "q"),
    ],
)
def test_a_parameter_given_twice_is_a_400_naming_it(client, url, field):
    _refused(client.get(url), 400, field)


def test_the_parameters_an_endpoint_reads_and_the_page_language_are_answered(client):
    for url in (
        "/api/v1/patients?page=1&page_size=10&active=true&q=ka",
        "/api/v1/patients?page_size=10&lang=ru",
        "/api/v1/payments/invoices?status=open",
        "/api/v1/departments",
        "/api/v1/me?lang=uz",
    ):
        assert client.get(url).status_code == 200, url


def test_every_api_blueprint_reads_its_query_strictly(app):
    import flask_smorest

    from web.api.blueprint import Blueprint

    api = [bp for bp in app.blueprints.values() if isinstance(bp, flask_smorest.Blueprint)]
    assert len(api) > 5
    assert [bp.name for bp in api if not isinstance(bp, Blueprint)] == []
