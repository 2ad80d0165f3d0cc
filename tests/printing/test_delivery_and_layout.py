"""What reaches the paper when a printer misbehaves (hangs after taking the connection, drops
it mid-job, has an address the worker cannot use), and how documents fit the paper: long
texts wrapped at words within 32 or 48 characters, labels never cut, Cyrillic on a printer
without a Cyrillic code page, and PDF rolls that hold everything they print."""

from __future__ import annotations

import io
import re
import time
from types import SimpleNamespace

import pytest
from pypdf import PdfReader
from sqlalchemy import update

from clinic.printing import documents, intake, pdfs, thermal
from clinic.printing.models import JobState, Printer
from clinic.printing.templates import COPY_MARK
from clinic.settings import ConfigError, Settings
from tests.printing.conftest import drain, job, quick
from tests.printing.printer_server import FakePrinter
from tests.races import wait_for

# The style commands the renderer writes between texts (QR codes are left out of these
# documents: their data is length-prefixed).
COMMANDS = re.compile(rb"\x1b@|\x1b[!Et\-M{ad].|\x1d[!bBV].", re.S)
LONG_SERVICE = (
    "Ультразвуковое исследование органов брюшной полости (печень, желчный пузырь, "
    "поджелудочная железа, селезёнка) с допплерографией сосудов"
)
CLINIC = {
    "legal_name": "ООО «Шифо Клиник»",
    "address": "Тошкент ш., Чилонзор тумани, Бунёдкор шоҳкўчаси, 7-уй",
    "taxpayer_number": "305123456",
}


def _receipt(patient: str = "Каримов Алишер", lines: int = 1) -> dict:
    line = {
        "title": LONG_SERVICE,
        "quantity": 2,
        "unit_price": 12_345_678,
        "amount": 24_691_356,
        "ikpu_code": "10399001001000000",
        "package_code": "1501234",
        "vat_percent": 12,
        "vat": 2_645_502,
    }
    data = {
        "clinic": CLINIC,
        "number": "2026-000123",
        "paid_at": "02.12.2026 00:05",
        "patient": patient,
        "doctor": "Юсупова Нодира",
        "visit": 5,
        "lines": [line] * lines,
        "discount": 0,
        "total": 24_691_356 * lines,
        "paid_amount": 24_691_356 * lines,
        "payments": [{"method": "payme", "amount": 24_691_356 * lines}],
        "fiscal": {
            "terminal_id": "EP000000000123",
            "receipt_id": "R-77120",
            "fiscal_sign": "581230498712",
        },
        "cashier": "kassir1",
    }
    return documents.receipt(data, ("ru", "uz"))


def _printed_lines(payload: bytes, code_page: str = "cp866") -> list[str]:
    return COMMANDS.sub(b"", payload).decode(code_page).split("\n")


def _printer(client, fake, **extra) -> dict:
    body = {"name": "Регистратура", "host": "127.0.0.1", "port": fake.port, **extra}
    response = client.post("/api/v1/printing/printers", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("mode", ["hang", "cut"])
def test_a_printer_that_takes_the_connection_and_hangs_or_drops_it_keeps_the_job(
    client, runtime, fake_printer, mode
):
    printer = _printer(client, fake_printer)
    fake_printer.mode = mode
    made = client.post(f"/api/v1/printing/printers/{printer['id']}/test").get_json()
    original = job(runtime, made["id"]).payload

    # A jammed printer never answers, however long it is given: a second is as good as the
    # three seconds a working printer on a busy machine may need (quick).
    jammed = quick(runtime.settings, print_timeout=1) if mode == "hang" else None
    result = drain(runtime, printer["id"], jammed)
    waiting = job(runtime, made["id"])
    assert result["retry_in"] is not None and waiting.state == JobState.QUEUED, result
    assert waiting.attempts == 1 and "after connecting" in waiting.last_error
    # Some of it may be on paper already: what is sent next is marked as a copy.
    assert waiting.copy and waiting.payload.endswith(original)
    assert COPY_MARK.encode("cp866") in waiting.payload[: -len(original)]

    fake_printer.mode = "print"

    def printed():
        drain(runtime, printer["id"])
        return job(runtime, made["id"]).state == JobState.PRINTED

    time.sleep(result["retry_in"])  # the worker comes back then, not every 20 ms before
    wait_for(printed, what="the job to print")
    resent = job(runtime, made["id"])
    assert fake_printer.jobs() == [resent.payload] and resent.payload == waiting.payload
    assert resent.payload.count(COPY_MARK.encode("cp866")) == 1


def test_a_printer_that_refuses_the_connection_gets_the_same_bytes_unmarked(
    client, runtime, fake_printer
):
    printer = _printer(client, fake_printer)
    fake_printer.down()
    made = client.post(f"/api/v1/printing/printers/{printer['id']}/test").get_json()
    original = job(runtime, made["id"]).payload
    retry_in = drain(runtime, printer["id"])["retry_in"]
    assert retry_in is not None
    fake_printer.up()

    def printed():
        drain(runtime, printer["id"])
        return job(runtime, made["id"]).state == JobState.PRINTED

    time.sleep(retry_in)  # the worker comes back then, not every 20 ms before
    wait_for(printed, what="the job to print")
    resent = job(runtime, made["id"])
    assert not resent.copy and fake_printer.jobs() == [original]


def test_a_printer_address_the_worker_cannot_use_is_refused_and_never_wedges_a_job(
    client, runtime, fake_printer
):
    for host in ("192.168.1.50:9100", "http://192.168.1.50", "..", "a" * 70 + ".lan", "pr in"):
        bad = client.post("/api/v1/printing/printers", json={"name": "X", "host": host})
        assert bad.status_code == 422 and "host" in bad.get_json()["errors"], host
    for host in ("192.168.1.50", "printer-1.clinic.lan", "fe80::1"):
        good = client.post("/api/v1/printing/printers", json={"name": host, "host": host})
        assert good.status_code == 201, (host, good.get_json())

    # An address that got into the registry anyhow: the job waits, the printer says why.
    printer = _printer(client, fake_printer)
    made = client.post(f"/api/v1/printing/printers/{printer['id']}/test").get_json()
    with runtime.db.transaction() as s:
        s.execute(update(Printer).where(Printer.id == printer["id"]).values(host=".."))
    assert drain(runtime, printer["id"])["retry_in"] is not None
    waiting = job(runtime, made["id"])
    assert waiting.state == JobState.QUEUED and "not a host name" in waiting.last_error


@pytest.mark.parametrize("paper_mm", [58, 80])
def test_long_texts_wrap_at_words_within_the_paper_and_no_label_is_cut(paper_mm):
    columns = thermal.COLUMNS[paper_mm]
    document = _receipt(patient="Абдурахмонова Гулчеҳра Шавкатовна-Ибрагимова Мадинахон")
    lines = _printed_lines(thermal.render(document, paper_mm=paper_mm))
    assert [line for line in lines if len(line) > columns] == []
    words = " ".join(lines).split()
    for text in (LONG_SERVICE, "Фискальный признак / Fiskal belgi", "Код упаковки / Qadoq kodi"):
        for word in text.split():
            assert word in words, (text, word)
    assert "10399001001000000" in words and "581230498712" in words
    # Words are kept whole: the service name is in its lines in its own order.
    title = [line.strip() for line in lines if line.strip()]
    start = next(i for i, line in enumerate(title) if line.startswith("Ультразвуковое"))
    assert " ".join(title[start:]).startswith(LONG_SERVICE)


def test_an_80_mm_printer_whose_profile_holds_42_characters_a_line_gets_lines_of_42():
    # An Epson TM-T88V's head prints 42 letters across 80 mm paper: a line of 48 would run
    # over and break where the printer runs out of room, the amounts off the right edge.
    lines = _printed_lines(thermal.render(_receipt(), profile="TM-T88V", paper_mm=80))
    assert [line for line in lines if len(line) > 42] == []
    assert "Итого / Jami" + " " * 16 + "246 913,56 сум" in lines  # right-aligned at 42
    # A printer of the default profile keeps the paper's 48.
    assert max(len(line) for line in _printed_lines(thermal.render(_receipt()))) == 48


def test_tabs_line_ends_and_escapes_typed_into_a_text_reach_the_paper_as_text():
    # A refund's reason as the cashier typed or pasted it: a tab would jump to the printer's
    # tab stop, a carriage return is no line end to it, and ESC p would kick the cash drawer.
    document = documents.refund(
        {"clinic": CLINIC, "number": "26-0000001-R1", "created_at": "02.12.2026 10:00",
         "amount": 5_000_000, "method": "cash", "actor": "Каримова Дилноза",
         "reason": "Пациент\tушёл\x1bp\x00\x19\r\nдо приёма"},
        ("ru", "uz"),
    )  # fmt: skip
    payload = thermal.render(document, paper_mm=58)
    assert b"\x1bp" not in payload and b"\t" not in payload and b"\r" not in payload
    lines = _printed_lines(payload)
    at = lines.index("Причина / Sabab")
    assert [line.strip() for line in lines[at + 1 : at + 3]] == ["Пациент ушёл p", "до приёма"]
    assert all(len(line) == 32 for line in lines[at + 1 : at + 3])  # on the right


def test_a_printer_without_the_qr_command_gets_the_tickets_qr_code_as_a_picture():
    ticket = documents.ticket(
        {"clinic": CLINIC, "code": "A-001", "department": ["Терапия", "Terapiya"], "room": "12",
         "issued_at": "02.12.2026 09:00", "ahead": 3, "url": "https://clinic.uz/t/" + "x" * 43},
        ("ru", "uz"),
    )  # fmt: skip
    # The common 58 mm printers (python-escpos's POS-5890 profile) have no GS ( k: it would
    # print no code at all. They print raster pictures (GS v 0), as wide as their head.
    cheap = thermal.render(ticket, profile="POS-5890", paper_mm=58)
    assert b"\x1d(k" not in cheap and cheap.count(b"\x1dv0") == 1
    width = int.from_bytes(cheap.split(b"\x1dv0", 1)[1][1:3], "little")  # bytes of 8 dots
    assert 8 * width <= 384
    assert b"\x1d(k" in thermal.render(ticket, paper_mm=58)  # the printer draws it itself
    # More than a QR code holds: the rest of the document is made all the same.
    blocks = [documents.qr("x" * 4000), documents.text("Спасибо!")]
    too_long = documents.document("test", "QR", blocks, ["ru"])
    assert thermal.render(too_long, profile="POS-5890", paper_mm=58).endswith(b"\x1bd\x06")


@pytest.mark.parametrize(
    "paper_mm, heading",
    [
        (58, ["Пробная печать /", "Sinov chop etish"]),
        (80, ["Пробная печать / Sinov", "chop etish"]),
    ],
)
def test_double_size_letters_are_wrapped_at_words_to_half_the_line(paper_mm, heading):
    # A letter twice as wide: 16 of them on 58 mm paper, 24 on 80 mm; the printer itself
    # would break the heading in the middle of a word.
    document = documents.test_page("Касса 1", "02.12.2026 00:05", ("ru", "uz"))
    lines = _printed_lines(thermal.render(document, paper_mm=paper_mm))
    assert lines[:2] == heading


def test_a_printer_without_a_cyrillic_code_page_prints_cyrillic_in_latin_letters():
    document = documents.test_page("Касса 1", "02.12.2026 00:05", ("ru", "uz"))
    payload = thermal.render(document, code_page="CP437")
    assert payload.startswith(b"\x1b@\x1bt\x00")  # ESC t 0: CP437
    text = "\n".join(_printed_lines(payload, "cp437"))
    assert "?" not in text
    assert "Probnaya pechat / Sinov\nchop etish" in text and "Kassa 1" in text
    assert "O'zbekiston" in text
    copy = thermal.with_copy_mark(payload, code_page="CP437")
    assert b"KOPIYA / COPY" in copy and b"?" not in copy[: -len(payload)]
    # A word in capitals stays in capitals, digraphs included; a capitalised one stays so.
    assert thermal.printable("ЧЕК № 7, ЩИ, Я, Яхё Шукуров", "CP437") == (
        "CHEK No 7, SHI, Ya, Yaxyo Shukurov"
    )
    # Uzbek Cyrillic letters a Cyrillic code page lacks print as their nearest letters.
    cyrillic = thermal.render(documents.document("t", "t", [documents.text("Ҳақ ғоя")], ["ru"]))
    assert "Хак гоя".encode("cp866") in cyrillic and b"?" not in cyrillic


def _off_the_page(pdf: bytes) -> list[str]:
    outside = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)

        def seen(text, cm, tm, _font, _size, width=width, height=height):
            x, y = cm[0] * tm[4] + cm[2] * tm[5] + cm[4], cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
            if text.strip() and not (0 <= x < width and 0 <= y <= height):
                outside.append(text)

        page.extract_text(visitor_text=seen)
    return outside


@pytest.mark.parametrize("paper_mm", [58, 80])
def test_a_pdf_roll_holds_a_long_receipt_to_its_last_line(paper_mm):
    document = _receipt(patient="Абдурахмонова Гулчеҳра Шавкатовна " * 6, lines=3)
    for page in ("roll", "A5", "A4"):
        pdf = pdfs.render(document, page, paper_mm=paper_mm, copy=True)
        assert _off_the_page(pdf) == [], page
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
        for value in ("581230498712", "10399001001000000", "kassir1", "Rahmat!", "КОПИЯ"):
            assert value in text, (page, value)
    roll = PdfReader(io.BytesIO(pdfs.render(document, "roll", paper_mm=paper_mm))).pages
    assert len(roll) == 1


def test_the_registry_takes_only_a_profile_and_code_page_that_can_print(client):
    unknown = client.post(
        "/api/v1/printing/printers", json={"name": "X", "host": "10.0.0.5", "profile": "nope"}
    )
    assert unknown.status_code == 422 and set(unknown.get_json()["errors"]) == {"profile"}
    lacking = client.post(
        "/api/v1/printing/printers",
        json={"name": "X", "host": "10.0.0.5", "profile": "TM-U220", "code_page": "CP866"},
    )
    assert lacking.status_code == 422 and set(lacking.get_json()["errors"]) == {"code_page"}
    made = client.post(
        "/api/v1/printing/printers", json={"name": "X", "host": "10.0.0.5", "profile": "TM-T88V"}
    ).get_json()
    changed = client.patch(f"/api/v1/printing/printers/{made['id']}", json={"profile": "nope"})
    assert changed.status_code == 422 and set(changed.get_json()["errors"]) == {"profile"}
    # What the registry keeps prints: the test page is made and queued.
    tested = client.post(f"/api/v1/printing/printers/{made['id']}/test")
    assert tested.status_code == 202 and tested.get_json()["state"] == JobState.QUEUED


def test_a_receipt_shows_the_vat_in_what_was_paid_rounded_to_the_tiyin(runtime):
    assert intake.discount_shares([], 0) == []  # no lines, nothing to spread
    # A discount of nearly the whole sum: what rounding leaves goes where there is room, no
    # line of the receipt below zero, and the receipt's lines are the fiscal receipt's.
    amounts = [{"amount": 50_000}, {"amount": 50_000}, {"amount": 1}]
    assert intake.discount_shares(amounts, 100_000) == [49_999, 50_000, 1]

    def line(amount: int) -> dict:
        return {
            "title": "Приём терапевта",
            "quantity": 1,
            "unit_price": amount,
            "amount": amount,
            "ikpu_code": "10399001001000000",
            "package_code": "1501234",
            "vat_percent": 12,
        }

    request = {
        "invoice_id": 999_999,
        "number": "2026-000001",
        "lines": [line(15_000_000), line(5_000_000)],
        "discount": 0,
        "total": 20_000_000,
        "paid_amount": 20_000_000,
        "payments": [{"method": "cash", "amount": 20_000_000}],
        "requested_by": "kassir1",
    }
    with runtime.db.session() as s:
        plain = intake.receipt_data(s, runtime.settings, request)
        # 150 000 сум with 12 % VAT in it: 16 071,428... сум, so 16 071,43.
        assert [item["vat"] for item in plain["lines"]] == [1_607_143, 535_714]
        # A discount lowers what is paid for each line, and the VAT in it, as on the fiscal
        # receipt: 2 000 сум off is spread 1 500 and 500.
        discounted = intake.receipt_data(s, runtime.settings, {**request, "discount": 200_000})
        assert [item["vat"] for item in discounted["lines"]] == [1_591_071, 530_357]
    printed = documents.receipt(plain, ("ru", "uz"))
    assert any(
        block.get("right") == "16 071,43 сум" for block in printed["blocks"] if block["t"] == "pair"
    )


def test_status_bytes_before_the_printer_closes_are_a_job_printed_and_endless_ones_a_timeout(
    monkeypatch,
):
    printer = FakePrinter()
    try:
        printer.mode = "status"
        thermal.send("127.0.0.1", printer.port, b"job", timeout=5)
        assert printer.wait_for(1) == [b"job"]
        printer.mode = "chatter"  # never closes: the job is not known to be on paper
        with pytest.raises(thermal.JobInterrupted):
            thermal.send("127.0.0.1", printer.port, b"second job", timeout=0.5)
        # Status bytes that come in after the time allowed: the same, whatever the socket says.
        printer.mode = "status"
        clock = iter([0.0, 0.0])
        monkeypatch.setattr(thermal, "time", SimpleNamespace(monotonic=lambda: next(clock, 60.0)))
        with pytest.raises(thermal.JobInterrupted, match="did not finish"):
            thermal.send("127.0.0.1", printer.port, b"third job", timeout=5)
    finally:
        printer.down()


def test_a_printing_workers_hold_on_its_printer_outlasts_its_longest_send():
    """Connecting, the paper question a printer out of paper is asked before the job, sending
    and the printer's reading of the job may each take the timeout: a slow printer's timeout
    raised to 15 s keeps its worker's lease longer than 60 s, so the sweeper hands the
    printer to no second worker while the first still sends to it; a lease set shorter than
    that stops the start rather than being lengthened unsaid."""
    settings = Settings.from_env({"CLINIC_ENV": "test", "CLINIC_PRINT_TIMEOUT": "15"})
    assert settings.print_lease_seconds > 4 * settings.print_timeout
    with pytest.raises(ConfigError, match="CLINIC_PRINT_LEASE_SECONDS"):
        Settings.from_env(
            {"CLINIC_ENV": "test", "CLINIC_PRINT_TIMEOUT": "15", "CLINIC_PRINT_LEASE_SECONDS": "30"}
        )


def test_a_qr_code_that_would_not_fit_below_the_text_starts_the_next_sheet_whole():
    def with_lines(count: int) -> dict:
        lines = [
            {"t": "text", "text": f"Строка {i}", "size": 1, "bold": False, "align": "left"}
            for i in range(count)
        ]
        return {"title": "A5", "blocks": [*lines, {"t": "qr", "data": "https://ofd.soliq.uz/"}]}

    for count in (20, 32):  # the code fits under the text; then it does not
        sheets = PdfReader(io.BytesIO(pdfs.render(with_lines(count), "A5"))).pages
        text_pages = [i for i, page in enumerate(sheets) if "Строка" in page.extract_text()]
        images = [len(page.images) for page in sheets]
        assert text_pages == [0] and sum(images) == 1
        assert images.index(1) == (0 if count == 20 else 1)


def test_a_printer_removed_while_its_job_is_on_the_wire_leaves_the_job_to_the_desk(
    client, runtime, fake_printer
):
    from clinic.printing import printers, spooler

    printer = _printer(client, fake_printer)
    made = client.post(f"/api/v1/printing/printers/{printer['id']}/test").get_json()

    def send_while_removed(host, port, payload, *, timeout, **options):
        thermal.send(host, port, payload, timeout=timeout, **options)
        with runtime.db.transaction() as s:  # the administrator removes it meanwhile
            printers.remove_printer(s, printer["id"])

    result = spooler.drain(
        runtime.db.sessionmaker, printer["id"], runtime.settings, send=send_while_removed
    )
    # The printer took it all before it went: printed (its PDF would be a second paper).
    assert result == {"printed": 1, "retry_in": None}
    gone = job(runtime, made["id"])
    assert (gone.printer_id, gone.state) == (None, JobState.PRINTED)


def test_uzbek_cyrillic_letters_are_spelled_in_their_own_latin_letters_without_cyrillic():
    # A printer without Cyrillic spells a name as Uzbek Latin writes it: Қ is Q, ғ is g', ҳ is
    # h (not K, g and x, the nearest letters a Cyrillic code page has).
    assert thermal.printable("Қодирова Гўзал ўғли, Ҳасанов, ҚАРШИ", "CP437") == (
        "Qodirova Go'zal o'g'li, Hasanov, QARSHI"
    )
    document = documents.document("t", "t", [documents.text("Ғафуров Ҳақ")], ["ru"])
    assert b"G'afurov Haq" in thermal.render(document, code_page="CP437")


@pytest.mark.parametrize("code_page", ["CP866", "CP1251", "CP437"])
def test_latin_letters_with_accents_a_code_page_lacks_print_without_them_not_as_question_marks(
    code_page,
):
    # Karakalpak Latin names (Ánvar, Ótegenov, Ǵayrat, Nıyaz) and a pasted "…" or "×".
    text = "Ánvar Ótegenov, Ǵayrat Nıyaz: 2×3…"
    document = documents.document("t", "t", [documents.text(text)], ["ru"])
    payload = thermal.render(document, code_page=code_page)
    assert b"Anvar Otegenov, Gayrat Niyaz: 2x3" in payload and b"?" not in payload
    # What the code page has stays as it is: Cyrillic on a Cyrillic page, é on CP437.
    if code_page != "CP437":
        assert thermal.printable("Йўл ё", code_page) == "Йўл ё"
    else:
        assert thermal.printable("Café", code_page) == "Café"


@pytest.mark.parametrize("code_page", ["CP866", "CP1251", "CP437"])
def test_the_marks_uzbek_is_typed_with_and_curly_quotes_print_as_apostrophes_and_quotes(
    code_page,
):
    # Oʻzbekiston as a keyboard without ʻ lets it be typed: with the acute accent, a
    # backtick, a prime or a reversed comma; a legal name pasted with typographic quotes.
    for typed in ("O´zbekiston", "O`zbekiston", "O′zbekiston", "Oʽzbekiston", "O‛zbekiston"):
        assert thermal.printable(typed, code_page) == "O'zbekiston", typed
    for quoted in ("“Shifo”", "„Shifo“", "‟Shifo”", "«Shifo»"):
        assert thermal.printable(quoted, code_page) == '"Shifo"', quoted
    assert thermal.printable("‹Shifo›", code_page) == "'Shifo'"
    document = documents.document("t", "t", [documents.text("G´ulomov, ko´chasi “Shifo”")], ["uz"])
    payload = thermal.render(document, code_page=code_page)
    assert b"G'ulomov, ko'chasi \"Shifo\"" in payload and b"?" not in payload
