"""The price list page says each rejected row's reason in its own language: the import's
result gives every reason its code and the values it quotes, and the page has the words of
each code (and of each column's rule) in Russian and Uzbek."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest

from tests.reference.test_price_import import GOOD_AND_BAD, csv_bytes, run_import, xlsx_bytes

ROOT = Path(__file__).resolve().parents[2]
MODULES = (
    "clinic/reference/price_import.py",
    "clinic/reference/price_rows.py",
    "clinic/reference/price_list_file.py",
    "clinic/reference/csv_encoding.py",
)

BAD_ROWS = GOOD_AND_BAD + [
    ["S-8", "Гипс", "Gips", "Cast", "-5000", "0", "", ""],  # row 10: negative price
    ["S-9", "Шов", "Chok", "Stitch", "1000", "5.5", "", ""],  # row 11: not whole
    ["S-10", "Осмотр", "Ko'rik", "Check", "1000", "0", "1.23E+16", ""],  # row 12
    ["S-11", "Приём", "Qabul", "Visit", "1000", "0", "", "", "extra"],  # row 13: more values
    ["S 12", "Приём", "Qabul", "Visit", "", "0", "", ""],  # row 14: code, price empty
]


def page_texts(client, lang: str) -> dict:
    page = unescape(client.get(f"/services?lang={lang}").get_data(as_text=True))
    return json.loads(re.search(r'id="price-list-texts">(.*?)</script>', page, re.S).group(1))


def said(texts: dict, error: dict) -> str:
    """What web/static/js/price-list.js shows for a rejected row."""
    rules = texts["columnRules"]
    rule = rules.get(f"{error.get('sheet')}.{error['column']}") or rules.get(error["column"])
    if error.get("code") == "invalid" and rule:
        return rule
    words = texts["rowReasons"].get(error.get("code"))
    if not words:
        return error["reason"]
    return re.sub(r"\{(\w+)\}", lambda m: str(error["values"][m.group(1)]), words)


def test_each_rejected_row_is_said_in_the_pages_language(client, runtime):
    result = run_import(runtime, "prices.csv", csv_bytes(BAD_ROWS))
    by_row = {(e["row"], e["column"]): e for e in result["errors"]}
    assert {e["code"] for e in result["errors"]} >= {
        "not_a_price", "empty", "short_ikpu", "no_department", "repeats", "invalid",
        "negative_price", "not_whole", "scientific_code", "more_values",
    }  # fmt: skip
    assert by_row[(7, "department_code")]["values"] == {"code": "NOPE"}
    assert by_row[(8, "code")]["values"] == {"row": 2}

    ru, uz = page_texts(client, "ru"), page_texts(client, "uz")
    assert said(ru, by_row[(4, "price")]).startswith("Не цена: «a lot».")
    assert said(ru, by_row[(5, "name_ru")]) == "Не может быть пустым."
    assert said(ru, by_row[(6, "ikpu_code")]).startswith(
        "Код ИКПУ (MXIK) — ровно 17 цифр, а в этом 3."
    )
    assert said(ru, by_row[(7, "department_code")]) == "Нет отделения с кодом «NOPE»."
    assert said(uz, by_row[(8, "code")]).startswith("2-qatorni takrorlaydi")
    assert said(ru, by_row[(9, "vat_percent")]) == "НДС — от 0 до 100 процентов."
    assert said(ru, by_row[(14, "code")]) == "Код: до 32 символов, без пробелов."
    assert said(uz, by_row[(13, None)]) == "Qatordagi qiymatlar ustunlardan (8) ko'p."
    script = (ROOT / "web/static/js/price-list.js").read_text(encoding="utf-8")
    assert "var reason = reasonText(error);" in script
    assert "texts.rowReasons[error.code]" in script
    for error in result["errors"]:  # nothing left in English
        assert said(ru, error) != error["reason"], error
        assert said(uz, error) != error["reason"], error


def shown(texts: dict, result: dict, error: dict) -> str:
    """What web/static/js/price-list.js shows for a rejected row of ``result``: on which
    sheet, when the workbook had more than one."""
    if len(result.get("sheets", {})) > 1:
        return texts["onSheet"].format(sheet=error["sheet"], reason=said(texts, error))
    return said(texts, error)


def test_a_rejected_row_of_a_workbook_says_which_sheet_it_is_on(client, runtime):
    header = ["code", "name_ru", "name_uz", "name_en", "price", "department_code"]
    data = xlsx_bytes(
        {
            "doctors": [["full_name", "department_code"], ["Ali Valiyev", "NOPE"]],
            "services": [header, ["S-1", "Приём", "Qabul", "Visit", "1", "NOPE"]],
        }
    )
    result = run_import(runtime, "prices.xlsx", data)
    ru = page_texts(client, "ru")
    assert [(e["row"], shown(ru, result, e)) for e in result["errors"]] == [
        (2, "Лист «doctors»: Нет отделения с кодом «NOPE»."),
        (2, "Лист «services»: Нет отделения с кодом «NOPE»."),
    ]
    script = (ROOT / "web/static/js/price-list.js").read_text(encoding="utf-8")
    assert 'texts.columnRules[error.sheet + "." + error.column]' in script
    assert "var onSheets = Object.keys(result.sheets || {}).length > 1;" in script
    assert "fillIn(texts.onSheet, { sheet: error.sheet, reason: reason })" in script
    csv_only = run_import(
        runtime, "prices.csv", csv_bytes([header[:5], ["S 2", "a", "b", "c", "1"]])
    )
    assert shown(ru, csv_only, csv_only["errors"][0]) == said(ru, csv_only["errors"][0])


def test_a_department_or_doctor_the_domain_refuses_is_said_in_the_pages_language(client, runtime):
    """The rows of the departments and doctors sheets are refused by the rules a department
    or a doctor made on its page has: said by their column's rule on that sheet, and a
    prefix that reads as another department's without that department's id."""
    with runtime.db.transaction() as s:
        from clinic.reference import directory

        directory.create_department(
            s, {"code": "ter", "ticket_prefix": "T", "name_ru": "Т", "name_uz": "T",
                "name_en": "T"},
        )  # fmt: skip
    data = xlsx_bytes(
        {
            "departments": [
                ["code", "ticket_prefix", "name_ru", "name_uz", "name_en"],
                ["car dio", "K", "Кардиология", "Kardiologiya", "Cardiology"],
                ["lab", "ABCD", "Лаборатория", "Laboratoriya", "Laboratory"],
                ["uzi", "Т", "УЗИ", "UTT", "Ultrasound"],  # a Cyrillic Т: reads as T
                ["xray", "X", "Р" * 121, "Rentgen", "X-ray"],
            ],
            "doctors": [["full_name", "department_code"], ["Ф" * 161, "ter"]],
            "services": [["code", "name_ru", "name_uz", "name_en", "price"]],
        }
    )
    result = run_import(runtime, "prices.xlsx", data)
    ru, uz = page_texts(client, "ru"), page_texts(client, "uz")
    found = {(e["sheet"], e["row"], e["column"]): e for e in result["errors"]}
    assert said(ru, found[("departments", 2, "code")]) == "Код: до 16 символов, без пробелов."
    assert said(ru, found[("departments", 3, "ticket_prefix")]).startswith("Префикс талонов")
    taken = found[("departments", 4, "ticket_prefix")]
    assert taken["code"] == "looks_taken" and taken["values"] == {"value": "Т", "other": "T"}
    assert said(ru, taken) == "«Т» читается так же, как «T», которое уже занято: выберите другое."
    assert said(uz, found[("departments", 5, "name_ru")]) == "Nomi: 120 belgigacha."
    assert said(ru, found[("doctors", 2, "full_name")]) == "ФИО врача: до 160 символов."
    for error in result["errors"]:  # nothing left in English
        assert said(ru, error) != error["reason"], error
        assert said(uz, error) != error["reason"], error


@pytest.mark.parametrize("lang", ["ru", "uz"])
def test_every_reason_the_import_gives_has_the_pages_words(client, lang):
    codes = set()
    for module in MODULES:
        source = (ROOT / module).read_text(encoding="utf-8")
        codes |= set(re.findall(r'Reason\(\s*"(\w+)"', source))
    assert len(codes) >= 12
    texts = page_texts(client, lang)
    english = page_texts(client, "en")
    for code in codes - {"invalid"}:
        assert texts["rowReasons"].get(code), code
        assert texts["rowReasons"][code] != english["rowReasons"][code], code
        placeholders = set(re.findall(r"\{(\w+)\}", english["rowReasons"][code]))
        assert set(re.findall(r"\{(\w+)\}", texts["rowReasons"][code])) == placeholders, code
    for column, rule in texts["columnRules"].items():
        assert rule != english["columnRules"][column], column


def refused(runtime, filename: str, data: bytes) -> dict:
    """The failed job's ``error``, as the worker records it."""
    from clinic.reference.price_import import import_price_list
    from clinic.reference.price_list_file import PriceListRejected
    from tasks.base import _job_error
    from tasks.reference import RejectedFile
    from tests.reference.test_price_import import claim, new_job

    job_id = new_job(runtime, filename, data)
    claim(runtime, job_id)
    with pytest.raises(PriceListRejected) as caught:
        import_price_list(runtime.db.sessionmaker, job_id)
    exc = caught.value
    return _job_error(RejectedFile(exc.detail, exc.code, exc.values))


def described(texts: dict, error: dict) -> str:
    """What web/static/js/price-list.js says of a failed import."""
    words = texts["fileReasons"].get(error.get("code"))
    if not words:
        return error["detail"]
    values = error.get("values", {})
    reason = re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), words)
    if "sheet" not in values:
        return reason
    return texts["onSheet"].replace("{sheet}", values["sheet"]).replace("{reason}", reason)


def test_a_file_refused_as_a_whole_is_said_in_the_pages_language(client, runtime):
    from tests.reference.test_price_import import xlsx_bytes

    ru, uz = page_texts(client, "ru"), page_texts(client, "uz")
    missing = refused(runtime, "prices.csv", csv_bytes([["code", "price"], ["A", "1"]]))
    assert missing["code"] == "missing_columns"
    assert described(ru, missing) == "Нет обязательных столбцов: name_ru, name_uz, name_en."
    sheet = xlsx_bytes({"Прайс": [["Код", "Цена"], ["A", 1]]})
    unknown = described(ru, refused(runtime, "prices.xlsx", sheet))
    assert unknown.startswith(
        "Лист «Прайс»: Неизвестные столбцы: код, цена. Известные столбцы: code,"
    )
    unnamed = xlsx_bytes({"services": [["code", None, "price"]]})
    said_uz = described(uz, refused(runtime, "p.xlsx", unnamed))
    assert said_uz == "«services» varag'i: 2-ustunlarning nomi yo'q."
    repeated = csv_bytes([["code", "price", "price"]])
    assert described(uz, refused(runtime, "p.csv", repeated)) == "Takrorlangan ustunlar: price."
    # Blank rows above a header are passed over (as a title is): a file of blank rows has none.
    assert described(ru, refused(runtime, "p.csv", b"\n\n\n")).startswith("В первой строке")

    script = (ROOT / "web/static/js/price-list.js").read_text(encoding="utf-8")
    assert "texts.fileReasons[error.code]" in script
    english = page_texts(client, "en")["fileReasons"]
    for code, words in english.items():
        placeholders = set(re.findall(r"\{(\w+)\}", words))
        for texts in (ru, uz):
            assert texts["fileReasons"][code] != words, code
            assert set(re.findall(r"\{(\w+)\}", texts["fileReasons"][code])) == placeholders


def test_an_inactive_department_typed_in_other_letters_is_named_by_its_code(client, runtime):
    """A department code typed in small letters or with Cyrillic look-alikes ("card",
    "СARD") names the department on file; when that one is switched off, the row says so
    by its code, in the page's language, as for the code typed as it is, never by an id
    the file's author does not know."""
    from clinic.reference.directory import create_department, deactivate_department

    with runtime.db.transaction() as s:
        names = {"name_ru": "Кардиология", "name_uz": "Kardiologiya", "name_en": "Cardiology"}
        department = create_department(s, {"code": "CARD", "ticket_prefix": "K", **names})
        s.flush()
        deactivate_department(s, department.id)
    header = ["code", "name_ru", "name_uz", "name_en", "price", "department_code"]
    data = xlsx_bytes(
        {
            "doctors": [["full_name", "department_code"], ["Каримов Анвар", "card"]],
            "services": [
                header,
                ["S-1", "ЭКГ", "EKG", "ECG", 5000, "card"],
                ["S-2", "УЗИ", "UTT", "Ultrasound", 8000, "СARD"],  # a Cyrillic С
            ],
        }
    )
    result = run_import(runtime, "prices.xlsx", data)
    ru = page_texts(client, "ru")
    assert [(e["sheet"], e["row"], e.get("code"), e.get("values")) for e in result["errors"]] == [
        ("doctors", 2, "inactive_department", {"code": "CARD"}),
        ("services", 2, "inactive_department", {"code": "CARD"}),
        ("services", 3, "inactive_department", {"code": "CARD"}),
    ]
    assert {e["reason"] for e in result["errors"]} == {"The department 'CARD' is inactive."}
    assert {said(ru, e) for e in result["errors"]} == {"Отделение «CARD» отключено."}


def test_a_doctors_room_that_is_switched_off_is_named_by_its_number(client, runtime):
    """A doctor's row naming a room closed (for repairs) says which room by the number the
    file gives, in the page's language, not by the room's id."""
    from clinic.reference.directory import create_department, create_room, deactivate_room

    with runtime.db.transaction() as s:
        names = {"name_ru": "Кардиология", "name_uz": "Kardiologiya", "name_en": "Cardiology"}
        department = create_department(s, {"code": "CARD", "ticket_prefix": "K", **names})
        s.flush()
        room = create_room(s, {"number": "101", "department_id": department.id})
        s.flush()
        deactivate_room(s, room.id)
    data = xlsx_bytes(
        {
            "doctors": [
                ["full_name", "department_code", "room_number"],
                ["Каримов Анвар", "CARD", "101"],
            ],
            "services": [["code", "name_ru", "name_uz", "name_en", "price"]],
        }
    )
    result = run_import(runtime, "prices.xlsx", data)
    [error] = result["errors"]
    assert (error["row"], error["column"], error["reason"]) == (
        2,
        "room_number",
        "The room '101' is inactive.",
    )
    assert (error["code"], error["values"]) == ("inactive_room", {"number": "101"})
    assert said(page_texts(client, "ru"), error) == "Кабинет «101» отключён."
    assert said(page_texts(client, "uz"), error) == "«101» xonasi o'chirilgan."


def test_a_cell_of_two_lines_is_said_to_be_two_lines_not_too_long(client, runtime):
    """A name wrapped in its cell (Alt+Enter in Excel), or holding a tab or an invisible
    character, is refused for that, in the page's language: not as if it were too long."""
    header = ["code", "name_ru", "name_uz", "name_en", "price"]
    data = xlsx_bytes(
        {
            "services": [
                header,
                ["S-1", "Приём\nтерапевта", "Qabul", "Visit", 1000],
                ["S-2", "Приём", "Terapevt\tqabuli", "Visit", 1000],
                ["S-3", "Приём", "Qabul", "Visit\u200b", 1000],
            ],
            "departments": [
                ["code", "ticket_prefix", "name_ru", "name_uz", "name_en"],
                ["CARD", "K", "Кардиология", "Kardiologiya", "Cardiology"],
                ["LAB", "L", "Лаборатория", "Laboratoriya", "Labo\nratory"],
            ],
        }
    )
    result = run_import(runtime, "prices.xlsx", data)
    assert [(e["sheet"], e["row"], e["column"], e["code"]) for e in result["errors"]] == [
        ("departments", 3, "name_en", "one_line"),
        ("services", 2, "name_ru", "one_line"),
        ("services", 3, "name_uz", "one_line"),
        ("services", 4, "name_en", "one_line"),
    ]
    # A vertical tab, which some programs write for a line break within a cell.
    wrapped = csv_bytes([header, ["S-4", "Приём", "Qabul", "Visit\x0bagain", "1000"]])
    [vertical_tab] = run_import(runtime, "prices.csv", wrapped)["errors"]
    assert (vertical_tab["column"], vertical_tab["code"]) == ("name_en", "one_line")
    ru, uz = page_texts(client, "ru"), page_texts(client, "uz")
    assert said(ru, result["errors"][0]) == (
        "Значение должно быть одной строкой, без переносов, табуляций и невидимых символов."
    )
    assert said(uz, result["errors"][0]) == (
        "Qiymat bir qatordan iborat bo'lishi kerak: qator ko'chirishi, tabulyatsiya va "
        "ko'rinmas belgilarsiz."
    )


def test_a_workbook_too_large_or_too_wide_is_said_in_the_pages_language(
    client, runtime, monkeypatch
):
    """The two refusals a workbook gets before its rows are read (its parts unpack past the
    limit; a sheet declares more columns or rows than a price list has) have codes and the
    page's words, as every other refusal of a whole file."""
    import zipfile
    from io import BytesIO

    from clinic.reference import price_list_file
    from tests.reference.test_price_import import xlsx_bytes

    ru, uz = page_texts(client, "ru"), page_texts(client, "uz")
    wide = xlsx_bytes({"services": [["code", "price"], ["A", 1] + [None] * 99 + ["x"]]})
    too_wide = refused(runtime, "p.xlsx", wide)
    assert too_wide["code"] == "too_many_declared"
    assert too_wide["values"]["columns"] == 102
    assert described(ru, too_wide).startswith(
        "Лист «services»: В нём объявлено строк: 2, столбцов: 102; допустимо не больше"
    )
    assert described(uz, too_wide).startswith("«services» varag'i: Unda 2 qator va 102 ustun")

    small = xlsx_bytes({"services": [["code", "price"], ["A", 1]]})
    with zipfile.ZipFile(BytesIO(small)) as archive:
        biggest = max(part.file_size for part in archive.infolist())
    monkeypatch.setattr(price_list_file, "MAX_PART_BYTES", biggest - 1)
    too_large = refused(runtime, "p.xlsx", small)
    assert too_large["code"] == "too_large_unpacked"
    assert described(ru, too_large).startswith("Книга слишком велика в распакованном виде: 0 МиБ")
    assert described(uz, too_large).startswith("Ochilgandagi kitob juda katta: 0 MiB")


def test_every_refusal_of_a_whole_file_has_a_code():
    """A refusal without a code is said in English on every page: each one the file reader
    raises names its code (their words are checked above and in tests/web/
    test_refusal_words.py)."""
    source = (ROOT / "clinic/reference/price_list_file.py").read_text(encoding="utf-8")
    raised = []
    for found in re.finditer(r"raise PriceListRejected\(", source):
        depth, end = 1, found.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(source[end], 0)
            end += 1
        raised.append(source[found.end() : end - 1])
    assert len(raised) >= 7
    # The file's kind refused by the upload's own rule keeps that rule's field and words.
    assert [text for text in raised if "code=" not in text] == [
        'exc.errors["file"][0], errors=exc.errors'
    ]


def test_every_way_an_import_job_fails_is_said_in_the_pages_language(client):
    """An import stopped at the job's time limit, or given up after too many attempts, fails
    with a code the worker writes (tasks/base.py), and the page has its words."""
    from tests.reports.test_report_page_script import _failure_codes

    codes = {code for code in _failure_codes() if re.fullmatch(r"[a-z_]+", code)}
    assert {"time_limit", "too_many_attempts"} <= codes
    english = page_texts(client, "en")["fileReasons"]
    for language in ("ru", "uz"):
        words = page_texts(client, language)["fileReasons"]
        assert {
            code: words.get(code) for code in codes if words.get(code) == english.get(code)
        } == {}
