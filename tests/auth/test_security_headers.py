"""Security headers, CORS for configured origins only, and Secure cookies in production."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, make_settings


def test_pages_carry_a_content_security_policy_and_refuse_framing(anon_client):
    response = anon_client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_every_answer_to_an_address_with_a_secret_sends_no_referer(anon_client):
    """Redirects and refusals too, not only the pages that render: a patient's old ticket,
    a board opened with a wrong token, an unknown unsubscribe link."""
    for path in (
        "/t/" + "x" * 43,
        "/board/1?token=clb_wrong",
        "/api/v1/public/tickets/" + "x" * 43,
        "/reports/unsubscribe/" + "x" * 40,
    ):
        response = anon_client.get(path)
        assert response.status_code in (303, 401, 404), (path, response.status_code)
        assert response.headers["Referrer-Policy"] == "no-referrer", path


def test_no_cors_without_configured_origins(anon_client):
    response = anon_client.get("/health/live", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers
    api = anon_client.get("/api/v1/session/csrf", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in api.headers


@pytest.fixture
def cors_app(database_urls, backend, tmp_path, redis_prefix):
    from clinic.runtime import Runtime
    from tests.conftest import ClinicClient, check_audit
    from web import create_app

    settings = make_settings(
        database_urls[backend],
        tmp_path / "i",
        redis_prefix,
        CLINIC_ALLOWED_ORIGINS="https://portal.clinic.uz",
    )
    runtime = Runtime(settings)
    app = create_app(runtime=runtime)
    app.test_client_class = ClinicClient
    yield app
    for made in app.extensions.get("tests.clients", []):
        check_audit(runtime, made)
    runtime.close()


def test_cors_answers_only_the_configured_origin(cors_app):
    client = cors_app.test_client()
    ok = client.get("/api/v1/session/csrf", headers={"Origin": "https://portal.clinic.uz"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://portal.clinic.uz"
    other = client.get("/api/v1/session/csrf", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


@pytest.fixture
def production_app(database_urls, tmp_path, redis_prefix, runtime):
    from clinic.runtime import Runtime
    from tests.conftest import ClinicClient, check_audit
    from web import create_app

    settings = make_settings(
        runtime.settings.database_url,
        tmp_path / "p",
        redis_prefix,
        CLINIC_ENV="production",
        # Production's floor: the suite's cheaper hashes are refused there.
        CLINIC_ARGON2_MEMORY_KIB="8192",
        SECRET_KEY="k" * 48,
        FLOWER_BASIC_AUTH="ops:long-password-1",
        CLINIC_PUBLIC_URL="https://clinic.example.uz",
    )
    assert settings.is_production
    prod_runtime = Runtime(settings)
    app = create_app(runtime=prod_runtime)
    app.test_client_class = ClinicClient
    yield app
    for made in app.extensions.get("tests.clients", []):
        check_audit(prod_runtime, made)
    prod_runtime.close()


@pytest.mark.parametrize("backend", ["postgresql"])  # production refuses SQLite
def test_the_session_cookie_is_secure_in_production(production_app, make_user):
    make_user("registrar", "prod-user")
    client = production_app.test_client()
    response = client.post("/api/v1/session", json={"username": "prod-user", "password": PASSWORD})
    assert response.status_code == 200
    cookie = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("clinic_session=")]
    assert "Secure" in cookie[-1] and "HttpOnly" in cookie[-1] and "SameSite=Lax" in cookie[-1]
    assert "Strict-Transport-Security" in response.headers


def test_a_listed_origin_may_call_the_api_with_a_token_its_preflight_is_answered(cors_app):
    """A browser asks before sending a bearer token to another origin (a preflight OPTIONS,
    without credentials): answered with anything but a 2xx, the call is never made."""
    client = cors_app.test_client()
    preflight = {
        "Origin": "https://portal.clinic.uz",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    for url in ("/api/v1/queues", "/api/v1/queues/1/tickets", "/api/v1/users"):
        answer = client.options(url, headers=preflight)
        assert answer.status_code == 200, (url, answer.status_code)
        assert answer.headers["Access-Control-Allow-Origin"] == "https://portal.clinic.uz"
        assert "authorization" in answer.headers["Access-Control-Allow-Headers"].lower()
        assert answer.get_data() == b""  # the methods and CORS headers, nothing of the data
    # Another origin's preflight gets no CORS headers (its browser refuses), and a plain
    # OPTIONS without credentials is still refused.
    other = client.options("/api/v1/users", headers={**preflight, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    assert client.options("/api/v1/users").status_code == 401


def test_a_signed_in_users_answers_are_kept_by_no_cache_his_static_files_are(client_as):
    """A computer at the desk is shared: after a sign-out, Back must not show the next person
    the pages and data the one before was shown."""
    desk = client_as("registrar")
    for path in ("/account/tokens", "/api/v1/me", "/api/v1/users/1"):
        assert desk.get(path, headers={"Accept": "text/html"}).headers["Cache-Control"] == (
            "no-store"
        ), path
    static = desk.get("/static/css/clinic.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")
    static.close()
