"""Every endpoint declares a permission (or is public), and the declaration is enforced:
401 anonymous, 403 for every role without it, through for every role with it."""

from __future__ import annotations

import re

import pytest

from clinic.accounts.permissions import ROLES
from tests.conftest import ONE_BACKEND, _create_user
from web.permissions import PUBLIC, SIGNED_IN, declared_permission

# HEAD is asked as GET is (below); OPTIONS has a test of its own.
SKIPPED_METHODS = {"HEAD", "OPTIONS"}
NOT_HTTP = {"__flask_sock.websocket"}  # answered with a WebSocket close code instead
# A token may not make tokens, and is revoked rather than signed out (docs/security.md):
# these answer 403 to every bearer token.
SESSION_ONLY = {
    ("POST", "/api/v1/tokens"),
    ("POST", "/account/tokens"),
    ("DELETE", "/api/v1/session"),
    ("POST", "/logout"),
}
# Permissions are declared on the endpoints and checked before any view runs: the database
# plays no part in the answer.
pytestmark = [pytest.mark.parametrize("backend", [ONE_BACKEND]), pytest.mark.heavy]


def _bearer_token(runtime, client, role: str) -> str:
    """A bearer token of a new user of ``role``, known to ``client`` as that user's (the audit
    check at the end of the test names him): one caller's, where ``role_tokens`` makes one for
    every role, users and a doctor's department included, before each test."""
    from clinic.accounts import tokens, users

    user_id, name = _create_user(runtime, role)
    with runtime.db.transaction() as s:
        _, plain = tokens.create_token(s, users.get_user(s, user_id), name="tests")
    client.token_owners[plain] = name
    return plain


def _endpoints(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_HTTP:
            continue
        for method in sorted(rule.methods - SKIPPED_METHODS):
            yield rule, method
        if "GET" in rule.methods:
            yield rule, "HEAD"  # a GET without its body: the same door, the same answer


def _url(rule) -> str:
    def fill(match):
        converter = match.group(1) or "string"
        return "999999" if converter.startswith("int") else "zz-unknown"

    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>", fill, rule.rule)


def test_every_endpoint_declares_a_permission_or_is_public(app):
    missing = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if declared_permission(app, rule.endpoint) is None
    ]
    assert missing == []


def test_every_declared_permission_is_in_the_catalogue(app):
    from clinic.accounts.permissions import PERMISSIONS

    declared = {declared_permission(app, r.endpoint) for r in app.url_map.iter_rules()}
    assert declared - {PUBLIC, SIGNED_IN} <= set(PERMISSIONS)


# One case per caller: the cases spread over the suite's workers.
@pytest.mark.parametrize("role", ["anonymous", *sorted(ROLES)])
def test_permission_matrix(app, runtime, anon_client, role):
    token = None if role == "anonymous" else _bearer_token(runtime, anon_client, role)
    checked = 0
    for rule, method in _endpoints(app):
        permission = declared_permission(app, rule.endpoint)
        if permission == PUBLIC:
            continue
        url = _url(rule)
        checked += 1
        if role == "anonymous":
            anonymous = anon_client.open(url, method=method, headers={"Accept": "application/json"})
            assert anonymous.status_code == 401, (method, url, anonymous.status_code)
            continue
        response = anon_client.open(
            url,
            method=method,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )
        allowed = permission == SIGNED_IN or permission in ROLES[role]
        if (method, url) in SESSION_ONLY:
            assert response.status_code == 403, (role, method, url, response.status_code)
        elif allowed:
            assert response.status_code not in (401, 403), (role, method, url)
            assert response.status_code < 500, (role, method, url, response.get_data())
        else:
            assert response.status_code == 403, (role, method, url, response.status_code)
    assert checked > 50


def _public_urls(app) -> set[str]:
    return {
        _url(r) for r in app.url_map.iter_rules() if declared_permission(app, r.endpoint) == PUBLIC
    }


def test_options_and_trailing_slashes_open_no_door(app, runtime, anon_client):
    """OPTIONS tells the methods of an address and nothing else, and to nobody who may not use
    it; an address with a slash or two added is no other door to the same view."""
    public = _public_urls(app)
    token = _bearer_token(runtime, anon_client, "display")
    display = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_HTTP or declared_permission(app, rule.endpoint) == PUBLIC:
            continue
        url = _url(rule)
        if url not in public:
            asked = anon_client.open(url, method="OPTIONS", headers={"Accept": "application/json"})
            assert asked.status_code == 401, (url, asked.status_code)
        for method in sorted(rule.methods - SKIPPED_METHODS):
            for suffix in ("/", "//"):
                answer = anon_client.open(url + suffix, method=method, headers=display)
                assert answer.status_code in (404, 405), (method, url + suffix, answer.status_code)


def test_anonymous_people_are_sent_to_sign_in_from_pages_and_refused_by_the_api(app, anon_client):
    html = {"Accept": "text/html"}
    for rule in app.url_map.iter_rules():
        permission = declared_permission(app, rule.endpoint)
        if rule.endpoint in NOT_HTTP or permission == PUBLIC or "GET" not in rule.methods:
            continue
        url = _url(rule)
        answer = anon_client.get(url, headers=html)
        if url.startswith("/api/"):
            assert answer.status_code == 401, (url, answer.status_code)
        else:
            assert answer.status_code == 302, (url, answer.status_code)
            assert answer.headers["Location"].startswith("/login?next="), url
