"""The account and user pages' forms: tokens made and revoked by form, and the actions an
administrator may not take on himself."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from clinic.accounts import passwords, refusals, tokens, users
from clinic.accounts.models import ApiToken, AuditEntry, User

GOOD = "Yashil-olma-42"


def _token_of(runtime, username: str) -> int:
    with runtime.db.transaction() as s:
        user = users.find_user(s, username)
        return tokens.create_token(s, user, name="script", days=30)[0].id


def _revoked(runtime, token_id: int) -> bool:
    with runtime.db.session() as s:
        return s.get(ApiToken, token_id).revoked_at is not None


def test_the_page_showing_a_new_token_is_not_kept_by_any_cache(client_as):
    desk = client_as("registrar", "feruza")
    made = desk.post("/account/tokens", data={"name": "skript", "days": "30"})
    assert made.status_code == 303 and "clk_" not in made.get_data(as_text=True)
    shown = desk.get(made.headers["Location"], headers={"Accept": "text/html"})
    assert shown.status_code == 200 and "clk_" in shown.get_data(as_text=True)
    assert shown.headers["Cache-Control"] == "no-store"


def test_a_token_without_a_name_is_not_made(client_as, runtime):
    desk = client_as("registrar", "zarina")
    answer = desk.post("/account/tokens", data={"name": "", "days": "30"})
    assert answer.status_code == 422
    with runtime.db.session() as s:
        assert s.scalars(select(ApiToken)).all() == []


@pytest.mark.parametrize("name", ["skript\tdesk", "line\nbreak", "\u202eHall"])
def test_a_token_named_on_more_than_one_line_is_not_made_by_the_form(client_as, runtime, name):
    """The form refuses what the API refuses (OneLine): a tab, a line break or a mark turning
    the text around would hide what the token's name says on the tokens pages."""
    desk = client_as("registrar")
    answer = desk.post("/account/tokens", data={"name": name, "days": "30"})
    assert answer.status_code == 422
    with runtime.db.session() as s:
        assert s.scalars(select(ApiToken)).all() == []
    with runtime.db.transaction() as s, pytest.raises(refusals.errors.ValidationFailed) as refused:
        tokens.create_token(s, users.find_user(s, desk.username), name=name, days=30)
    assert refused.value.reasons == {"name": [refusals.TOKEN_NAME_ONE_LINE]}


def test_a_user_revokes_his_own_token_by_form_but_not_anothers(client_as, runtime):
    desk = client_as("registrar", "zarina")
    client_as("registrar", "olim")
    own, anothers = _token_of(runtime, "zarina"), _token_of(runtime, "olim")
    assert desk.post(f"/account/tokens/{own}/revoke").status_code == 302
    assert desk.post(f"/account/tokens/{anothers}/revoke").status_code == 302
    assert _revoked(runtime, own) and not _revoked(runtime, anothers)


def test_an_administrator_revokes_anyones_token_from_the_list_of_all(client_as, runtime):
    admin = client_as("admin", "boss")
    client_as("registrar", "olim")
    token_id = _token_of(runtime, "olim")
    answer = admin.post(f"/account/tokens/{token_id}/revoke", data={"from": "all"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/admin/tokens")
    assert _revoked(runtime, token_id)


def test_an_administrator_cannot_disable_himself_nor_take_an_unknown_action(client_as, runtime):
    admin = client_as("admin", "boss")
    with runtime.db.session() as s:
        me = users.find_user(s, "boss").id
    assert admin.post(f"/admin/users/{me}/disable").status_code == 302
    assert admin.post(f"/admin/users/{me}/promote").status_code == 302
    with runtime.db.session() as s:
        assert s.get(User, me).active is True
        # Each refusal's audit row says why, as every refusal of the users page does.
        rows = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "admin.user_action_form")
            .order_by(AuditEntry.id)
        ).all()
    assert [row.summary.get("refused", {}).get("code") for row in rows] == [
        "self_disable",
        "unknown_action",
    ]


def test_numbers_in_forms_and_filters_are_ascii_digits_or_refused_plainly(client, runtime):
    # ``²`` and ``１`` count as digits to Python's isdigit; neither is a number here.
    for odd in ("²", "１", "9" * 40, "-1", " 7"):
        made = client.post(
            "/admin/users",
            data={"username": "doc", "password": GOOD, "roles": ["doctor"], "doctor_id": odd},
        )
        assert made.status_code == 422
        assert client.post("/account/tokens", data={"name": "x", "days": odd}).status_code == 422
        assert client.get(f"/admin/audit?page={odd}").status_code == 200
    with runtime.db.session() as s:
        assert users.find_user(s, "doc") is None
        assert s.scalars(select(ApiToken)).all() == []


def test_a_username_too_long_is_refused_not_made_shorter(client, runtime):
    for name in ("a" * 65, "  " + "b" * 70):
        assert (
            client.post(
                "/admin/users", data={"username": name, "password": GOOD, "roles": ["cashier"]}
            ).status_code
            == 422
        )
    with runtime.db.session() as s:
        assert [u.username for u in users.list_users(s)] == ["admin"]


def test_a_doctor_made_a_manager_is_no_longer_linked_and_the_audit_names_the_user(
    client, make_user, runtime
):
    from clinic.accounts.models import AuditEntry

    doctor = make_user("doctor")
    with runtime.db.session() as s:
        linked = s.get(User, doctor).doctor_id
    assert linked is not None
    # Still a doctor: an absent doctor_id keeps him; an explicit null would leave none.
    kept = client.patch(f"/api/v1/users/{doctor}", json={"roles": ["doctor", "manager"]})
    assert kept.status_code == 200 and kept.get_json()["doctor_id"] == linked
    refused = client.patch(f"/api/v1/users/{doctor}", json={"doctor_id": None})
    assert refused.status_code == 422 and "doctor_id" in refused.get_json()["errors"]
    moved = client.patch(f"/api/v1/users/{doctor}", json={"roles": ["manager"]})
    assert moved.status_code == 200 and moved.get_json()["doctor_id"] is None
    # The page's form, with two roles ticked.
    ticked = client.post(
        f"/admin/users/{doctor}/roles", data={"roles": ["cashier", "manager"], "doctor_id": ""}
    )
    assert ticked.status_code == 302
    with runtime.db.session() as s:
        rows = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.action.in_(["users.update_user", "admin.user_action_form"]))
            .order_by(AuditEntry.id)
        ).all()
    assert [(r.object_type, r.object_id) for r in rows if r.status == 200] == [
        ("users", str(doctor))
    ] * 2
    assert rows[-1].summary["data"]["roles"] == ["cashier", "manager"]
    assert (rows[-1].object_type, rows[-1].object_id) == ("users", str(doctor))


def test_only_a_doctor_user_is_linked_to_a_doctor_whichever_door_sets_the_roles(
    client, make_user, runtime
):
    doctor = make_user("doctor")
    with runtime.db.session() as s:
        linked = s.get(User, doctor).doctor_id
    # The users page's roles form sends the current link with the roles ticked: unticking
    # "doctor" there ends the link, as it does through the API.
    page = client.post(
        f"/admin/users/{doctor}/roles", data={"roles": ["manager"], "doctor_id": str(linked)}
    )
    assert page.status_code == 302
    with runtime.db.session() as s:
        assert s.get(User, doctor).doctor_id is None
    # A doctor given to a user who is not one is refused, naming the field.
    made = client.post(
        "/api/v1/users",
        json={"username": "kassa", "password": GOOD, "roles": ["manager"], "doctor_id": linked},
    )
    assert made.status_code == 422 and "doctor_id" in made.get_json()["errors"]
    patched = client.patch(f"/api/v1/users/{doctor}", json={"doctor_id": linked})
    assert patched.status_code == 422 and "doctor_id" in patched.get_json()["errors"]
    with runtime.db.session() as s:
        assert users.find_user(s, "kassa") is None
        assert s.get(User, doctor).doctor_id is None
        assert s.get(User, doctor).roles == ["manager"]


def test_the_users_and_tokens_pages_say_a_refusal_in_the_page_language(client, runtime):
    def said(response) -> str:
        # Said on the form drawn again, with what was typed.
        assert response.status_code in (409, 422)
        return response.get_data(as_text=True)

    client.get("/admin/users?lang=ru")
    taken = client.post(
        "/admin/users", data={"username": "admin", "password": GOOD, "roles": ["cashier"]}
    )
    assert "Это имя пользователя уже занято." in said(taken)
    short = client.post(
        "/admin/users", data={"username": "feruza", "password": "qisqa", "roles": ["cashier"]}
    )
    page = said(short)
    assert "Пароль должен быть не короче 10 символов." in page and "password must" not in page
    doctor = client.post(
        "/admin/users",
        data={"username": "feruza", "password": GOOD, "roles": ["doctor"], "doctor_id": ""},
    )
    assert "Учётной записи врача нужен врач, к которому она относится." in said(doctor)
    client.get("/account/tokens?lang=uz")
    blank = client.post("/account/tokens", data={"name": " ", "days": "400"})
    page = said(blank)
    assert "Token nomi 1 dan 100 gacha belgi." in page
    assert "Token muddati butun kunlar soni, 1 dan 366 gacha." in page
    with runtime.db.session() as s:
        assert users.find_user(s, "feruza") is None
        assert s.scalars(select(ApiToken)).all() == []


@pytest.mark.parametrize("language", ["ru", "uz"])
def test_every_refusal_of_the_accounts_module_has_words_in_russian_and_uzbek(app, language):
    """The users, tokens and password pages say a refusal by its code: a code any of their
    forms may meet (clinic/accounts/refusals.py) without words here would reach the page in
    English."""
    from web.accounts.pages import refusal_texts

    with app.test_request_context("/admin/users?lang=en"):
        english = refusal_texts()
    with app.test_request_context(f"/admin/users?lang={language}"):
        said = refusal_texts()
    assert sorted(refusals.CODES - set(said)) == []
    assert [code for code in sorted(refusals.CODES) if said[code] == english[code]] == []


def test_a_reworded_refusal_is_still_said_in_the_page_language(client, monkeypatch):
    """The page goes by the refusal's code, not by the English words the API shows."""
    monkeypatch.setitem(passwords.POLICY, passwords.TOO_SHORT, "is shorter than allowed")
    client.get("/admin/users?lang=ru")
    short = client.post(
        "/admin/users", data={"username": "feruza", "password": "qisqa", "roles": ["cashier"]}
    )
    page = short.get_data(as_text=True)
    assert "Пароль должен быть не короче 10 символов." in page
    assert "shorter than allowed" not in page
