"""``/login?next=``: after signing in, a browser goes only to a path on this site."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.conftest import PASSWORD

FOREIGN = [
    "////evil.example/",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "/\t/evil.example/",
    "/\n/evil.example/",
    "https://evil.example/",
    "javascript:alert(1)",
    "evil.example",
]


def _stays_here(location: str) -> bool:
    parts = urlsplit(location)
    return (
        not parts.scheme
        and not parts.netloc
        and location.startswith("/")
        and not location.startswith(("//", "/\\"))
    )


def test_a_signed_in_visit_to_login_never_redirects_off_the_site(client):
    for target in FOREIGN:
        response = client.get("/login", query_string={"next": target})
        assert response.status_code == 302
        assert _stays_here(response.headers["Location"]), (target, response.headers["Location"])


def test_signing_in_with_a_foreign_next_lands_on_the_home_page(anon_client, make_user):
    make_user("registrar", username="zarina")
    for target in ("////evil.example/", "/\\evil.example/", "//evil.example"):
        response = anon_client.post(
            "/login", data={"username": "zarina", "password": PASSWORD, "next": target}
        )
        assert response.status_code == 302
        assert response.headers["Location"] == "/", target


def test_a_path_on_this_site_is_kept(anon_client, make_user):
    make_user("registrar", username="zuhra")
    response = anon_client.post(
        "/login", data={"username": "zuhra", "password": PASSWORD, "next": "/queue?day=today"}
    )
    assert response.headers["Location"] == "/queue?day=today"
