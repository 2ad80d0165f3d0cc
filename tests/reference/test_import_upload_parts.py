"""The price-list upload reads one file: a field it does not read (``dry_run=1``, a second
file) is refused naming it and starts no import, as a JSON body's unknown or repeated key is,
rather than importing as if it had been understood."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from clinic.models import Job
from tests.conftest import ONE_BACKEND

# What the web layer reads of a request: one backend.
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])

PROBLEM = "application/problem+json"
CSV = b"code,name,price\r\nA1,X,1000\r\n"


def _csv(name: str = "list.csv"):
    return (io.BytesIO(CSV), name)


def _refused(response, status: int, field: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    assert field in response.get_json()["errors"], response.get_json()


def test_a_field_the_upload_does_not_read_is_refused_naming_it(runtime, client):
    for data, status, field in (
        ({"file": _csv(), "dry_run": "1"}, 422, "dry_run"),
        ({"file": _csv(), "prices": _csv("other.csv")}, 422, "prices"),
        ({"file": [_csv(), _csv("second.csv")]}, 400, "file"),
    ):
        response = client.post(
            "/api/v1/services/import", data=data, content_type="multipart/form-data"
        )
        _refused(response, status, field)
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0
    # The file alone is imported as before, and so is a form's that carries its CSRF token.
    accepted = client.post(
        "/api/v1/services/import", data={"file": _csv()}, content_type="multipart/form-data"
    )
    assert accepted.status_code == 202, accepted.get_json()
    token = client.get("/api/v1/session/csrf").get_json()["csrf_token"]
    with_token = client.post(
        "/api/v1/services/import",
        data={"file": _csv(), "csrf_token": token},
        content_type="multipart/form-data",
        skip_csrf=True,
    )
    assert with_token.status_code == 202, with_token.get_json()
