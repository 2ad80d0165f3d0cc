"""Reading a price-list file: CSV or XLSX bytes into rows of text keyed by column.

Reading is a pure function of the bytes (the same file always gives the same rows with
the same numbers), so an import that is resumed after a crash can read the file again.
The format is described in docs/price-import.md.
"""

from __future__ import annotations

import csv
import io
import re
import sys
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from clinic.errors import ValidationFailed
from clinic.reference.csv_encoding import decode_csv, mark_lost_letters
from clinic.reference.price_list import SERVICE_FIELDS
from clinic.reference.row_reasons import Reason
from clinic.reference.sheet_cells import CellError, cell_text, cell_value
from clinic.reference.sheet_header import TITLE_ROWS, find_header, header_name
from clinic.text import APOSTROPHES

MAX_ROWS = 100_000
# Limits against expansion bombs (a few KB that unpack to gigabytes): rows read in a sheet,
# blank ones included; columns a sheet declares, and columns read of a row; the unpacked
# size of a workbook and of any one part of it (shared strings, a sheet); and the characters
# of one cell.
MAX_SHEET_ROWS = MAX_ROWS + 10_000
MAX_COLUMNS = 100
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
MAX_PART_BYTES = 32 * 1024 * 1024
MAX_CELL_CHARS = 2000
# Names echoed in a message about the header are cut to this length.
MAX_NAME_CHARS = 40
CHECK_CLOCK_EVERY = 1000
# What reading a damaged part of a workbook raises (a cut or corrupted file): broken
# compression or checksum, XML that breaks off (lxml's and the standard parser's errors are
# both SyntaxErrors).
DAMAGED_PART_ERRORS = (zipfile.BadZipFile, zlib.error, SyntaxError, EOFError)

# Sheet name -> (columns in file order, required columns). Sheets are processed in this
# order, so services may name departments defined in the same workbook.
SHEETS = {
    "departments": (("code", "ticket_prefix", "name_ru", "name_uz", "name_en"), None),
    "doctors": (
        ("full_name", "department_code", "room_number", "specialty"),
        ("full_name", "department_code"),
    ),
    "services": (
        # A service's fields, its department named by code.
        SERVICE_FIELDS[:-1] + ("department_code",),
        ("code", "name_ru", "name_uz", "name_en", "price"),
    ),
}

# "sep=;": the first line some programs write so that Excel splits the columns at ";".
_SEP_LINE = re.compile(r'^"?sep=([;,\t|])"?[;,]*$', re.IGNORECASE)
_SPACES = re.compile(r"[ \u00a0\u2009\u202f]+")
# ASCII digits only: \d would also take full-width and other scripts' digits ("１２３").
_PRICE = re.compile(r"^(\d{1,3}(?: \d{3})+|\d+)(?:[.,](\d{1,2}))?$", re.ASCII)
# The sum's name after a price, as a cell formatted as money shows it and Excel writes it into
# a CSV file: "150 000,00 сум", "сўм", "so'm" with any apostrophe, "UZS".
_SUM_UNIT = re.compile(rf"\s+(?:сум\.?|сўм|so[{APOSTROPHES}]?m|sum|uzs)$", re.IGNORECASE)
_WHOLE = re.compile(r"^(-?\d+)(?:[.,]0+)?$", re.ASCII)  # "12,0": a Russian-locale CSV


# A field can be no longer than the file, which the upload limit has bounded already: a
# cell longer than MAX_CELL_CHARS is cut and its row reported, not the file refused for
# csv's own limit of 128 KiB a field. The limit is the process's; this is its one reader.
csv.field_size_limit(sys.maxsize)


class PriceListRejected(ValidationFailed):
    """The file as a whole cannot be imported (not a price list, or a broken header).

    ``code`` and the ``values`` its words quote (``sheet``: on a workbook's sheet) let the
    price list page say it in its own language."""


class ImportTooLong(PriceListRejected):
    """The import ran past its time limit (``CLINIC_JOB_TIME_LIMIT``) and was stopped."""


def check_deadline(deadline: float | None) -> None:
    """Raise :class:`ImportTooLong` once ``time.monotonic()`` has passed ``deadline``."""
    if deadline is not None and time.monotonic() > deadline:
        raise ImportTooLong(
            "The import took longer than its time limit and was stopped: split the file.",
            code="too_long",
        )


@dataclass(frozen=True)
class Row:
    sheet: str
    number: int  # as the user sees it: the header is row 1
    values: dict[str, str]
    problems: tuple[tuple[str | None, str], ...] = ()


# -- the upload -----------------------------------------------------------------------------


def file_kind(filename: str, data: bytes) -> str:
    """``"csv"`` or ``"xlsx"`` for an acceptable upload; raises ValidationFailed on ``file``."""

    def refuse(message: str):
        raise ValidationFailed(f"file: {message}", errors={"file": [message]})

    name = (filename or "").strip().lower()
    if not data:
        refuse("The file is empty.")
    if name.endswith(".xlsx"):
        if not (zipfile.is_zipfile(io.BytesIO(data)) and _has_workbook(data)):
            refuse("The file is not an Excel workbook (.xlsx).")
        return "xlsx"
    if name.endswith(".csv"):
        if data.startswith(b"PK\x03\x04") or b"\x00" in data:
            refuse("The file is not a CSV text file.")
        try:
            decode_csv(data)
        except UnicodeDecodeError:
            refuse("The file is not UTF-8 text: save it as 'CSV UTF-8'.")
        return "csv"
    refuse("Send a price list as a .csv or .xlsx file.")
    raise AssertionError("unreachable")  # pragma: no cover - refuse() always raises


def _has_workbook(data: bytes) -> bool:
    # is_zipfile() only finds the archive's end record; its directory may still be broken.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return False


# -- reading --------------------------------------------------------------------------------


def parse_price_list(filename: str, data: bytes, *, deadline: float | None = None) -> list[Row]:
    """Every non-blank data row of the file, departments first, then doctors, then services.

    Raises :class:`PriceListRejected` for a file that cannot be read as a price list, or that
    is bigger than the limits above once unpacked, and :class:`ImportTooLong` when reading
    goes past ``deadline`` (a ``time.monotonic()`` value).
    """
    try:
        kind = file_kind(filename, data)
    except ValidationFailed as exc:
        raise PriceListRejected(exc.errors["file"][0], errors=exc.errors) from exc
    tables = _read_csv(data, deadline) if kind == "csv" else _read_xlsx(data, deadline)
    rows = [row for sheet in SHEETS for row in tables.get(sheet, [])]
    if len(rows) > MAX_ROWS:
        raise PriceListRejected(
            f"More than {MAX_ROWS} rows: split the file.",
            code="too_many_rows",
            values={"most": MAX_ROWS},
        )
    return rows


def _read_csv(data: bytes, deadline: float | None = None) -> dict[str, list[Row]]:
    text, windows = decode_csv(data)
    first_line, _, rest = text.partition("\n")
    hint = _SEP_LINE.match(first_line.strip())
    if hint:  # Excel's own line naming the delimiter, which it hides: the header is row 1
        delimiter, text = hint.group(1), rest
    else:
        delimiter = _delimiter(text)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise PriceListRejected(
            f"The CSV file cannot be read: {exc}.", code="unreadable", values={"error": str(exc)}
        ) from exc
    rows = _table("services", records, csv_file=True, deadline=deadline)
    return {"services": mark_lost_letters(rows) if windows else rows}


def _delimiter(text: str) -> str:
    """``;`` or ``,``: the one that splits the header row into column names, past the title
    rows above it, which may hold the other (``Прейскурант клиники, 2026`` above
    ``code;name_ru;...``). When both split it into as many names, whichever it has more of;
    when no row names a column either way, whichever the first row holding one has more of."""
    columns = SHEETS["services"][0]
    lines = text.splitlines()
    for line in lines[: TITLE_ROWS + 1]:  # the rows find_header looks at
        naming = {
            delimiter: sum(header_name(v, columns) in columns for v in _split(line, delimiter))
            for delimiter in ";,"
        }
        if any(naming.values()):
            if naming[";"] != naming[","]:
                return max(naming, key=naming.get)
            header = line
            break
    else:
        header = next((line for line in lines if ";" in line or "," in line), "")
    return ";" if header.count(";") > header.count(",") else ","


def _split(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:  # a quote left open on this line: not a header under this delimiter
        return []


def _check_unpacked_size(data: bytes) -> None:
    """Refuse a workbook whose parts unpack past the limits, before openpyxl unpacks any.

    The sizes are the archive's own declarations, and they bind: Python's zipfile never
    yields more bytes for a part than its declared size.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = archive.infolist()
    biggest = max(parts, key=lambda part: part.file_size)
    mib = 1024 * 1024
    if biggest.file_size > MAX_PART_BYTES:
        raise PriceListRejected(
            f"The workbook is too large once unpacked: its part '{biggest.filename[:80]}' is "
            f"{biggest.file_size // mib} MiB (at most {MAX_PART_BYTES // mib} MiB).",
            code="too_large_unpacked",
            values={"size": biggest.file_size // mib, "most": MAX_PART_BYTES // mib},
        )
    total = sum(part.file_size for part in parts)
    if total > MAX_UNPACKED_BYTES:
        raise PriceListRejected(
            f"The workbook is too large once unpacked: {total // mib} MiB "
            f"(at most {MAX_UNPACKED_BYTES // mib} MiB).",
            code="too_large_unpacked",
            values={"size": total // mib, "most": MAX_UNPACKED_BYTES // mib},
        )


def _check_dimensions(name: str, worksheet) -> None:
    """Refuse a sheet that declares more rows or columns than a price list can have (read-only
    openpyxl would hand out every declared row, blank or not)."""
    rows, columns = worksheet.max_row or 0, worksheet.max_column or 0
    if rows > MAX_SHEET_ROWS or columns > MAX_COLUMNS:
        raise PriceListRejected(
            f"Sheet '{name[:MAX_NAME_CHARS]}' declares {rows} rows and {columns} columns: at most "
            f"{MAX_SHEET_ROWS} rows (blank ones count) and {MAX_COLUMNS} columns.",
            code="too_many_declared",
            values={
                "sheet": name[:MAX_NAME_CHARS],
                "rows": rows,
                "columns": columns,
                "most_rows": MAX_SHEET_ROWS,
                "most_columns": MAX_COLUMNS,
            },
        )


def _unreadable(exc: Exception) -> PriceListRejected:
    detail = f"The workbook cannot be read: {exc}."
    return PriceListRejected(detail, code="unreadable", values={"error": str(exc)[:200]})


def _read_xlsx(data: bytes, deadline: float | None = None) -> dict[str, list[Row]]:
    from openpyxl import load_workbook

    _check_unpacked_size(data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise _unreadable(exc) from exc
    try:
        # Sheets of rows: a chart on a sheet of its own (a chartsheet) holds none.
        names = [sheet.title for sheet in book.worksheets]
        by_name = {name.strip().lower(): name for name in names}
        chosen = {sheet: by_name[sheet] for sheet in SHEETS if sheet in by_name}
        if "services" not in chosen:
            others = [n for n in names if n.strip().lower() not in SHEETS]
            if others and names and others[0] == names[0]:
                chosen["services"] = others[0]
        if not chosen:
            raise PriceListRejected(
                "The workbook has no 'services' sheet.", code="no_services_sheet"
            )
        tables = {}
        for sheet, name in chosen.items():
            worksheet = book[name]
            _check_dimensions(name, worksheet)
            # The size a sheet declares only serves to refuse a bomb: read-only openpyxl would
            # stop at it, and some programs save a stale one ("A1", or the range before rows
            # were added), which would drop rows and columns without a word. The rows are
            # read as the sheet holds them, counted in _table, and cut to MAX_COLUMNS.
            worksheet.reset_dimensions()
            rows = _cell_values(worksheet)
            try:
                tables[sheet] = _table(sheet, rows, title=name, deadline=deadline)
            except DAMAGED_PART_ERRORS as exc:  # a sheet is unpacked and parsed as it is read
                raise _unreadable(exc) from exc
        return tables
    finally:
        book.close()


# What read-only openpyxl raises for one damaged cell, read as its row is: a shared string
# or a style past its table, a date or number cell holding no date or number, a cell or
# row reference that is none.
DAMAGED_CELL_ERRORS = (ValueError, IndexError, KeyError, TypeError, OverflowError)


def _cell_values(worksheet) -> Iterator[tuple]:
    """Each row's values, up to MAX_COLUMNS; a damaged cell refuses the workbook as
    unreadable (only the reading of the sheet is guarded: the rules that read the values
    raise their own refusals)."""
    cells = worksheet.iter_rows()
    while True:
        try:
            row = next(cells, None)
            if row is None:
                return
            values = tuple(cell_value(c) for c in row[:MAX_COLUMNS])
        except DAMAGED_CELL_ERRORS as exc:
            raise _unreadable(exc) from exc
        yield values


def _short(names) -> str:
    shown = [n if len(n) <= MAX_NAME_CHARS else n[:MAX_NAME_CHARS] + "…" for n in names[:10]]
    return ", ".join(shown) + (f" and {len(names) - 10} more" if len(names) > 10 else "")


def _table(
    sheet: str,
    records,
    *,
    csv_file: bool = False,
    title: str | None = None,
    deadline: float | None = None,
) -> list[Row]:
    """Rows of one sheet, keyed by column; refuses a header that is not a price list's,
    naming the sheet as the workbook does (``title``: the services may be on any first
    sheet)."""
    columns, required = SHEETS[sheet]

    def refuse(message: str, code: str, **values):
        where = "" if csv_file else f"Sheet '{(title or sheet)[:MAX_NAME_CHARS]}': "
        if where:
            values["sheet"] = (title or sheet)[:MAX_NAME_CHARS]
        detail = where + (message if where else message[0].upper() + message[1:])
        raise PriceListRejected(detail, code=code, values=values)

    raw_header, header_row, records = find_header(iter(records), columns)
    header = [header_name(v, columns) for v in (raw_header or ())]
    while header and header[-1] == "":
        header.pop()
    if not header:
        refuse("the first row must name the columns.", "no_header")
    unnamed = [str(i + 1) for i, name in enumerate(header) if not name]
    if unnamed:
        refuse(
            f"column(s) {_short(unnamed)} have no name.", "unnamed_columns", columns=_short(unnamed)
        )
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        refuse(
            f"repeated column(s): {_short(repeated)}.", "repeated_columns", columns=_short(repeated)
        )
    unknown = [name for name in header if name not in columns]
    if unknown:
        known = ", ".join(columns)
        message = f"unknown column(s): {_short(unknown)}. Known columns: {known}."
        refuse(message, "unknown_columns", columns=_short(unknown), known=known)
    missing = [name for name in (required or columns) if name not in header]
    if missing:
        missing_ = ", ".join(missing)
        refuse(f"required column(s) missing: {missing_}.", "missing_columns", columns=missing_)

    rows = []
    for number, record in enumerate(records, start=header_row + 1):
        if number % CHECK_CLOCK_EVERY == 0:
            check_deadline(deadline)
        if number > MAX_SHEET_ROWS:  # blank rows count: a bomb may declare millions of them
            message = f"more than {MAX_SHEET_ROWS} rows, blank ones included: split the file."
            refuse(message, "too_many_sheet_rows", most=MAX_SHEET_ROWS)
        values, problems = {}, []
        for i, raw in enumerate(record):
            try:
                text = cell_text(raw)
            except CellError as exc:
                text = ""
                problems.append((header[i] if i < len(header) else None, exc.args[0]))
            if len(text) > MAX_CELL_CHARS:
                text = text[:MAX_CELL_CHARS]
                problems.append(
                    (
                        header[i] if i < len(header) else None,
                        Reason(
                            "cell_too_long",
                            f"The value is longer than {MAX_CELL_CHARS} characters.",
                            chars=MAX_CELL_CHARS,
                        ),
                    )
                )
            if i < len(header):
                values[header[i]] = text
            elif text:
                more = f"The row has more values than the {len(header)} columns."
                problems.append((None, Reason("more_values", more, columns=len(header))))
                break
        if not any(values.values()) and not problems:
            continue  # blank rows are allowed anywhere and count for nothing
        for name in header:
            values.setdefault(name, "")
        rows.append(Row(sheet, number, values, tuple(problems)))
        if len(rows) > MAX_ROWS:  # stop before a huge (or decompression-bomb) sheet is read
            refuse(f"more than {MAX_ROWS} rows: split the file.", "too_many_rows", most=MAX_ROWS)
    return rows


def parse_price(text: str) -> int:
    """``"150 000"`` -> 15000000 tiyin; ``"150000.50"`` -> 15000050; the sum's name after
    it is allowed (``"150 000,00 сум"``). Raises ValueError."""
    text = _SUM_UNIT.sub("", _SPACES.sub(" ", text.strip()))
    if text.startswith("-"):
        raise ValueError(Reason("negative_price", "A price cannot be negative."))
    match = _PRICE.match(text)
    if not match:
        shown = text[:MAX_NAME_CHARS]
        raise ValueError(
            Reason(
                "not_a_price",
                f"Not a price: {text!r}. Write sums with up to two decimals, "
                "e.g. 150000, 150 000 or 150000.50.",
                value=shown,
            )
        )
    whole, fraction = match.group(1).replace(" ", ""), (match.group(2) or "").ljust(2, "0")
    return int(whole) * 100 + int(fraction)


def parse_whole(text: str) -> int:
    """A whole number; ``"30.0"`` or ``"30,0"`` (a spreadsheet's number stored as text) and
    ``"12%"`` too."""
    match = _WHOLE.match(text.strip().removesuffix("%").strip())
    if not match:
        raise ValueError(Reason("not_whole", "Not a valid integer."))
    return int(match.group(1))
