"""Every refusal code the application can raise is said in Russian, Uzbek and English.

The codes are read from the sources, as a reviewer would find them: each ``code=`` given to a
domain error (clinic/errors.py and its subclasses), in clinic/ and web/, and the modules'
declared reasons (accounts, reports, visits). A code added anywhere without words in the
pages' catalogues fails here, instead of reaching a cashier as the API's English detail.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from html import unescape
from pathlib import Path

import pytest

from tests.conftest import ONE_BACKEND

ROOT = Path(__file__).resolve().parents[2]
ERRORS = {"DomainError", "NotFound", "ValidationFailed", "Conflict", "Forbidden"}
# A code handed on as it came (``code=code``, ``code=refused.code``): its values are the
# declared ones below (booking's refusal takes one of Conflicts.ALL; a transfer re-raises the
# target queue's refusal).
PASSED_ON = {"code", "refused.code"}
CYRILLIC = re.compile("[\u0400-\u04ff]")


def _trees():
    for folder in ("clinic", "web"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path, ast.parse(path.read_text(encoding="utf-8"))


def _error_classes(trees) -> set[str]:
    """clinic/errors.py's classes and every class deriving from one of them, by name."""
    classes = set(ERRORS)
    grown = True
    while grown:
        grown = False
        for _, tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in classes:
                    bases = {ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases}
                    if bases & classes:
                        classes.add(node.name)
                        grown = True
    return classes


def _constants(trees) -> dict[str, str]:
    """``NAME = "text"`` assignments (module and class level), by name."""
    found = {}
    for _, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                for target in node.targets:
                    if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                        found[target.id] = node.value.value
    return found


@functools.cache
def raised_codes() -> dict[str, str]:
    """Each code given to a domain error, with the first place giving it."""
    trees = list(_trees())
    classes = _error_classes(trees) | {"cls", "error"}
    constants = _constants(trees)
    codes, unread = {}, []
    for path, tree in trees:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            called = ast.unparse(node.func).rsplit(".", 1)[-1]
            for keyword in node.keywords:
                if keyword.arg != "code" or called not in classes:
                    continue
                value, where = keyword.value, f"{path.relative_to(ROOT)}:{node.lineno}"
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    codes.setdefault(value.value, where)
                elif isinstance(value, ast.Attribute) and value.attr in constants:
                    codes.setdefault(constants[value.attr], where)
                elif ast.unparse(value) not in PASSED_ON:
                    unread.append(f"{where}: {ast.unparse(value)}")
    # A code the scan cannot read is a code it cannot check: declare it as a constant.
    assert unread == []
    return codes


def declared_codes() -> set[str]:
    from clinic.accounts import refusals as accounts
    from clinic.reports import refusals as reports
    from clinic.visits.events import Conflicts

    return set(accounts.CODES) | set(reports.CODES) | set(Conflicts.ALL)


def test_the_scan_finds_the_codes_raised_across_the_modules():
    # The scan itself is checked: codes of each module, given as text and as constants.
    codes = raised_codes()
    for code in ("no_open_shift", "queue_closed", "own_figures_only", "doctor_away", "retried"):
        assert code in codes


def _words(app, language: str) -> dict[str, str]:
    """Every page's words by code, in ``language`` (one of them per code)."""
    from web.accounts.pages import refusal_texts as accounts
    from web.payments.pages import refusal_texts as payments
    from web.queue.pages import every_queue_refusal
    from web.refusals import common_refusals
    from web.reports.pages import refusal_texts as reports
    from web.visits.pages import refusal_texts as visits

    found: dict[str, str] = {}
    with app.test_request_context(f"/?lang={language}"):
        for words in (common_refusals, payments, every_queue_refusal, visits, reports, accounts):
            found.update(words())
    return found


PRICE_LIST_FILE = "clinic/reference/price_list_file.py"


def price_list_file_reasons() -> set[str]:
    """The codes the price list page words a refused file by, itself (its template's
    ``fileReasons``; their translations are checked in tests/reference/
    test_price_import_words.py)."""
    template = (ROOT / "web/templates/price_list.html").read_text(encoding="utf-8")
    block = re.search(r'"fileReasons": \{(.*?)\n  \}', template, re.S)
    assert block, "fileReasons"
    return set(re.findall(r'"(\w+)":', block.group(1)))


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_every_refusal_code_has_words_in_russian_uzbek_and_english(app):
    codes = {**raised_codes(), **{code: "declared" for code in declared_codes()}}
    # A price list file refused as a whole is said by the price list page, by its own words.
    of_the_file = {code for code, where in codes.items() if where.startswith(PRICE_LIST_FILE)}
    assert of_the_file - price_list_file_reasons() == set()
    codes = {code: where for code, where in codes.items() if code not in of_the_file}
    english, russian, uzbek = (_words(app, language) for language in ("en", "ru", "uz"))
    assert {code: where for code, where in codes.items() if not english.get(code)} == {}
    # Translated: not the English words again, Russian in Cyrillic, Uzbek in Latin letters.
    assert [code for code in codes if russian[code] == english[code]] == []
    assert [code for code in codes if not CYRILLIC.search(russian[code])] == []
    assert [code for code in codes if uzbek[code] == english[code]] == []
    assert [code for code in codes if CYRILLIC.search(uzbek[code])] == []


def _config(html: str, config_id: str) -> dict:
    found = re.search(rf'<script type="application/json" id="{config_id}">(.*?)</script>', html)
    assert found, config_id
    return json.loads(unescape(found.group(1)))


@pytest.mark.parametrize("backend", [ONE_BACKEND])
@pytest.mark.parametrize("language, letters", [("ru", CYRILLIC), ("uz", re.compile("[a-z]"))])
def test_the_cashier_reads_the_payment_refusals_in_the_page_language(client_as, language, letters):
    page = client_as("cashier").get(f"/payments/desk?lang={language}")
    refusals = _config(page.get_data(as_text=True), "cashier-config")["texts"]["refusals"]
    english = _config(
        client_as("cashier").get("/payments/desk?lang=en").get_data(as_text=True), "cashier-config"
    )["texts"]["refusals"]
    for code in ("no_provider", "ref_used", "not_your_shift"):
        assert letters.search(refusals[code]) and refusals[code] != english[code], code


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_the_desk_says_possible_duplicates_of_a_registered_patient_in_its_language(client_as):
    registrar = client_as("registrar")
    texts = {
        language: _config(
            registrar.get(f"/queue/desk?lang={language}").get_data(as_text=True), "desk-config"
        )["texts"]
        for language in ("en", "ru", "uz")
    }
    said = {language: found.get("possibleDuplicates") for language, found in texts.items()}
    assert said["en"] and CYRILLIC.search(said["ru"])
    assert said["uz"] not in (said["en"], None) and not CYRILLIC.search(said["uz"])
    # The desk's script shows the registration answer's possible duplicates with those words.
    script = (ROOT / "web/static/js/desk.js").read_text(encoding="utf-8")
    assert "answer.body.possible_duplicates" in script and "texts.possibleDuplicates" in script


def test_uzbek_writes_its_letter_sign_with_the_plain_apostrophe_throughout():
    """docs/translations.md: o', g' and so'm with the apostrophe every keyboard, font and
    receipt printer has; a look-alike (ʻ ʼ ‘ ’ `) in one text would print or match apart."""
    from babel.messages.pofile import read_po

    with open(ROOT / "web/translations/uz/LC_MESSAGES/messages.po", "rb") as f:
        catalogue = read_po(f)
    look_alikes = re.compile("[\u02bb\u02bc\u2018\u2019`]")
    strings = [
        (m.id, s)
        for m in catalogue
        if m.id
        for s in ([m.string] if isinstance(m.string, str) else m.string)
    ]
    assert [text for _, text in strings if look_alikes.search(text or "")] == []
    # The sign is there to check: o' and g' are written in the catalogue.
    assert any("o'" in (text or "") for _, text in strings)
    assert any("g'" in (text or "") for _, text in strings)


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_the_printers_page_says_a_taken_name_in_its_language(client_as):
    admin = client_as("admin")
    said = {
        language: _config(
            admin.get(f"/admin/printers?lang={language}").get_data(as_text=True),
            "printers-config",
        )["texts"]["refusals"]["name_taken"]
        for language in ("en", "ru", "uz")
    }
    assert CYRILLIC.search(said["ru"]) and said["uz"] != said["en"]
    assert not CYRILLIC.search(said["uz"])
