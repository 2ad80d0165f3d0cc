"""Every text of the cashier's desk and the appointments calendar speaks Russian and Uzbek.

The texts are taken from the pages' own sources (templates, and the Python views that hand
their scripts the texts), the way ``pybabel extract`` takes them, so a text added to a page
without a translation fails here rather than showing in English to a cashier.
"""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.conftest import ONE_BACKEND

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
CATALOGUES = WEB / "translations"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}

# The sources of the pages' texts: templates for what the server renders, the views (and
# the navigation label in the package) for what the scripts show.
PAGE_SOURCES = {
    "payments": [
        ("jinja2", "templates/payments/desk.html"),
        ("python", "payments/pages.py"),
        ("python", "payments/__init__.py"),
    ],
    "visits": [
        ("jinja2", "templates/visits/calendar.html"),
        ("python", "visits/pages.py"),
        ("python", "visits/__init__.py"),
    ],
    "reports": [
        ("jinja2", "templates/reports/reports.html"),
        ("python", "reports/pages.py"),
        ("python", "reports/__init__.py"),
    ],
}
PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)s")


def _page_texts(page: str) -> list[str]:
    texts = []
    for method, path in PAGE_SOURCES[page]:
        for _, message, _, _ in extract_from_file(method, str(WEB / path), keywords=KEYWORDS):
            texts.append(message if isinstance(message, str) else message[0])
    assert texts, f"no texts found for the {page} page"
    return sorted(set(texts))


def _catalogue(language: str):
    with open(CATALOGUES / language / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f)


def _compiled(language: str):
    with open(CATALOGUES / language / "LC_MESSAGES" / "messages.mo", "rb") as f:
        return read_mo(f)


CASES = [(page, lang) for page in PAGE_SOURCES for lang in ("ru", "uz")]


@pytest.mark.parametrize("page, language", CASES)
def test_every_text_of_the_page_is_translated_and_not_fuzzy(page, language):
    catalogue = _catalogue(language)
    untranslated = []
    for text in _page_texts(page):
        entry = catalogue.get(text)
        if entry is None or entry.fuzzy:
            untranslated.append(text)
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if not all(s and s.strip() for s in strings):
            untranslated.append(text)
    assert untranslated == []


@pytest.mark.parametrize("page, language", CASES)
def test_every_text_of_the_page_is_in_the_compiled_catalogue(page, language):
    # The server reads the .mo: a .po translated but not compiled still shows English.
    compiled = _compiled(language)
    missing = [
        text
        for text in _page_texts(page)
        if compiled.get(text) is None or not compiled.get(text).string
    ]
    assert missing == []


@pytest.mark.parametrize("page, language", CASES)
def test_a_translation_keeps_the_placeholders_its_script_fills_in(page, language):
    catalogue = _catalogue(language)
    wrong = []
    for text in _page_texts(page):
        entry = catalogue.get(text)
        if entry is not None and entry.string:
            if sorted(PLACEHOLDER.findall(entry.string)) != sorted(PLACEHOLDER.findall(text)):
                wrong.append((text, entry.string))
    assert wrong == []


def _all_texts() -> set[str]:
    """Every text of the interface, extracted as docs/translations.md extracts them."""
    with open(WEB / "babel.cfg") as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = extract_from_dir(str(WEB), method_map, options_map, keywords=KEYWORDS)
    return {message if isinstance(message, str) else message[0] for _, _, message, _, _ in found}


@pytest.mark.parametrize("language", ["ru", "uz"])
def test_every_text_of_the_interface_is_in_the_catalogue_and_translated(language):
    # A text added anywhere (queue, accounts, sign-in pages too) and not extracted, or
    # extracted and not translated, is listed here; see docs/translations.md for the commands.
    catalogue = _catalogue(language)
    compiled = _compiled(language)
    missing = []
    for text in sorted(_all_texts()):
        entry, built = catalogue.get(text), compiled.get(text)
        if entry is None or entry.fuzzy or built is None:
            missing.append(text)
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if not all(s and s.strip() for s in strings):
            missing.append(text)
    assert missing == []


def test_uzbek_texts_are_written_in_the_latin_script():
    cyrillic = re.compile(r"[\u0400-\u04ff]")
    catalogue = _catalogue("uz")
    assert [m.id for m in catalogue if m.id and cyrillic.search(str(m.string))] == []


def _leaves(value):
    if isinstance(value, dict):
        for inner in value.values():
            yield from _leaves(inner)
    else:
        yield value


def _script_texts(html: str, config_id: str) -> list[str]:
    found = re.search(rf'<script type="application/json" id="{config_id}">(.*?)</script>', html)
    assert found, config_id
    return list(_leaves(json.loads(unescape(found.group(1)))["texts"]))


@pytest.mark.parametrize(
    "role, path, config_id",
    [
        ("cashier", "/payments/desk", "cashier-config"),
        ("registrar", "/visits/calendar", "calendar-config"),
        ("manager", "/reports", "reports-config"),
        ("manager", "/reports/dashboard", "dashboard-config"),
        # Its form's refusals too: each field the API names, in a sentence of the page's own.
        ("admin", "/admin/printers", "printers-config"),
    ],
)
def test_the_texts_a_page_gives_its_script_are_in_the_page_language(
    client_as, role, path, config_id
):
    user = client_as(role)
    english = _script_texts(user.get(f"{path}?lang=en").get_data(as_text=True), config_id)
    russian = _script_texts(user.get(f"{path}?lang=ru").get_data(as_text=True), config_id)
    assert len(russian) == len(english) > 0
    # Each in Russian, but for an abbreviation that is one in every language ("PDF").
    untranslated = [t for t in russian if not re.search("[А-Яа-яЁё]", t)]
    assert [t for t in untranslated if not re.fullmatch("[A-Z]{2,5}", t)] == []


def test_the_cashiers_script_writes_money_the_page_language_way(client_as):
    cashier = client_as("cashier")
    html = cashier.get("/payments/desk?lang=uz").get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="cashier-config">(.*?)</script>', html)
    config = json.loads(unescape(found.group(1)))
    assert config["money"] == {"group_separator": " ", "decimal_separator": ",", "unit": "so'm"}
    assert config["locale"] == "uz-Latn"


def _cashier_texts(client, language: str) -> dict:
    html = client.get(f"/payments/desk?lang={language}").get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="cashier-config">(.*?)</script>', html)
    return json.loads(unescape(found.group(1)))["texts"]


# How each language names the amount a payment takes, and writes 150 000 sums without unit.
AMOUNT_FIELD = {"en": ("amount to pay", "150,000"), "ru": ("к оплате", "150 000"),
                "uz": ("to'lanadigan summa", "150 000")}  # fmt: skip


@pytest.mark.parametrize("language", sorted(AMOUNT_FIELD))
def test_the_cashier_reads_the_amount_to_pay_and_its_refusals_in_the_page_language(
    client_as, language
):
    """A part payment at the desk: the amount field's label, the part taken with what is
    still due, and each refusal of the amount (above what is due, not whole tiyin, zero, or
    refused by the API) naming the field, in the page's language and money style."""
    from clinic.money import format_money

    texts = _cashier_texts(client_as("cashier"), language)
    english = _cashier_texts(client_as("cashier"), "en")
    field, example = AMOUNT_FIELD[language]
    refusals = [
        texts["amountAboveDue"],
        texts["amountNotTiyin"],
        texts["amountZero"],
        texts["payFields"]["amount"],
    ]
    for said in [texts["amount"], *refusals]:
        assert field in said.lower(), said
    assert "{amount}" in texts["amountAboveDue"]
    # The example is written as the page writes money (and as its script reads it back).
    assert example in texts["amountNotTiyin"]
    assert format_money(150_000_00, language).startswith(example)
    assert {"{amount}", "{number}", "{due}"} <= set(PLACEHOLDER.findall(texts["partPaid"]))
    assert "{amount}" in texts["paidSoFar"]
    if language != "en":
        said = [texts["amount"], texts["paidSoFar"], texts["partPaid"], *refusals]
        english_said = [english["amount"], english["paidSoFar"], english["partPaid"]]
        english_said += [english["amountAboveDue"], english["amountNotTiyin"]]
        english_said += [english["amountZero"], english["payFields"]["amount"]]
        assert all(ours != theirs for ours, theirs in zip(said, english_said, strict=True))
        cyrillic = [bool(re.search("[А-Яа-яЁё]", text)) for text in said]
        assert cyrillic == [language == "ru"] * len(said)


# Requests the report API refuses, one reason or more each: what the report page's form and
# its subscription form can send.
REFUSED_REPORTS = [
    ("/api/v1/reports", {"report": "sales"}),
    ("/api/v1/reports", {"report": "revenue", "by": "week", "start": "2026-02-30", "end": "x"}),
    ("/api/v1/reports", {"report": "revenue", "start": "2026-03-10", "end": "2026-03-01"}),
    ("/api/v1/reports", {"report": "revenue", "start": "2024-01-01", "end": "2026-03-01"}),
    ("/api/v1/reports", {"report": "revenue", "start": "1900-01-01", "end": "2026-03-01"}),
    (
        "/api/v1/reports",
        {"report": "shifts", "start": "2026-03-01", "end": "2026-03-01", "department_id": 1},
    ),
    (
        "/api/v1/reports",
        {
            "report": "revenue",
            "start": "2026-03-01",
            "end": "2026-03-01",
            "department_id": 999_999,
            "doctor_id": 999_999,
        },
    ),
    ("/api/v1/reports/subscriptions", {"report": "revenue", "frequency": "hourly", "email": "x"}),
    (
        "/api/v1/reports/subscriptions",
        {"report": "revenue", "frequency": "weekly", "email": "boss@example.test"},
    ),  # the second time: already subscribed
]


def _report_page_texts(client, language: str) -> dict:
    html = client.get(f"/reports?lang={language}").get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="reports-config">(.*?)</script>', html)
    return json.loads(unescape(found.group(1)))["texts"]


@pytest.mark.parametrize("backend", [ONE_BACKEND])
@pytest.mark.parametrize("language", ["ru", "uz"])
def test_the_report_page_words_every_refusal_of_the_report_api_in_its_language(client_as, language):
    """Each reason the API gives (in English, for scripts) comes with its stable code, and the
    page has its own words for each code, so no English reaches the page and a reworded
    message changes nothing there."""
    manager = client_as("manager")
    texts = _report_page_texts(manager, language)
    manager.post(REFUSED_REPORTS[-1][0], json=REFUSED_REPORTS[-1][1])
    unsaid = []
    for url, body in REFUSED_REPORTS:
        answer = manager.post(url, json=body)
        assert answer.status_code in (409, 422), (body, answer.get_json())
        problem = answer.get_json()
        if answer.status_code == 409:
            unsaid += [] if problem["code"] in texts["reasons"] else [problem["code"]]
            continue
        assert set(problem["reasons"]) == set(problem["errors"]), problem
        for field, messages in problem["errors"].items():
            reasons = problem["reasons"][field]
            assert len(reasons) == len(messages), problem
            unsaid += [(field, code) for code in reasons if code not in texts["reasons"]]
    assert unsaid == []
    english = _report_page_texts(manager, "en")
    assert [
        (group, key)
        for group in ("reasons", "fields")
        for key in english[group]
        if texts[group].get(key, english[group][key]) == english[group][key]
    ] == []


@pytest.mark.parametrize("language", ["ru", "uz"])
def test_every_refusal_of_the_reports_module_has_words_in_russian_and_uzbek(app, language):
    """The report page says a refusal by its code: a code of clinic/reports/refusals.py
    without words here would reach the page in English."""
    from clinic.reports import refusals
    from web.reports.pages import refusal_texts

    with app.test_request_context("/reports?lang=en"):
        english = refusal_texts()
    with app.test_request_context(f"/reports?lang={language}"):
        said = refusal_texts()
    assert sorted(refusals.CODES - set(said)) == []
    assert [code for code in sorted(refusals.CODES) if said[code] == english[code]] == []


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_a_reworded_refusal_of_the_reports_module_keeps_its_page_words(client_as, monkeypatch):
    """The page's script is handed its words by code only: no English message of the API is
    a key of its texts, so a reworded message is still said in the page's language."""
    from clinic.reports import refusals

    english = refusals.refusal

    def reworded(error, detail, reasons, **kwargs):
        reasons = {f: [(code, f"Reworded: {m}") for code, m in said] for f, said in reasons.items()}
        return english(error, detail, reasons, **kwargs)

    monkeypatch.setattr(refusals, "refusal", reworded)
    manager = client_as("manager")
    texts = _report_page_texts(manager, "ru")
    assert "messages" not in texts
    refused = manager.post(
        "/api/v1/reports", json={"report": "revenue", "start": "2026-03-10", "end": "2026-03-01"}
    ).get_json()
    assert refused["errors"] == {"end": ["Reworded: The period ends before it starts."]}
    assert [texts["reasons"][code] for code in refused["reasons"]["end"]] == [
        "Период заканчивается раньше, чем начинается."
    ]


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_the_dashboard_names_every_visit_status_in_the_page_language(client_as):
    """The dashboard counts today's visits by status: "Неявка: 1", not "no_show: 1"."""
    from clinic.visits.events import VisitStatus

    manager = client_as("manager")
    html = manager.get("/reports/dashboard?lang=ru").get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="dashboard-config">(.*?)</script>', html)
    statuses = json.loads(unescape(found.group(1)))["texts"].get("statuses", {})
    assert sorted(statuses) == sorted(VisitStatus.ALL)
    assert [name for name in statuses.values() if not re.search("[А-Яа-яЁё]", name)] == []


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_the_dashboard_counts_payments_without_a_wrong_plural(client_as):
    """The count is filled in by the script: a label before it reads right for 1, 2 or 5
    ("Платежей: 1"), where a fixed word after it said "1 платежей"."""
    html = client_as("manager").get("/reports/dashboard?lang=ru").get_data(as_text=True)
    assert re.search(r'Платежей: <span id="dash-payments">', html)


@pytest.mark.parametrize(
    "lang, words",
    [
        ("ru", ["Отметить приход", "Пациент отмечен: талон {code}", "Пришёл", "Неявка"]),
        ("uz", ["Kelganini belgilash", "Bemor belgilandi: talon {code}"]),
    ],
)
def test_the_calendars_check_in_and_visit_statuses_are_in_the_page_language(client_as, lang, words):
    registrar = client_as("registrar")
    html = registrar.get(f"/visits/calendar?lang={lang}").get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="calendar-config">(.*?)</script>', html)
    texts = json.loads(unescape(found.group(1)))["texts"]
    assert sorted(texts["statuses"]) == sorted(
        ["scheduled", "arrived", "in_progress", "completed", "no_show", "cancelled"]
    )
    english = {
        "checkIn": "Check in",
        "checkedIn": "Patient checked in: ticket {code}",
        "checkedInNoTicket": "Patient checked in.",
        "not_today": "A visit is checked in on its own day only.",
        "status_changed": "The visit's status has changed; the calendar shows it now.",
        "scheduled": "Scheduled",
        "arrived": "Arrived",
        "in_progress": "In progress",
        "completed": "Completed",
        "no_show": "No-show",
        "cancelled": "Cancelled",
    }
    said = {
        **{key: texts[key] for key in ("checkIn", "checkedIn", "checkedInNoTicket")},
        **{code: texts["conflicts"][code] for code in ("not_today", "status_changed")},
        **texts["statuses"],
    }
    assert [key for key, text in said.items() if text == english[key]] == []
    assert [w for w in words if w not in said.values()] == []


def test_signing_out_says_so_in_the_language_of_the_sign_in_page_it_leads_to(client_as):
    """A registrar who reads Uzbek signs out at a computer left in Russian: the page after it
    is this computer's, Russian, and so is what it says of his signing out."""
    registrar = client_as("registrar")
    registrar.get("/queue/desk?lang=uz", headers={"Accept": "text/html"})  # his own language
    registrar.set_cookie("lang", "ru")  # the computer's, as the one before him left it
    desk = registrar.get("/queue/desk", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert '<html lang="uz' in desk
    token = re.search(r'name="csrf_token" value="([^"]+)"', desk).group(1)
    after = registrar.post("/logout", data={"csrf_token": token}, follow_redirects=True)
    page = unescape(after.get_data(as_text=True))
    assert '<html lang="ru"' in page
    assert "Вы вышли из системы." in page and "Siz tizimdan chiqdingiz." not in page


def test_the_printers_form_words_each_field_the_api_may_refuse_in_the_page_language(client_as):
    from web.printing.schemas import PrinterIn

    page = client_as("admin").get("/admin/printers?lang=ru").get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="printers-config">(.*?)</script>', page)
    fields = json.loads(unescape(found.group(1)))["texts"]["fields"]
    refusable = set(PrinterIn().fields) - {"active"}
    assert refusable <= set(fields), refusable - set(fields)
    assert all(re.search("[А-Яа-яЁё]", fields[name]) for name in refusable)


def test_the_printers_page_draws_each_printer_in_the_page_language_before_its_script_runs(
    client,
):
    made = client.post(
        "/api/v1/printing/printers",
        json={"name": "Касса", "host": "127.0.0.1", "port": 9100, "paper_mm": 58},
    )
    assert made.status_code == 201, made.get_json()
    page = client.get("/admin/printers?lang=ru").get_data(as_text=True)
    row = re.search(r'<tr data-printer-id="\d+">(.*?)</tr>', page).group(1)
    assert "<td>58 мм</td>" in row and ">Готов<" in row and ">ready<" not in row
