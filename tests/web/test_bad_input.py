"""Every JSON API endpoint, including those added later, meets bad input with a 4xx problem.

The routes are discovered from the application's URL map (everything under /api/v1) and
their request bodies and query parameters from the OpenAPI document, so a new endpoint is
covered the day it is registered. Each one is sent wrong types, missing required fields,
10,000-character strings, unknown fields, unknown ids and bodies that are not JSON. Every
answer must be a 4xx with ``application/problem+json`` (naming the field where a field was
wrong), never a 5xx, and the database must be exactly as it was before.
"""

from __future__ import annotations

import re
import weakref

import pytest
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from clinic.demo import load_demo_data
from clinic.events import flush_published_marks
from clinic.models import Base
from tests.conftest import ONE_BACKEND

API = "/api/v1"
PROBLEM = "application/problem+json"
LONG = "x" * 10_000
BAD_IDS = ["999999", "abc", "9" * 300, "x" * 300, "0", "-1", "99999999999999999999"]
UNKNOWN_FIELD = "no_such_field_xyz"
WRONG_TYPE = {
    "integer": "not a number",
    "number": "not a number",
    "string": 12345,
    "boolean": "maybe",
    "array": "not a list",
    "object": "not an object",
}
WRONG_QUERY = {"integer": "abc", "number": "abc", "boolean": "maybe"}
PARAMETER = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")
# The input boundary is the web layer's: validation answers before any query, and the
# database rules behind it are tested on both backends elsewhere.
pytestmark = [pytest.mark.parametrize("backend", [ONE_BACKEND]), pytest.mark.heavy]


@pytest.fixture
def api(app, runtime, client):
    """The app with the demo clinic loaded, so that id 1 names a real entity of each kind,
    probed by a signed-in administrator (so permissions let every request reach validation)."""
    with runtime.db.session() as session:
        load_demo_data(session)
    app.extensions["tests.probe_client"] = client
    return app


def _routes(app):
    """(rule, method) for every API route; HEAD and OPTIONS are Flask's own."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.rule.startswith(API + "/"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def _url(rule, **values) -> str:
    """The rule's path with each argument set to ``values[name]`` (by default "1")."""
    return PARAMETER.sub(lambda m: values.get(m.group(1), "1"), rule.rule)


def _operation(spec: dict, rule, method: str) -> dict:
    return spec["paths"].get(PARAMETER.sub(r"{\1}", rule.rule), {}).get(method.lower(), {})


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        node = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _json_body(spec: dict, operation: dict) -> dict | None:
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    return _resolve(spec, content["application/json"].get("schema", {}))


# Every attempt to change something is recorded, refused or not: that row is expected.
RECORDS_OF_ATTEMPTS = {"audit_log"}


def _snapshot(runtime) -> dict:
    """Every row of every table (but the records of attempts), or on PostgreSQL a digest of
    each table's rows, every column of each, made by the server in one statement: a row
    added, removed or changed in any way changes its table's digest."""
    # Events published by earlier requests are marked in the outbox by the process's marker,
    # in the background: write those marks now, so they are not taken for this request's.
    flush_published_marks()
    tables = [t for t in Base.metadata.sorted_tables if t.name not in RECORDS_OF_ATTEMPTS]
    with runtime.db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            digests = " UNION ALL ".join(
                f"SELECT '{t.name}', count(*), md5(coalesce(string_agg(r::text, E'\\n'"
                f" ORDER BY r::text), '')) FROM \"{t.name}\" r"  # nosec B608 - our own table names
                for t in tables
            )
            return {name: (rows, digest) for name, rows, digest in conn.exec_driver_sql(digests)}
        return {
            table.name: conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            for table in tables
        }


# The API document as the application served it, by application: the tests of a process
# share one application (tests/conftest.py), whose routes and document do not change between
# them, and serving it (JSON made anew from the routes' schemas each time) costs more than most
# of the requests a test sends.
_served_documents: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _served_document(app, client) -> dict:
    if app not in _served_documents:
        response = client.get("/api/openapi.json")
        assert response.status_code == 200, response.status_code
        _served_documents[app] = response.json
    return _served_documents[app]


class Probe:
    """Sends bad requests to the app and collects every bad answer, so one run reports all."""

    def __init__(self, app, runtime) -> None:
        self.app = app
        self.runtime = runtime
        self.client = app.extensions["tests.probe_client"]
        self.spec = _served_document(app, self.client)
        # One CSRF token serves the whole session: fetched once, not before every change.
        self.csrf = {"X-CSRFToken": self.client.get("/api/v1/session/csrf").json["csrf_token"]}
        self.problems: list[str] = []
        self.checked = 0

    def routes(self):
        """(rule, method, OpenAPI operation) of every API route; after each one is probed,
        checks that the database is exactly as it was before (the state after one route is
        the state before the next, and a route sent nothing changes nothing)."""
        before = _snapshot(self.runtime)
        for rule, method in _routes(self.app):
            sent = self.checked
            yield rule, method, _operation(self.spec, rule, method)
            if self.checked == sent:
                continue  # nothing was sent to this route
            after = _snapshot(self.runtime)
            changed = [table for table, rows in before.items() if after[table] != rows]
            if changed:
                self.problems.append(f"{method} {rule.rule}: wrote to {', '.join(changed)}")
            before = after

    def routed(self, method: str, url: str) -> bool:
        """Whether some route of the app takes ``url``; a URL no rule takes is answered by
        the one not-found handler, whichever route it was meant for."""
        try:
            self.app.url_map.bind("localhost").match(url, method=method)
        except HTTPException:
            return False
        return True

    def send(self, method: str, url: str, *, field: str | None = None, **kwargs):
        response = self.client.open(url, method=method, headers=self.csrf, **kwargs)
        self.checked += 1
        what = f"{method} {url[:80]} {str(kwargs)[:120]}"
        if not 400 <= response.status_code < 500:
            self.problems.append(f"{what}: answered {response.status_code}")
        elif response.mimetype != PROBLEM:
            self.problems.append(f"{what}: answered {response.mimetype}, not {PROBLEM}")
        elif field is not None and response.status_code in (400, 422):
            errors = (response.get_json(silent=True) or {}).get("errors") or {}
            if not any(k == field or k.startswith(field + ".") for k in errors):
                self.problems.append(f"{what}: errors {sorted(errors)} do not name {field!r}")
        return response

    def assert_none(self) -> None:
        assert self.checked, "no request was sent"
        assert not self.problems, "\n".join(self.problems[:50])


def test_every_api_route_is_described_in_the_openapi_document(api, runtime):
    probe = Probe(api, runtime)
    routes = list(_routes(api))
    assert any(rule.rule == f"{API}/services" for rule, _ in routes)
    missing = [f"{m} {r.rule}" for r, m in routes if not _operation(probe.spec, r, m)]
    assert not missing, missing


def test_unknown_ids_answer_4xx_problems_and_write_nothing(api, runtime):
    probe = Probe(api, runtime)
    unrouted = 0
    for rule, method, _ in probe.routes():
        body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
        for argument in sorted(rule.arguments):
            for bad in BAD_IDS:
                url = _url(rule, **{argument: bad})
                # An id the rule's converter refuses reaches no view: the not-found handler
                # answers it the same for every route, so a few such requests show it.
                if not probe.routed(method, url):
                    if unrouted == len(BAD_IDS):
                        continue
                    unrouted += 1
                probe.send(method, url, **body)
    assert unrouted, "no id was refused by a route's converter"
    probe.assert_none()


def test_bad_bodies_answer_4xx_problems_naming_the_field_and_write_nothing(api, runtime):
    probe = Probe(api, runtime)
    field_checked = set()
    for rule, method, operation in probe.routes():
        schema = _json_body(probe.spec, operation)
        if schema is None:
            continue
        url = _url(rule)
        first = probe.send(method, url, field=UNKNOWN_FIELD, json={UNKNOWN_FIELD: 1})
        if first.status_code == 404:
            # No entity with id 1 behind this route: only what can be said without one.
            probe.send(method, url, json={"x": LONG})
            continue
        field_checked.add((method, rule.rule))
        for name, prop in schema.get("properties", {}).items():
            prop = _resolve(probe.spec, prop)
            kind = prop.get("type")
            if kind in WRONG_TYPE and not prop.get("readOnly"):
                probe.send(method, url, field=name, json={name: WRONG_TYPE[kind]})
            if kind == "string" and not prop.get("readOnly"):
                probe.send(method, url, field=name, json={name: LONG})
        if schema.get("required"):
            response = probe.send(method, url, json={})
            errors = (response.get_json(silent=True) or {}).get("errors") or {}
            for name in schema["required"]:
                if name not in errors:
                    probe.problems.append(f"{method} {url} with {{}}: {name!r} not named")
        for body in ("[1, 2]", '"text"', "null", "12"):  # JSON, but not an object
            probe.send(method, url, data=body, content_type="application/json")
    probe.assert_none()
    for path in ("departments", "rooms", "doctors", "services", "patients"):
        assert ("POST", f"{API}/{path}") in field_checked
        assert any(m == "PATCH" and r.startswith(f"{API}/{path}/") for m, r in field_checked)
    assert ("PUT", f"{API}/clinic") in field_checked


def test_bodies_that_are_not_json_answer_4xx_problems_and_write_nothing(api, runtime):
    probe = Probe(api, runtime)
    not_json = [
        ("this is not JSON", "text/plain"),
        ('{"code": "broken', "application/json"),
        (b"\xff\xfe\x00garbage", "application/json"),
        ("code=X&price=1", "application/x-www-form-urlencoded"),
    ]
    for rule, method, operation in probe.routes():
        if operation.get("requestBody"):
            for data, content_type in not_json:
                probe.send(method, _url(rule), data=data, content_type=content_type)
    probe.assert_none()


def _bad_query_values(schema: dict) -> list:
    values = []
    if schema.get("type") in WRONG_QUERY:
        values.append(WRONG_QUERY[schema["type"]])
    if schema.get("type") in ("integer", "number"):
        values.append("9" * 40)
    if schema.get("type") == "string" and ("maxLength" in schema or "enum" in schema):
        values.append(LONG)
    return values


def test_bad_query_parameters_answer_4xx_problems_naming_the_parameter(api, runtime):
    probe = Probe(api, runtime)
    for rule, method, operation in probe.routes():
        for parameter in operation.get("parameters", []):
            if parameter.get("in") != "query":
                continue
            schema = _resolve(probe.spec, parameter.get("schema", {}))
            for value in _bad_query_values(schema):
                name = parameter["name"]
                probe.send(method, _url(rule), field=name, query_string={name: value})
    probe.assert_none()


def test_fields_sent_to_an_endpoint_that_reads_no_body_are_refused_and_change_nothing(api, runtime):
    probe = Probe(api, runtime)
    probed = set()
    for rule, method, operation in probe.routes():
        if method == "GET" or operation.get("requestBody"):
            continue
        url = _url(rule)
        response = probe.send(method, url, field=UNKNOWN_FIELD, json={UNKNOWN_FIELD: 1})
        if response.status_code != 422:
            probe.problems.append(f"{method} {url}: answered {response.status_code}, not 422")
        probe.send(method, url, data="[1, 2]", content_type="application/json")
        # Not JSON, or ``null``: not taken for no body (the action would run).
        for raw in ('{"reason": "x",}', "{", "null"):
            probe.send(method, url, data=raw, content_type="application/json")
        probed.add((method, rule.rule))
    probe.assert_none()
    assert ("POST", f"{API}/payments/reconciliations") in probed
