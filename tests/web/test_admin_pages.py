"""Administration pages: users, roles, locks, tokens and the audit log, through their forms."""

from __future__ import annotations

import re
from html import unescape

import pytest

from clinic.accounts import users
from tests.conftest import ONE_BACKEND, PASSWORD

# Server-rendered pages, not database rules: they run on one backend (see tests/conftest.py).
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def page(client, url):
    response = client.get(url, headers={"Accept": "text/html"})
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_an_admin_creates_a_user_changes_roles_resets_and_disables(client, runtime):
    token = csrf_of(page(client, "/admin/users"))
    created = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "farida",
            "full_name": "Фарида Юсупова",
            "password": "Yangi-xodim-2026",
            "roles": ["registrar"],
        },
    )
    assert created.status_code == 302
    listing = page(client, "/admin/users")
    assert "farida" in listing and "Фарида Юсупова" in listing
    with runtime.db.session() as s:
        user_id = users.find_user(s, "farida").id

    client.post(
        f"/admin/users/{user_id}/roles",
        data={"csrf_token": token, "roles": ["cashier", "registrar"]},
    )
    client.post(
        f"/admin/users/{user_id}/password",
        data={"csrf_token": token, "password": "Boshqa-parol-2026"},
    )
    client.post(f"/admin/users/{user_id}/disable", data={"csrf_token": token})
    with runtime.db.session() as s:
        user = users.get_user(s, user_id)
        assert user.roles == ["cashier", "registrar"] and not user.active
        assert not users.sign_in(s, "farida", "Boshqa-parol-2026").ok  # disabled


def test_a_refused_change_is_shown_and_nothing_is_saved(client, runtime):
    token = csrf_of(page(client, "/admin/users"))
    response = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "weak",
            "password": "password1",
            "roles": ["cashier"],
        },
        follow_redirects=True,
        headers={"Accept": "text/html"},
    )
    # Said in the page's language (Russian by default), not in the API's English.
    assert "Этот пароль слишком распространён." in response.get_data(as_text=True)
    with runtime.db.session() as s:
        assert users.find_user(s, "weak") is None


def test_locked_users_are_shown_and_unlocked(client, client_as, make_user, runtime, anon_client):
    user_id = make_user("doctor", "locked-doc")
    for _ in range(5):
        anon_client.post(
            "/api/v1/session", json={"username": "locked-doc", "password": "nope-nope-1"}
        )
    listing = page(client, "/admin/users")
    assert re.search(r'data-username="locked-doc".*?locked', listing, re.S)
    client.post(f"/admin/users/{user_id}/unlock", data={"csrf_token": csrf_of(listing)})
    assert (
        anon_client.post(
            "/api/v1/session", json={"username": "locked-doc", "password": PASSWORD}
        ).status_code
        == 200
    )


def test_tokens_page_shows_a_new_token_once(client):
    token_page = page(client, "/account/tokens")
    made = client.post(
        "/account/tokens", data={"csrf_token": csrf_of(token_page), "name": "lab", "days": "30"}
    )
    body = page(client, made.headers["Location"])
    secret = re.search(r'id="new-token">(clk_[^<]+)<', body).group(1)
    assert secret not in page(client, "/account/tokens")
    assert secret not in page(client, "/admin/tokens")


def test_the_audit_page_filters_by_user(client, client_as):
    cashier = client_as("cashier", "kassir1")
    cashier.post("/api/v1/tokens", json={"name": "till"})
    html = page(client, "/admin/audit?username=kassir1")
    assert "account.create_token" in html and "kassir1" in html


def test_administration_pages_are_refused_to_other_roles(client_as):
    registrar = client_as("registrar")
    for url in ("/admin/users", "/admin/tokens", "/admin/audit"):
        assert registrar.get(url, headers={"Accept": "text/html"}).status_code == 403
    assert registrar.get("/account/tokens", headers={"Accept": "text/html"}).status_code == 200


@pytest.mark.parametrize(
    "lang, said",
    [
        ("ru", "Такого дня нет: 2026-02-30."),
        ("uz", "Bunday kun yo'q: 2026-02-30."),
        ("en", "No such day: 2026-02-30."),
    ],
)
def test_the_audit_page_refuses_an_impossible_day_in_its_language(client, lang, said):
    """30 February is not a day: the filter says so instead of quietly showing every day."""
    for query in ("since=2026-02-30", "until=2026-02-30", "since=2026-02-30&until=2026-03-01"):
        answer = client.get(f"/admin/audit?{query}&lang={lang}", headers={"Accept": "text/html"})
        assert answer.status_code == 400, query
        assert said in unescape(answer.get_data(as_text=True)), query
    assert (
        client.get(
            "/admin/audit?since=2026-02-28&until=", headers={"Accept": "text/html"}
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    "lang, names",
    [
        ("ru", ["Администратор", "Кассир", "Табло", "Врач", "Руководитель", "Регистратор"]),
        ("uz", ["Administrator", "Kassir", "Tablo", "Shifokor", "Rahbar", "Registrator"]),
    ],
)
def test_the_users_page_names_the_roles_in_its_language(client, lang, names):
    """Reception reads "Кассир", not the role's code; the form still sends the code."""
    html = page(client, f"/admin/users?lang={lang}")
    labels = re.findall(
        r'<input type="checkbox" name="roles" value="(\w+)"[^>]*> ([^<]+)</label>', html
    )
    shown = dict(labels)
    assert [
        shown[code] for code in ("admin", "cashier", "display", "doctor", "manager", "registrar")
    ] == names


def test_the_tokens_page_shows_its_times_in_clinic_time(client, runtime):
    """Used at 00:30 on 11 March in Tashkent (19:30 UTC on the 10th): the page says 2026-03-11
    00:30, not the UTC instant cut to 2026-03-10T19:30."""
    from datetime import datetime, timezone

    from clinic.accounts.models import ApiToken

    client.post("/api/v1/tokens", json={"name": "lab"})
    with runtime.db.transaction() as s:
        token = s.query(ApiToken).filter_by(name="lab").one()
        token.last_used_at = datetime(2026, 3, 10, 19, 30, tzinfo=timezone.utc)
        token.expires_at = datetime(2099, 12, 31, 20, 0, tzinfo=timezone.utc)
    html = page(client, "/account/tokens")
    row = re.search(r"<td>lab</td>.*?</tr>", html, re.S).group(0)
    assert "<td>2100-01-01</td><td>2026-03-11 00:30</td>" in row


@pytest.mark.parametrize(
    "lang, said",
    [("ru", "Нет записей по этому фильтру."), ("uz", "Bu filtr bo'yicha yozuvlar yo'q.")],
)
def test_the_audit_page_says_when_no_entry_matches(client, lang, said):
    html = page(client, f"/admin/audit?username=nobody-at-all&lang={lang}")
    assert said in unescape(html)


def _roles_form(listing: str, username: str) -> str:
    row = re.search(rf'<tr data-username="{username}">(.*?)</tr>', listing, re.S).group(1)
    return re.search(r'<form[^>]*action="[^"]*/roles".*?</form>', row, re.S).group(0)


def test_an_admin_makes_an_existing_user_a_doctor_choosing_his_doctor_on_the_page(
    client, make_user, runtime
):
    from clinic.accounts.models import User

    doctor_user = make_user("doctor", "old-doc")
    make_user("cashier", "new-doc")
    with runtime.db.session() as s:
        doctor_id = s.get(User, doctor_user).doctor_id
    listing = page(client, "/admin/users")
    # Each user's roles form offers the doctors, his own chosen.
    assert re.search(rf'<option value="{doctor_id}" selected>', _roles_form(listing, "old-doc"))
    form = _roles_form(listing, "new-doc")
    assert re.search(rf'<select name="doctor_id"[^>]*>.*<option value="{doctor_id}">', form, re.S)
    given = client.post(
        re.search(r'action="([^"]+)"', form).group(1),
        data={"csrf_token": csrf_of(listing), "roles": ["doctor"], "doctor_id": str(doctor_id)},
    )
    assert given.status_code == 302
    with runtime.db.session() as s:
        user = users.find_user(s, "new-doc")
        assert user.roles == ["doctor"] and user.doctor_id == doctor_id
    # A doctor chosen for a user left without the role is refused, not quietly dropped.
    make_user("cashier", "no-doc")
    with runtime.db.session() as s:
        no_doc = users.find_user(s, "no-doc").id
    refused = client.post(
        f"/admin/users/{no_doc}/roles", data={"roles": ["cashier"], "doctor_id": str(doctor_id)}
    )
    said = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "К врачу привязывается только пользователь с ролью врача." in said


def test_the_audit_page_shows_why_a_change_on_the_users_page_was_refused_under_that_user(
    client, make_user
):
    me = client.get("/api/v1/me").get_json()["id"]
    other = make_user("cashier")
    refused = client.post(f"/admin/users/{me}/roles", data={"roles": ["cashier"]})
    assert refused.status_code == 409
    client.post(f"/admin/users/{other}/roles", data={"roles": ["manager"]})
    # Filtered to the user the refused form was about: the row, its request and the reason.
    shown = page(client, f"/admin/audit?object_type=users&object_id={me}")
    assert refused.headers["X-Request-ID"] in shown
    assert "last_admin" in unescape(shown)
    assert f'"path": "/admin/users/{other}/roles"' not in unescape(shown)
