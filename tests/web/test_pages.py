"""Server-rendered pages: languages, the price list, HTML error pages and the API docs."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from clinic.queue import boards
from clinic.queue.models import Board
from clinic.reference.price_list import create_service
from tests.conftest import ONE_BACKEND

# Server-rendered pages and their languages, not database rules: they run on one backend
# (see tests/conftest.py).
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
def services(runtime):
    """Two services made through the reference service, one of them inactive."""
    from clinic.reference.price_list import deactivate_service

    with runtime.db.transaction() as s:
        create_service(
            s,
            {
                "code": "US-01",
                "name_ru": "УЗИ брюшной полости",
                "name_uz": "Qorin bo'shlig'i UTT",
                "name_en": "Abdominal ultrasound",
                "price": 15_000_000,
            },
        )
        old = create_service(
            s,
            {
                "code": "XR-9",
                "name_ru": "Рентген (старый)",
                "name_uz": "Rentgen (eski)",
                "name_en": "X-ray (old)",
                "price": 5_050,
            },
        )
        s.flush()
        deactivate_service(s, old.id)


@pytest.mark.parametrize(
    "lang, html_lang, texts",
    [
        ("ru", "ru", ["Прайс-лист", "Импорт прайс-листа", "Импортировать", "Документация API"]),
        ("uz", "uz-Latn", ["Narxlar ro'yxati", "Import qilish", "API hujjatlari"]),
        ("en", "en", ["Price list", "Import a price list", "API documentation"]),
    ],
)
def test_the_price_list_page_speaks_the_chosen_language(client, lang, html_lang, texts):
    response = client.get(f"/services?lang={lang}", headers=HTML)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'<html lang="{html_lang}">' in page
    for text in texts:
        assert text in unescape(page)
    # The switch offers every language, the current one marked.
    assert re.search(rf'href="\?lang={lang}"[^>]*\s+aria-current="true"', page)
    for other in ("ru", "uz", "en"):
        assert f'href="?lang={other}"' in page


@pytest.mark.parametrize(
    "lang, name, price, count",
    [
        ("ru", "УЗИ брюшной полости", "150 000 сум", "2 услуги"),
        ("uz", "Qorin bo'shlig'i UTT", "150 000 so'm", "2 ta xizmat"),
        ("en", "Abdominal ultrasound", "150,000 UZS", "2 services"),
    ],
)
def test_services_are_listed_with_their_name_and_price_in_the_page_language(
    client, services, lang, name, price, count
):
    page = unescape(client.get(f"/services?lang={lang}").get_data(as_text=True))
    assert name in page
    assert price in page
    assert count in page
    assert "US-01" in page and "XR-9" in page
    # Active services come first; the inactive one is marked.
    assert page.index("US-01") < page.index("XR-9")
    assert 'class="is-inactive" data-code="XR-9"' in page


def test_an_empty_price_list_says_so(client):
    page = client.get("/services?lang=en").get_data(as_text=True)
    assert "The price list is empty" in page
    assert "0 services" in page


def test_a_search_that_finds_no_service_says_so_not_that_the_price_list_is_empty(client, services):
    """A cashier looking for a service the clinic does not offer is told that nothing
    matches, not that the price list is empty and a file should be imported."""
    page = unescape(client.get("/services?lang=ru&q=томография").get_data(as_text=True))
    assert "В прайс-листе нет такой услуги." in page
    assert "Прайс-лист пуст" not in page
    table = client.get("/services/table?lang=en&q=tomography").get_data(as_text=True)
    assert "No service of the price list matches." in table
    assert "The price list is empty" not in table


def test_the_table_alone_renders_for_the_refresh_after_an_import(client, services):
    response = client.get("/services/table?lang=ru")
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert "150 000 сум" in fragment and "50,50 сум" in fragment
    assert "<html" not in fragment


def test_the_chosen_language_is_remembered_in_a_cookie(client):
    first = client.get("/services?lang=uz")
    assert "lang=uz" in first.headers["Set-Cookie"]
    # No ?lang= and a browser asking for English: the cookie still wins.
    again = client.get("/services", headers={"Accept-Language": "en"})
    assert "Narxlar ro'yxati" in unescape(again.get_data(as_text=True))
    client.get("/services?lang=en")
    assert "Price list" in client.get("/services").get_data(as_text=True)


def test_without_a_choice_the_browser_language_is_used(client):
    page = client.get("/services", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert "Прайс-лист" in page.get_data(as_text=True)


def test_an_unknown_language_is_ignored(client):
    response = client.get("/services?lang=de", headers={"Accept-Language": "en"})
    assert "Price list" in response.get_data(as_text=True)
    assert "lang=de" not in response.headers.get("Set-Cookie", "")


def test_the_navigation_marks_the_current_page(client):
    page = client.get("/services?lang=en").get_data(as_text=True)
    assert '<a href="/services" aria-current="page">Price list</a>' in page


@pytest.mark.parametrize(
    "role, start",
    [
        ("registrar", "/queue/desk"),
        ("doctor", "/queue/doctor"),
        ("cashier", "/payments/desk"),
        ("manager", "/visits/calendar"),
        ("admin", "/queue/desk"),
    ],
)
def test_each_role_starts_on_its_own_desk(client_as, role, start):
    response = client_as(role).get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(start)


@pytest.mark.parametrize(
    "lang, heading",
    [("ru", "Страница не найдена"), ("uz", "Sahifa topilmadi"), ("en", "Page not found")],
)
def test_a_missing_page_is_an_html_page_in_the_chosen_language(client, lang, heading):
    response = client.get(f"/no-such-page?lang={lang}", headers=HTML)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert heading in page
    assert 'class="error-page__code">404<' in page


def test_a_missing_api_resource_stays_json_problem_details(client):
    response = client.get("/api/v1/no-such-thing", headers=HTML)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 404


def test_a_client_asking_for_json_gets_json_even_outside_the_api(client):
    response = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


@pytest.fixture
def broken_page(app):
    """A page that fails, added before the app answers its first request."""
    from web.permissions import public

    @public
    def broken_page():
        raise RuntimeError("broken on purpose")

    app.add_url_rule("/broken-page", view_func=broken_page)


@pytest.mark.own_app  # adds a route of its own
def test_a_page_that_fails_shows_the_html_error_page(broken_page, client):
    response = client.get("/broken-page?lang=en", headers=HTML)
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Something went wrong" in page
    assert "broken on purpose" not in page


def test_the_api_docs_page_and_its_assets_are_served_locally(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/swagger-ui/swagger-ui-bundle.js" in html
    assert not re.search(r'(src|href)="(https?:)?//', html), "the docs must load nothing remote"
    for asset, kind in [
        ("swagger-ui-bundle.js", "javascript"),
        ("swagger-ui-standalone-preset.js", "javascript"),
        ("swagger-ui.css", "css"),
    ]:
        response = client.get(f"/api/swagger-ui/{asset}")
        assert response.status_code == 200, asset
        assert kind in response.mimetype
        assert len(response.data) > 10_000
    assert client.get("/api/openapi.json").status_code == 200


def test_the_stylesheet_and_scripts_of_the_layout_are_served(client):
    for path in ("/static/css/clinic.css", "/static/js/clinic-ws.js", "/static/js/layout.js"):
        assert client.get(path).status_code == 200, path


def test_pages_load_nothing_from_other_hosts(client):
    # Clinics often have slow or no internet: fonts, styles and scripts are all our own.
    for path in ("/services", "/no-such-page"):
        html = client.get(path, headers=HTML).get_data(as_text=True)
        assert not re.search(r'(src|href)="(https?:)?//', html), path
    css = client.get("/static/css/clinic.css").get_data(as_text=True)
    assert "url(" not in css and "@import" not in css


def test_a_display_starts_on_its_board_and_a_doctor_on_his_queue_screen(client_as, runtime):
    from clinic.demo import load_demo_clinic

    with runtime.db.transaction() as session:
        load_demo_clinic(session)
    display = client_as("display")
    assert "/board/" in display.get("/").headers["Location"]
    # The first board switched off, a new one made: he lands on the one that works.
    with runtime.db.transaction() as session:
        first = session.scalars(select(Board).order_by(Board.id)).first()
        first.active = False
        hall = boards.create_board(session, {"name": "Hall", "queue_ids": first.queue_ids})
        first_id, hall_id = first.id, hall.id
    assert display.get("/").headers["Location"] == f"/board/{hall_id}" != f"/board/{first_id}"
    doctor = client_as("doctor")
    assert doctor.get("/").headers["Location"].endswith("/queue/doctor")


def test_the_demo_clinics_doctors_have_free_slots_to_book_at_any_hour(client, runtime):
    from clinic.base import utcnow
    from clinic.demo import load_demo_clinic
    from clinic.queue.tickets import clinic_day

    with runtime.db.transaction() as session:
        load_demo_clinic(session)
    today = clinic_day(utcnow(), runtime.settings.tz)
    # Today's slots and tomorrow's: in the day's last minutes today's are all past.
    days = f"from={today}&to={today + timedelta(days=1)}"
    doctors = client.get("/api/v1/doctors").get_json()["items"]
    assert doctors
    for doctor in doctors:
        found = client.get(f"/api/v1/visits/slots?doctor_id={doctor['id']}&{days}")
        assert found.status_code == 200 and found.get_json(), doctor


def test_the_price_list_finds_a_service_in_either_script(client, services):
    found = unescape(client.get("/services?lang=ru&q=uzi").get_data(as_text=True))
    assert 'data-code="US-01"' in found and 'data-code="XR-9"' not in found
    assert 'name="q" value="uzi"' in found
    table = client.get("/services/table?lang=ru&q=рентген").get_data(as_text=True)
    assert 'data-code="XR-9"' in table and 'data-code="US-01"' not in table


def test_the_price_list_import_counts_its_rows_in_russian_without_a_wrong_plural(client):
    """The script fills in any count: a label before it reads right for 1, 21 or 5 rows
    ("Строк: 1 из 21"), where a fixed word after it said "1 из 21 строк"."""
    import json

    html = client.get("/services?lang=ru", headers=HTML).get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="price-list-texts">(.*?)</script>', html)
    assert json.loads(unescape(found.group(1)))["rows"] == "Строк: {done} из {total}"


@pytest.mark.parametrize("lang", ["ru", "uz"])
def test_the_price_list_page_words_every_refusal_of_an_upload_in_its_language(client, lang):
    """The API refuses a file in English (for scripts); the page has its own words for each
    reason, or for the field, so the import form shows no English."""
    import io
    import json

    refused = [
        {"file": (io.BytesIO(b""), "prices.csv")},
        {"file": (io.BytesIO(b"code,price\n"), "prices.pdf")},
        {"file": (io.BytesIO(b"code,price\n"), "prices.xlsx")},
        {"file": (io.BytesIO(b"code,\x00price\n"), "prices.csv")},
        # Marked UTF-8, broken inside (a Windows-1251 file without the mark is read).
        {"file": (io.BytesIO(b"\xef\xbb\xbf" + "code,цена\n".encode("cp1251")), "prices.csv")},
        {},
    ]
    html = client.get(f"/services?lang={lang}", headers=HTML).get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="price-list-texts">(.*?)</script>', html)
    texts = json.loads(unescape(found.group(1)))
    english = json.loads(
        unescape(
            re.search(
                r'<script type="application/json" id="price-list-texts">(.*?)</script>',
                client.get("/services?lang=en", headers=HTML).get_data(as_text=True),
            ).group(1)
        )
    )
    unsaid = []
    for data in refused:
        answer = client.post(
            "/api/v1/services/import", data=data, content_type="multipart/form-data"
        )
        assert answer.status_code == 422, answer.get_json()
        for field, messages in answer.get_json()["errors"].items():
            for message in messages:
                said = texts.get("reasons", {}).get(message) or texts.get("fields", {}).get(field)
                if not said or said == english["reasons"].get(message, english["fields"][field]):
                    unsaid.append((field, message))
    assert unsaid == []
    assert texts["tooLarge"] != english["tooLarge"]


def test_an_unknown_language_asked_for_keeps_the_one_chosen_before(client):
    # A link or a bookmark with ?lang=de (or ?lang=) does not throw the reader out of the
    # language he chose on this computer into his browser's.
    client.get("/services?lang=uz")
    for asked in ("de", ""):
        page = client.get(f"/services?lang={asked}", headers={"Accept-Language": "en"})
        assert "Narxlar ro'yxati" in unescape(page.get_data(as_text=True)), asked


def test_the_language_switch_of_any_page_stays_on_the_clinics_site(client):
    """An address built to be read as another site's (``/\\evil.example/``: browsers take
    ``/\\`` for ``//``) still gets the clinic's 404 page; its language links keep to the
    page's own path (a link of the query alone), never leading off the site."""
    for path in ("/%5Cevil.example/", "/%5C%5Cevil.example/x", "/services"):
        page = client.get(f"{path}?lang=ru", headers=HTML).get_data(as_text=True)
        links = re.findall(r'<a href="([^"]*)"[^>]*hreflang=', page)
        assert sorted(links) == ["?lang=en", "?lang=ru", "?lang=uz"], path
