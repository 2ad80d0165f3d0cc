"""A signed-in person's language is his own, not the computer's: chosen once, it is the
language of his pages at any desk he signs in at (the reception's computers are shared by
registrars who read Russian and registrars who read Uzbek)."""

from __future__ import annotations

from html import unescape

UZ, RU, EN = "Narxlar ro'yxati", "Прайс-лист", "Price list"


def _page(client, path="/services", **headers) -> str:
    return unescape(client.get(path, headers=headers).get_data(as_text=True))


def test_the_language_a_user_chose_is_his_at_another_computer(app, client_as):
    first = client_as("registrar", "dilnoza")
    assert UZ in _page(first, "/services?lang=uz")
    # Another computer, its browser set to Russian, a cookie of whoever used it before.
    other = app.test_client()
    other.set_cookie("lang", "ru")
    other.sign_in("dilnoza")
    assert UZ in _page(other, **{"Accept-Language": "ru"})
    # He switches there: the choice is his again everywhere.
    assert EN in _page(other, "/services?lang=en")
    assert EN in _page(first, **{"Accept-Language": "uz"})


def test_without_a_choice_of_his_own_the_computer_decides(app, client_as):
    someone = client_as("registrar", "jasur")
    assert RU in _page(someone, **{"Accept-Language": "ru"})
    someone.set_cookie("lang", "uz")
    assert UZ in _page(someone)


def test_signed_out_pages_keep_the_computers_choice(app, client_as):
    user = client_as("registrar", "malika")
    _page(user, "/services?lang=uz")
    stranger = app.test_client()
    assert "Войти" in _page(stranger, "/login", **{"Accept-Language": "ru"})


def test_a_page_reading_itself_again_in_the_background_chooses_nothing(app, client_as):
    """A screen loads its own page again to redraw part of it (a renamed queue, a doctor who
    joined), with its address's ``?lang=``; meanwhile the person may have chosen another
    language in another tab. The script's read is not his choice: the page comes in the
    language asked, and neither his account nor the computer's cookie is changed by it."""
    user = client_as("registrar", "aziza")
    assert UZ in _page(user, "/services?lang=uz")
    assert EN in _page(user, "/services?lang=en", **{"Sec-Fetch-Mode": "navigate"})
    assert UZ in _page(user, "/services?lang=uz", **{"Sec-Fetch-Mode": "cors"})
    assert user.get_cookie("lang").value == "en"
    assert EN in _page(user)
    other = app.test_client()
    other.sign_in("aziza")
    assert EN in _page(other, **{"Accept-Language": "uz"})
