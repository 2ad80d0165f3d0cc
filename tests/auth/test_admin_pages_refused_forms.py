"""A form of the users, tokens or password page that the server refuses comes back drawn again
as it was sent (never a password), the refusal said at the field refused, which is marked
invalid and focused; a form of a user's row says which user the refusal is about."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from clinic.accounts import tokens, users
from clinic.accounts.models import ApiToken, AuditEntry
from tests.conftest import ONE_BACKEND, PASSWORD

# Server-rendered pages, not database rules: one backend.
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])
GOOD = "Yashil-olma-42"


class _Fields(HTMLParser):
    """The page's form fields, each as its attributes, in the page's order, and the text of
    every element by its id."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.fields: list[dict] = []
        self.texts: dict[str, str] = {}
        self._open: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in ("input", "select") and attributes.get("type") != "hidden":
            self.fields.append({"tag": tag, **attributes})
        if "id" in attributes and tag not in ("input", "select"):
            self._open.append(attributes["id"])
            self.texts[attributes["id"]] = ""
        elif tag not in ("input", "br", "meta", "link"):
            self._open.append("")

    def handle_endtag(self, tag):
        if self._open and tag not in ("input", "br", "meta", "link"):
            self._open.pop()

    def handle_data(self, data):
        for name in self._open:
            if name:
                self.texts[name] += data

    def focused(self) -> dict:
        (field,) = [f for f in self.fields if "autofocus" in f]
        return field

    def message_of(self, field: dict) -> str:
        """The message the field is described by (aria-describedby), as the page says it."""
        assert field.get("aria-invalid") == "true", field
        return " ".join(self.texts[field["aria-describedby"]].split())


def _in_english(signed_in):
    """The account reads its pages in English from now on: a form posts to its address alone,
    without the ``?lang=`` that chose the language."""
    signed_in.get("/account/tokens?lang=en", headers={"Accept": "text/html"})
    return signed_in


@pytest.fixture
def admin(client):
    return _in_english(client)


def _refused(answer, status: int = 422) -> _Fields:
    assert answer.status_code == status, answer.status_code
    return _Fields(answer.get_data(as_text=True))


def _create(admin, **data):
    sent = {"username": "nurse.f4", "full_name": "Nurse F4", "password": GOOD, "roles": []}
    return admin.post("/admin/users", data={**sent, **data})


def test_a_new_user_without_a_role_keeps_what_was_typed_and_focuses_the_roles(admin, runtime):
    page = _refused(_create(admin, username="Nurse.F4", password="Zebra-quilt-2026x"))
    typed = {f["name"]: f.get("value") for f in page.fields[:4] if f["tag"] == "input"}
    assert typed == {"username": "Nurse.F4", "full_name": "Nurse F4", "password": None}
    focused = page.focused()
    assert (focused["name"], focused["value"]) == ("roles", "admin")
    assert page.message_of(focused) == "Choose at least one role."
    # Every role's box is marked, the first focused; none was ticked, none is.
    boxes = [f for f in page.fields if f.get("name") == "roles"][:7]
    assert all(box.get("aria-invalid") == "true" and "checked" not in box for box in boxes)
    with runtime.db.session() as s:
        assert users.find_user(s, "nurse.f4") is None
        # Its audit row carries the status answered and says why, as before.
        row = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (row.action, row.status, row.object_type) == ("admin.create_user_form", 422, "users")
    assert row.summary["refused"]["code"] == "validation_failed"
    assert "Zebra-quilt-2026x" not in str(row.summary)


@pytest.mark.parametrize(
    "sent, field, said",
    [
        (
            {"username": "x", "roles": ["cashier"]},
            "username",
            "The user name has 2 to 64 characters: Latin letters, digits, dot, dash and "
            "underscore.",
        ),
        (
            {"password": "1q2w3e4r5t", "roles": ["cashier"]},
            "password",
            "This password is too common.",
        ),
        (
            {"roles": ["doctor", "cashier"]},
            "doctor_id",
            "A doctor's account needs the doctor it belongs to.",
        ),
        (
            {"username": "admin", "roles": ["cashier"]},
            "username",
            "This user name is already taken.",
        ),
    ],
)
def test_a_refused_new_user_is_said_at_the_field_refused(admin, sent, field, said):
    answer = _create(admin, **sent)
    page = _refused(answer, 409 if said.endswith("taken.") else 422)
    focused = page.focused()
    assert focused["name"] == field and page.message_of(focused) == said
    assert [f["name"] for f in page.fields if f.get("aria-invalid")] == [field]
    html = answer.get_data(as_text=True)
    assert "1q2w3e4r5t" not in html and GOOD not in html  # a password is never sent back
    # The roles ticked stay ticked (the form's four fields, then its seven roles).
    ticked = [f["value"] for f in page.fields[4:11] if "checked" in f]
    assert ticked == sorted(sent["roles"])


def test_a_refused_form_of_a_users_row_says_which_user_at_that_row(admin, make_user):
    olim = make_user("cashier", "olim")
    make_user("cashier", "zarina")
    page = _refused(admin.post(f"/admin/users/{olim}/roles", data={"roles": []}))
    focused = page.focused()
    assert focused["name"] == "roles"
    assert focused["aria-describedby"] == f"user-{olim}-roles-error"
    assert page.message_of(focused) == "User olim: Choose at least one role."
    # The other rows are as they were: nothing marked but olim's roles.
    marked = {f["aria-describedby"] for f in page.fields if f.get("aria-invalid")}
    assert marked == {f"user-{olim}-roles-error"}

    answer = admin.post(f"/admin/users/{olim}/password", data={"password": "qisqa-1"})
    page = _refused(answer)
    focused = page.focused()
    assert focused["name"] == "password"
    assert page.message_of(focused) == (
        "User olim: The password must be at least 10 characters long."
    )
    assert "qisqa-1" not in answer.get_data(as_text=True)


def test_a_doctor_ticked_in_a_row_without_his_doctor_keeps_the_ticks(admin, make_user):
    olim = make_user("cashier", "olim")
    page = _refused(admin.post(f"/admin/users/{olim}/roles", data={"roles": ["cashier", "doctor"]}))
    focused = page.focused()
    assert focused["name"] == "doctor_id"
    assert page.message_of(focused) == (
        "User olim: A doctor's account needs the doctor it belongs to."
    )
    row = [f for f in page.fields if f.get("aria-describedby", "").startswith(f"user-{olim}-")]
    assert [f["name"] for f in row] == ["doctor_id"]


def test_another_users_password_is_refused_in_neutral_words_ones_own_in_the_second_person(
    admin, client_as, make_user
):
    page = _refused(_create(admin, username="olim", password="olim-Yashil-42", roles="cashier"))
    assert page.message_of(page.focused()) == "The password must not contain the user name."
    olim = make_user("cashier", "olim")
    page = _refused(
        admin.post(f"/admin/users/{olim}/password", data={"password": "olim-Yashil-42"})
    )
    assert page.message_of(page.focused()) == (
        "User olim: The password must not contain the user name."
    )
    own = _in_english(client_as("cashier", "feruza")).post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "feruza-Yashil-42"},
    )
    page = _refused(own)
    assert page.message_of(page.focused()) == "The password must not contain your user name."


def test_a_refused_token_keeps_what_was_typed_and_focuses_the_field(client_as, runtime):
    desk = _in_english(client_as("registrar"))
    page = _refused(desk.post("/account/tokens", data={"name": "skript", "days": "1.5"}))
    name, days = [f for f in page.fields if f.get("name") in ("name", "days")]
    assert (name["value"], days["value"]) == ("skript", "1.5")
    assert page.focused() is days and "aria-invalid" not in name
    assert page.message_of(days) == "The token lasts a whole number of days, from 1 to 366."
    page = _refused(desk.post("/account/tokens", data={"name": " ", "days": "400"}))
    assert page.focused()["name"] == "name"
    assert page.message_of(page.focused()) == "The token's name has 1 to 100 characters."
    with runtime.db.session() as s:
        assert s.scalars(select(ApiToken)).all() == []


@pytest.mark.parametrize(
    "current, new, field, said",
    [
        ("not-my-password", "Yashil-olma-42", "current_password", "The current password is wrong."),
        (PASSWORD, "qisqa", "new_password", "The password must be at least 10 characters long."),
    ],
)
def test_the_password_page_focuses_the_field_it_refused(client_as, current, new, field, said):
    desk = _in_english(client_as("registrar"))
    answer = desk.post("/account/password", data={"current_password": current, "new_password": new})
    page = _refused(answer)
    focused = page.focused()
    assert focused["name"] == field and focused["aria-describedby"] == f"{field}-error"
    assert unescape(page.message_of(focused)) == said
    assert [f["name"] for f in page.fields if f.get("aria-invalid")] == [field]
    assert not re.search(rf'value="{re.escape(new)}"', answer.get_data(as_text=True))


def _alerts(signed_in, path: str) -> list[str]:
    html = unescape(signed_in.get(path).get_data(as_text=True))
    return [
        " ".join(said.split())
        for said in re.findall(r'class="alert[^"]*"[^>]*>(.*?)</p>', html, re.S)
    ]


def test_a_row_gone_since_the_page_was_drawn_is_said_in_the_pages_language(
    client_as, make_user, runtime
):
    """A token revoked, or a user unlocked, from a page drawn before the row was gone (or a
    token that was never one's own) is said in the page's language, not the domain's
    English ("token 999 does not exist")."""
    gone = "Bu endi yo'q: boshqa ekranda o'chirilgan bo'lishi mumkin. Sahifani yangilang."
    admin = client_as("admin")
    admin.get("/account/tokens?lang=uz", headers={"Accept": "text/html"})
    assert admin.post("/account/tokens/999/revoke", data={}).status_code in (302, 303)
    assert _alerts(admin, "/account/tokens") == [gone]
    assert admin.post("/admin/users/99999/unlock", data={}).status_code in (302, 303)
    assert _alerts(admin, "/admin/users") == [gone]
    # Another user's token, to a user who may not manage tokens: no such token, in his words.
    owner = make_user("cashier", "tokenli")
    with runtime.db.transaction() as s:
        token, _ = tokens.create_token(s, users.get_user(s, owner), name="skript")
        token_id = token.id
    desk = client_as("registrar")
    desk.get("/account/tokens?lang=ru", headers={"Accept": "text/html"})
    desk.post(f"/account/tokens/{token_id}/revoke", data={})
    assert _alerts(desk, "/account/tokens") == [
        "Этого уже нет: возможно, удалено на другом экране. Обновите страницу."
    ]
    with runtime.db.session() as s:
        assert s.get(ApiToken, token_id).revoked_at is None
