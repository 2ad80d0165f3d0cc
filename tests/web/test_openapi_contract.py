"""The OpenAPI document agrees with the server: how to authenticate, which errors come and
in which media type (the mismatches a schema fuzzer found, as plain regression cases)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ONE_BACKEND
from web.permissions import PUBLIC, declared_permission

# The API document, not database rules: they run on one backend (see tests/conftest.py).
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])

PROBLEM = "application/problem+json"
PARAMETER = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def spec(anon_client):
    return anon_client.get("/api/openapi.json").get_json()


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def _response(spec, response):
    if "$ref" in response:
        return spec["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
    return response


def test_every_error_is_documented_as_problem_details(spec):
    for path, method, operation in _operations(spec):
        for status, response in operation["responses"].items():
            content = _response(spec, response).get("content", {})
            if status[0] in "45" or status == "default":
                assert set(content) <= {PROBLEM}, (method, path, status, content)


def test_every_operation_says_how_to_authenticate_and_has_a_summary(app, spec):
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerToken"] == {**schemes["bearerToken"], "type": "http", "scheme": "bearer"}
    assert schemes["sessionCookie"]["in"] == "cookie"
    assert schemes["csrfToken"] == {**schemes["csrfToken"], "in": "header", "name": "X-CSRFToken"}
    endpoints = {
        (PARAMETER.sub(r"{\1}", r.rule), m.lower()): r.endpoint
        for r in app.url_map.iter_rules()
        for m in r.methods
    }
    for path, method, operation in _operations(spec):
        assert operation.get("summary"), (method, path)
        if declared_permission(app, endpoints[path, method]) == PUBLIC:
            assert operation["security"] == [], (method, path)
        else:
            assert {"bearerToken": []} in operation["security"], (method, path)


def test_the_statuses_an_operation_can_answer_are_documented(spec):
    patch = spec["paths"]["/api/v1/services/{service_id}"]["patch"]["responses"]
    assert {"400", "401", "403", "404", "413", "415", "422", "503"} <= set(patch)
    join = spec["paths"]["/api/v1/public/queues/{queue_id}/join"]["post"]
    assert "429" in join["responses"] and join["security"] == []
    listing = spec["paths"]["/api/v1/services"]["get"]["responses"]
    assert {"401", "403", "422"} <= set(listing)
    csv = spec["paths"]["/api/v1/audit/export.csv"]["get"]["responses"]["200"]["content"]
    assert set(csv) == {"text/csv"}


def test_a_405_says_which_methods_are_allowed(client):
    response = client.delete("/api/v1/services")
    assert response.status_code == 405
    assert response.mimetype == PROBLEM
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_a_uri_too_long_is_a_414_problem(client):
    response = client.get("/api/v1/services?q=" + "x" * 5000)
    assert response.status_code == 414
    assert response.mimetype == PROBLEM


def test_an_absence_declared_twice_is_documented_as_a_409(spec):
    # The same day off sent twice (a form sent again) is 409 already_declared.
    declare = spec["paths"]["/api/v1/schedule-exceptions"]["post"]["responses"]
    assert "409" in declare
