"""What the thermal printer's paper says of texts its code page does not hold as typed: signs
as the nearest letters the page has, stress marks left out, never a "?"; a double surname
longer than a line broken after its hyphen, not inside a word; and on a printer without
Cyrillic, a label whose Russian and Uzbek read the same in Latin letters said once, and so a
ticket's department (its PDF names it in both)."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from clinic.printing import thermal
from clinic.printing.models import PrintJob
from clinic.printing.thermal_text import said_once, wrap
from tests.conftest import ONE_BACKEND
from tests.payments.fixtures import make_queue
from tests.printing.conftest import collect, drain, pay_at_the_desk_and_print
from tests.printing.test_delivery_and_layout import _printed_lines, _receipt

SIGNS = "® © ± ≥ ≤ ‒ ― ‚ ½ ¾ ⅓ € → ← × °"


def _paper(client, client_as, runtime, fake_printer, *, service, patient, **printer) -> list:
    """The lines of the receipt a cashier's printer prints for ``patient``'s visit to
    ``service`` (its Russian name), paid by card."""
    cashier = client_as("cashier", "kassir1")
    body = {"name": "Касса", "host": "127.0.0.1", "port": fake_printer.port,
            "targets": ["cashier:kassir1"], **printer}  # fmt: skip
    made = client.post("/api/v1/printing/printers", json=body)
    assert made.status_code == 201, made.get_json()
    offered = client.post(
        "/api/v1/services",
        json={"code": "botox", "name_ru": service, "name_uz": "Botoks", "name_en": "Botox",
              "price": 10_000_000},
    )  # fmt: skip
    assert offered.status_code == 201, offered.get_json()
    registered = client.post("/api/v1/patients", json={"full_name": patient, "sex": "F"})
    assert registered.status_code == 201, registered.get_json()
    invoice = client.post(
        "/api/v1/payments/invoices",
        json={"patient_id": registered.get_json()["id"],
              "lines": [{"service_id": offered.get_json()["id"]}]},
    )  # fmt: skip
    assert invoice.status_code == 201, invoice.get_json()
    invoice_id = invoice.get_json()["id"]
    pay_at_the_desk_and_print(runtime, cashier, invoice_id, made.get_json()["id"])
    [payload] = fake_printer.jobs()
    return _printed_lines(payload, (printer.get("code_page") or "CP866").lower())


@pytest.mark.parametrize("backend", [ONE_BACKEND])
@pytest.mark.parametrize(
    "code_page, service",
    [
        ("CP866", "Ботокс(R) 50 ЕД +/- 5 (пациенты >= 18 лет) 1/2 дозы - 1-2 зоны"),
        ("CP1251", "Ботокс® 50 ЕД ± 5 (пациенты >= 18 лет) 1/2 дозы - 1-2 зоны"),
    ],
)
def test_a_service_with_signs_and_a_name_with_stress_marks_print_without_a_question_mark(
    client, client_as, runtime, fake_printer, code_page, service
):
    lines = _paper(
        client, client_as, runtime, fake_printer, code_page=code_page,
        service="Ботокс® 50 ЕД ± 5 (пациенты ≥ 18 лет) ½ дозы — 1‒2 зоны",
        patient="Анва\u0301р Оте\u0301генов",
    )  # fmt: skip
    assert not [line for line in lines if "?" in line]
    assert service in " ".join(line.strip() for line in lines)
    assert any(line.endswith(" Анвар Отегенов") for line in lines), lines


@pytest.mark.parametrize(
    "code_page, printed",
    [
        ("CP866", "(R) (C) +/- >= <= - - ' 1/2 3/4 1/3 EUR -> <- x °"),
        ("CP1251", "® © ± >= <= - - ' 1/2 3/4 1/3 € -> <- x °"),
        ("CP437", "(R) (C) ± ≥ ≤ - - ' ½ 3/4 1/3 EUR -> <- x °"),
    ],
)
def test_a_sign_the_code_page_lacks_prints_as_its_nearest_letters_and_one_it_has_as_itself(
    code_page, printed
):
    assert thermal.printable(SIGNS, code_page) == printed
    printed.encode(code_page)  # every sign on paper, none a "?"


@pytest.mark.parametrize(
    "code_page, printed",
    [
        ("CP866", "Анвар Отегенов, Ёдгор Ойбек"),
        ("CP1251", "Анвар Отегенов, Ёдгор Ойбек"),
        ("CP437", "Anvar Otegenov, Yodgor Oybek"),
    ],
)
def test_a_stress_mark_is_left_out_and_a_letter_typed_with_its_accent_prints_whole(
    code_page, printed
):
    # Stress marks (U+0301) over Cyrillic letters that have no accented form, and "Ё", "й"
    # typed as a letter and its accent (U+0308, U+0306) as a Mac types them.
    typed = "Анва\u0301р Оте\u0301генов, Е\u0308дгор Ои\u0306бек"
    assert thermal.printable(typed, code_page) == printed


@pytest.mark.parametrize(
    "code_page, printed",
    [
        ("CP866", "Терапия Кардиология 1 1/2 дозы"),
        ("CP1251", "Терапия Кардиология 1 1/2 дозы"),
        ("CP437", "Terapiya Kardiologiya 1½ dozi"),
    ],
)
def test_what_no_code_page_prints_is_left_out_keeping_words_apart(code_page, printed):
    typed = "Терапия✚Кардиология 🙂 1½ дозы 王伟"
    assert thermal.printable(typed, code_page) == printed


@pytest.mark.parametrize(
    "text, columns, lines",
    [
        pytest.param(
            "Абдурахмонова-Ибрагимова-Хамракулова Муниса", 32,
            ["Абдурахмонова-Ибрагимова-", "Хамракулова Муниса"], id="double-surname",
        ),
        pytest.param(
            "ИБРАГИМОВА-ХАМРАКУЛОВА-АБДУРАХМОНОВА", 16,
            ["ИБРАГИМОВА-", "ХАМРАКУЛОВА-", "АБДУРАХМОНОВА"], id="each-part-a-line",
        ),
        # A word that fits a line moves to the next whole, hyphen and all.
        pytest.param(
            "Следите за очередью по QR-коду", 25,
            ["Следите за очередью по", "QR-коду"], id="fits-whole",
        ),
        pytest.param(
            "Бунёдкор шоҳкўчаси, 7-уй", 22, ["Бунёдкор шоҳкўчаси,", "7-уй"], id="house",
        ),
        pytest.param(
            "Чек возврата № 26-0000001-R1", 20, ["Чек возврата", "№ 26-0000001-R1"],
            id="number",
        ),
        # No hyphen to break at: cut, as nothing else keeps it on the paper.
        pytest.param("Абдурахмонова", 8, ["Абдурахм", "онова"], id="cut"),
    ],
)  # fmt: skip
def test_a_word_longer_than_a_line_breaks_after_a_hyphen_and_numbers_stay_whole(
    text, columns, lines
):
    assert wrap(text, columns) == lines


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_a_hyphenated_name_longer_than_a_58_mm_line_is_not_cut_inside_a_word(
    client, client_as, runtime, fake_printer
):
    lines = _paper(
        client, client_as, runtime, fake_printer, paper_mm=58, service="Консультация",
        patient="Абдурахмонова-Ибрагимова-Хамракулова Муниса",
    )  # fmt: skip
    assert "Абдурахмонова-Ибрагимова-".rjust(32) in lines, lines
    assert "Хамракулова Муниса".rjust(32) in lines, lines


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_a_latin_only_printer_says_a_label_that_reads_the_same_in_both_languages_once(
    client, client_as, runtime, fake_printer
):
    lines = _paper(
        client, client_as, runtime, fake_printer, code_page="CP437",
        service="Консультация / Konsultatsiya", patient="Каримова Нодира",
    )  # fmt: skip
    starts = [line.split("  ")[0] for line in lines]
    assert any(line.startswith("Chek No ") for line in lines), lines
    assert "Karta" in starts and "Kassir" in starts and "Chek / Chek" not in "".join(lines)
    # A text the clinic typed is printed as typed, " / " and all.
    assert "Konsultatsiya / Konsultatsiya" in lines
    assert "Data / Sana" in starts  # a label that differs is said in both languages


def test_a_fiscal_receipts_terminal_label_is_said_once_on_a_latin_only_printer():
    lines = _printed_lines(thermal.render(_receipt(), code_page="CP437"), "cp437")
    assert "Terminal / FM" in [line.split("  ")[0] for line in lines]
    assert "Chek No 2026-000123" in lines


RU_UZ, RU_UZ_EN = ("ru", "uz"), ("ru", "uz", "en")


@pytest.mark.parametrize(
    "text, code_page, languages, printed",
    [
        ("Талон / Talon", "CP437", RU_UZ, "Talon"),
        ("Терминал / ФМ / Terminal / FM", "CP437", RU_UZ, "Terminal / FM"),
        ("Чек / Chek № 26-0000001", "CP437", RU_UZ, "Chek No 26-0000001"),
        ("Кассир / Kassir / Cashier", "CP437", RU_UZ_EN, "Kassir / Cashier"),
        ("Карта / Karta / Card", "CP437", RU_UZ_EN, "Karta / Card"),
        ("Карта / Karta", "CP866", RU_UZ, "Карта / Karta"),
        # Not a label of these languages: printed whole.
        ("Карта / Karta / Card", "CP437", RU_UZ, "Karta / Karta / Card"),
        ("Кассирова / Kassirova", "CP437", RU_UZ, "Kassirova / Kassirova"),
        ("Карта / Karta", "CP437", ("ru",), "Karta / Karta"),
    ],
)
def test_only_a_label_as_the_printers_languages_say_it_is_said_once(
    text, code_page, languages, printed
):
    assert said_once(text, code_page, languages) == printed


def _queue(runtime) -> int:
    """A queue of the department Терапия (Terapiya in Uzbek)."""
    with runtime.db.transaction() as s:
        return make_queue(s)


def _printer(client, fake_printer, queue_id: int, code_page: str) -> dict:
    """The queue's printer, set to ``code_page``, in Russian and Uzbek."""
    body = {"name": "Регистратура", "host": "127.0.0.1", "port": fake_printer.port,
            "targets": [f"queue:{queue_id}"], "code_page": code_page,
            "languages": "ru+uz"}  # fmt: skip
    made = client.post("/api/v1/printing/printers", json=body)
    assert made.status_code == 201, made.get_json()
    return made.get_json()


def _ticket_job(client, runtime, queue_id: int) -> dict:
    issued = client.post(f"/api/v1/queues/{queue_id}/tickets", json={"source": "desk"})
    assert issued.status_code == 201, issued.get_json()
    assert collect(runtime) == 1
    [made] = client.get(f"/api/v1/printing/jobs?scope=queue.{queue_id}").get_json()
    return made


def _department_line(payload: bytes, code_page: str, label: str) -> str:
    lines = _printed_lines(payload, code_page.lower())
    [line] = [line for line in lines if line.startswith(label)]
    return line


def _pdf_text(body: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


@pytest.mark.parametrize("backend", [ONE_BACKEND])
@pytest.mark.parametrize(
    "code_page, label, department",
    [
        ("CP437", "Otdelenie / Bo'lim", "Terapiya"),
        ("CP866", "Отделение / Bo'lim", "Терапия / Terapiya"),
    ],
)
def test_a_latin_only_printer_says_a_tickets_department_that_reads_the_same_in_both_once(
    client, runtime, fake_printer, code_page, label, department
):
    queue_id = _queue(runtime)
    printer = _printer(client, fake_printer, queue_id, code_page)
    _ticket_job(client, runtime, queue_id)
    drain(runtime, printer["id"])
    [payload] = fake_printer.jobs()
    line = _department_line(payload, code_page, label)
    assert line == label.ljust(48 - len(department) - 1) + " " + department


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_a_tickets_pdf_names_its_department_in_both_languages(client, runtime):
    queue_id = _queue(runtime)
    made = _ticket_job(client, runtime, queue_id)  # no printer: a PDF
    for page in ("roll", "A4"):
        pdf = client.get(f"/api/v1/printing/jobs/{made['id']}/pdf?page={page}")
        assert pdf.status_code == 200
        assert "Терапия / Terapiya" in _pdf_text(pdf.data), page


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_a_ticket_stored_with_its_department_as_one_text_still_prints_and_makes_its_pdf(
    client, runtime, fake_printer
):
    """A ticket's job stored when a department was one text ("Терапия / Terapiya"), not a
    name by language: its PDF and its reprint on paper say it as it is."""
    queue_id = _queue(runtime)
    made = _ticket_job(client, runtime, queue_id)
    with runtime.db.transaction() as s:
        stored = s.get(PrintJob, made["id"])
        blocks = [
            {**block, "right": " / ".join(block["right"])} if isinstance(block.get("right"), list)
            else block for block in stored.document["blocks"]
        ]  # fmt: skip
        assert blocks != stored.document["blocks"]
        stored.document = {**stored.document, "blocks": blocks}
    pdf = client.get(f"/api/v1/printing/jobs/{made['id']}/pdf?page=roll")
    assert pdf.status_code == 200 and "Терапия / Terapiya" in _pdf_text(pdf.data)
    # Reprinted on the printer the queue has since: made anew from the stored document.
    printer = _printer(client, fake_printer, queue_id, "CP866")
    again = client.post(f"/api/v1/printing/jobs/{made['id']}/reprint")
    assert again.status_code == 202, again.get_json()
    drain(runtime, printer["id"])
    [payload] = fake_printer.jobs()
    assert _department_line(payload, "CP866", "Отделение").endswith(" Терапия / Terapiya")
