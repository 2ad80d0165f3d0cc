"""Report files: CSV (UTF-8 with BOM), XLSX (openpyxl write-only) and PDF (with a chart).

The rows are read once and handed to every requested writer as they arrive. The CSV and
XLSX writers keep nothing per row; the PDF keeps its pages (the table is the aggregated rows,
one per day or doctor, not the payments). The chart keeps its first ``CHART_ROWS`` bars.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import textwrap
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from clinic import pdf
from clinic.money import format_amount, money_style
from clinic.reports.common import rate
from clinic.reports.definitions import Built, Column
from clinic.reports.labels import label
from clinic.text import spreadsheet_safe

CHART_ROWS = 40
PREVIEW_ROWS = 500
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "png": "image/png",
}
MONEY_FORMAT = '#,##0.00 "UZS"'
# Columns whose text is a clinic day or a clinic time: the spreadsheet gets real dates, so
# they sort and filter as dates (the text's format, the cell's format).
DATE_COLUMNS = {
    "by.day": ("%Y-%m-%d", "yyyy-mm-dd"),
    "opened": ("%Y-%m-%d %H:%M", "yyyy-mm-dd hh:mm"),
    "closed": ("%Y-%m-%d %H:%M", "yyyy-mm-dd hh:mm"),
}


# Control characters in a text (a word processor's manual line break, pasted into a name, is a
# vertical tab): an XLSX cell may not hold them (openpyxl refuses the whole file), and the
# PDF's font has no letter for them. They are shown as a space; the spreadsheet keeps the tab
# and the line ends it can hold.
NOT_IN_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
NOT_IN_PDF = re.compile(r"[\x00-\x1f\x7f]")


def money_decimal(tiyin: int) -> Decimal:
    """Tiyin as sums with exactly two decimals (integer arithmetic, no float)."""
    return (Decimal(tiyin) / 100).quantize(Decimal("0.01"))


@dataclass
class Totals:
    columns: tuple[Column, ...]
    rows: int = 0
    sums: dict = field(default_factory=dict)
    unknown: set = field(default_factory=set)

    def add(self, row: tuple) -> None:
        self.rows += 1
        for column, value in zip(self.columns, row):
            if column.summed and value is not None:
                self.sums[column.key] = self.sums.get(column.key, 0) + value
            elif column.summed and column.total_needs_every_row:
                self.unknown.add(column.key)

    def row(self, language: str) -> tuple:
        values = []
        for i, column in enumerate(self.columns):
            if i == 0:
                values.append(label("total", language))
            elif column.summed and column.key in self.unknown:
                values.append(None)
            elif column.summed:
                values.append(self.sums.get(column.key, 0))
            elif column.rate_of:
                part, whole = (self.sums.get(k, 0) for k in column.rate_of)
                values.append(rate(part, whole))
            else:
                values.append(None)
        return tuple(values)


class CsvWriter:
    def __init__(self, built: Built, headings: list[str]) -> None:
        self.file = tempfile.SpooledTemporaryFile(max_size=4 << 20, mode="w+b")  # noqa: SIM115
        self.text = io.TextIOWrapper(self.file, encoding="utf-8-sig", newline="")
        self.columns = built.columns
        self.writer = csv.writer(self.text)
        self.writer.writerow(headings)

    def _cell(self, column: Column, value):
        if value is None:
            return ""
        if column.kind == "money" and isinstance(value, int):
            return str(money_decimal(value))
        return spreadsheet_safe(value)

    def add(self, row: tuple) -> None:
        self.writer.writerow([self._cell(c, v) for c, v in zip(self.columns, row)])

    def finish(self, totals: tuple) -> bytes:
        self.add(totals)
        self.text.flush()
        self.file.seek(0)
        data = self.file.read()
        self.text.close()
        return data


class XlsxWriter:
    def __init__(self, built: Built, headings: list[str], title: str) -> None:
        from openpyxl import Workbook
        from openpyxl.styles import Font

        self.bold = Font(bold=True)
        self.book = Workbook(write_only=True)
        # A sheet's name is at most 31 characters, none of \ * ? : / [ ].
        self.sheet = self.book.create_sheet(title=re.sub(r"[\\*?:/\[\]]", " ", title)[:31])
        self.columns = built.columns
        for i, (column, heading) in enumerate(zip(built.columns, headings)):
            width = 34 if i == 0 else max(12, min(40, len(heading) + 2))
            if column.kind == "money":
                width = max(width, 18)
            if column.key in DATE_COLUMNS:
                # A date or time that does not fit its column is shown as ###.
                width = max(width, len(DATE_COLUMNS[column.key][1]) + 2)
            self.sheet.column_dimensions[_letter(i)].width = width
        self.sheet.freeze_panes = "A2"
        self.sheet.append([self._cell(h, None, bold=True) for h in headings])

    def _cell(self, value, column: Column | None, *, bold: bool = False):
        from openpyxl.cell import WriteOnlyCell

        when = _as_datetime(column, value)
        if column is not None and column.kind == "money" and isinstance(value, int):
            cell = WriteOnlyCell(self.sheet, value=money_decimal(value))
            cell.number_format = MONEY_FORMAT
        elif when is not None:
            cell = WriteOnlyCell(self.sheet, value=when)
            cell.number_format = DATE_COLUMNS[column.key][1]
        elif column is not None and column.kind in ("percent", "minutes") and value is not None:
            cell = WriteOnlyCell(self.sheet, value=value)
            cell.number_format = "0.0"
        elif isinstance(value, str):
            value = NOT_IN_XLSX.sub(" ", value)
            cell = WriteOnlyCell(self.sheet, value=value)
            # The text as it was given, never run: a text cell (openpyxl makes one starting
            # with "=" a formula), and one a spreadsheet would run as typed is marked as text
            # typed with a leading apostrophe, which Excel keeps on an edit and does not show.
            cell.data_type = "s"
            if spreadsheet_safe(value) != value:
                cell.quotePrefix = True
        else:
            cell = WriteOnlyCell(self.sheet, value=value)
        if bold:
            cell.font = self.bold
        return cell

    def add(self, row: tuple, *, bold: bool = False) -> None:
        self.sheet.append([self._cell(v, c, bold=bold) for c, v in zip(self.columns, row)])

    def finish(self, totals: tuple) -> bytes:
        self.add(totals, bold=True)
        with tempfile.TemporaryFile() as out:
            self.book.save(out)
            out.seek(0)
            return out.read()


def _as_datetime(column: Column | None, value) -> datetime | None:
    """A date column's text as a date (a totals row's word stays text)."""
    if column is None or column.key not in DATE_COLUMNS or not isinstance(value, str):
        return None
    pattern = DATE_COLUMNS[column.key][0]
    try:
        when = datetime.strptime(value, pattern)
    except ValueError:
        return None
    return when if "%H" in pattern else when.date()


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def display(column: Column, value, language: str) -> str:
    """A cell as people read it: money grouped in sums, percents and minutes to a tenth,
    with the language's decimal mark (``12,5`` in Russian and Uzbek, as their money)."""
    if value is None:
        return ""
    if column.kind == "money" and isinstance(value, int):
        return format_amount(value, language)
    if column.kind in ("percent", "minutes"):
        return f"{value:.1f}".replace(".", money_style(language)["decimal_separator"])
    return str(value)


class PdfWriter:
    ROW_HEIGHT = 6
    MIN_FONT = 5

    def __init__(self, built: Built, headings: list[str], heading_lines: list[str]) -> None:
        self.language = built.params.language
        self.columns = built.columns
        self.headings = headings
        self.doc = pdf.new_document("A4", orientation="L")
        self.doc.add_page()
        # The title, the period and the filters, a long name among them (a doctor's, a
        # department's) wrapped over lines, whole, inside the page.
        room = self.doc.epw - 2 * self.doc.c_margin
        for index, line in enumerate(heading_lines):
            style, size, height = ("B", 13, 8) if index == 0 else ("", 9, 5)
            for part in self._lines(NOT_IN_PDF.sub(" ", line), style, size, room):
                self.doc.set_font(pdf.FAMILY, style, size)
                self.doc.cell(0, height, part, new_x="LMARGIN", new_y="NEXT")
        self.doc.ln(2)
        usable = self.doc.w - self.doc.l_margin - self.doc.r_margin
        first = min(70.0, usable * 0.3)
        rest = (usable - first) / max(1, len(self.columns) - 1)
        self.widths = [first] + [rest] * (len(self.columns) - 1)
        self._header()

    # A text too long for its cell even in the smallest letters (a service's full name) is
    # wrapped over lines of this size instead, whole, as the CSV and the XLSX hold it.
    WRAP_FONT = 7
    WRAP_LINE = 3.2

    def _fitted(self, text: str, style: str, room: float, *, wrap: bool) -> tuple[float, list]:
        """The font size and the lines of a cell's text inside ``room``: one line in a
        smaller font first; then, for a text (``wrap``), lines broken between words in
        ``WRAP_FONT``; a figure that still does not fit is cut with "…"."""
        size = 8.0
        while size > self.MIN_FONT and self._width(text, style, size) > room:
            size -= 0.5
        if self._width(text, style, size) <= room:
            return size, [text]
        if wrap:
            return self.WRAP_FONT, self._lines(text, style, self.WRAP_FONT, room)
        while len(text) > 1 and self._width(text, style, size) > room:
            text = text[:-2] + "…"
        return size, [text]

    def _lines(self, text: str, style: str, size: float, room: float) -> list[str]:
        """``text`` in lines that fit ``room`` at ``size``, broken between words, a word
        longer than a line broken where the line ends."""
        lines: list[str] = []
        for word in text.split():
            joined = f"{lines[-1]} {word}" if lines else word
            if lines and self._width(joined, style, size) <= room:
                lines[-1] = joined
                continue
            while len(word) > 1 and self._width(word, style, size) > room:
                cut = len(word) - 1
                while cut > 1 and self._width(word[:cut], style, size) > room:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            lines.append(word)
        return lines or [""]

    def _width(self, text: str, style: str, size: float) -> float:
        self.doc.set_font(pdf.FAMILY, style, size)
        return self.doc.get_string_width(text)

    HEADER_FONT = 7
    HEADER_LINE = 3.2

    def _wrapped(self, text: str, room: float) -> list[str]:
        """``text`` in lines that fit ``room``, broken between words (a word longer than the
        room stays whole, to be fitted by itself)."""
        lines: list[str] = []
        for word in text.split():
            joined = f"{lines[-1]} {word}" if lines else word
            if lines and self._width(joined, "B", self.HEADER_FONT) <= room:
                lines[-1] = joined
            else:
                lines.append(word)
        return lines or [""]

    def _header(self) -> None:
        """The column headings, each in full: wrapped over as many lines as the longest
        needs (a heading cut short, "Доля поздних отм…", leaves a column unnamed)."""
        margin = self.doc.c_margin
        wrapped = [self._wrapped(h, w - 2 * margin) for w, h in zip(self.widths, self.headings)]
        height = max(self.ROW_HEIGHT, self.HEADER_LINE * max(map(len, wrapped)) + 2)
        if self.doc.get_y() + height + self.ROW_HEIGHT > self.doc.page_break_trigger:
            self.doc.add_page()
        x, y = self.doc.l_margin, self.doc.get_y()
        for width, lines in zip(self.widths, wrapped):
            self.doc.rect(x, y, width, height)
            top = y + (height - self.HEADER_LINE * len(lines)) / 2
            for index, line in enumerate(lines):
                size, room = self.HEADER_FONT, width - 2 * margin
                while size > self.MIN_FONT and self._width(line, "B", size) > room:
                    size -= 0.5
                self.doc.set_font(pdf.FAMILY, "B", size)
                self.doc.set_xy(x, top + index * self.HEADER_LINE)
                self.doc.cell(width, self.HEADER_LINE, line, align="C")
            x += width
        self.doc.set_xy(self.doc.l_margin, y + height)

    def add(self, row: tuple, *, bold: bool = False) -> None:
        style = "B" if bold else ""
        cells = []
        for width, column, value in zip(self.widths, self.columns, row):
            text = NOT_IN_PDF.sub(" ", display(column, value, self.language))
            room = width - 2 * self.doc.c_margin
            size, lines = self._fitted(text, style, room, wrap=column.kind == "text")
            cells.append((width, "L" if column.kind == "text" else "R", size, lines))
        most = max(len(lines) for _w, _a, _s, lines in cells)
        height = self.ROW_HEIGHT if most == 1 else self.WRAP_LINE * most + 2
        if self.doc.get_y() + height > self.doc.page_break_trigger:
            self.doc.add_page()
            self._header()
        x, y = self.doc.l_margin, self.doc.get_y()
        for width, align, size, lines in cells:
            self.doc.set_font(pdf.FAMILY, style, size)
            if len(lines) == 1:
                self.doc.set_xy(x, y)
                self.doc.cell(width, height, lines[0], border=1, align=align)
            else:
                self.doc.rect(x, y, width, height)
                for index, line in enumerate(lines):
                    self.doc.set_xy(x, y + 1 + index * self.WRAP_LINE)
                    self.doc.cell(width, self.WRAP_LINE, line, align=align)
            x += width
        self.doc.set_xy(self.doc.l_margin, y + height)

    def finish(self, totals: tuple, chart: bytes | None) -> bytes:
        self.add(totals, bold=True)
        if chart:
            # An image that does not fit the page goes to the next one by itself.
            self.doc.ln(4)
            self.doc.image(io.BytesIO(chart), w=min(240, self.doc.epw))
        return pdf.to_bytes(self.doc)


def chart_png(points: list[tuple[str, float]], title: str, language: str = "ru") -> bytes | None:
    """A bar chart of the first figure by group, drawn by matplotlib (Agg, no display)."""
    if not points:
        return None
    figure = chart_figure(points, title, language)
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def chart_figure(points: list[tuple[str, float]], title: str, language: str):
    """The chart's matplotlib figure. Its scale is written as the report writes its figures,
    whole and grouped in ``language``'s way (``80 000 000``): not ``8`` under a ``1e7`` that
    no manager reads as eighty million sums."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    figure = Figure(figsize=(10, 4), dpi=100)
    axes = figure.subplots()
    names = [bar_label(name) for name, _ in points]
    axes.bar(range(len(points)), [value for _, value in points], color="#2b6cb0")
    axes.set_xticks(range(len(points)))
    axes.set_xticklabels(names, rotation=45 if len(points) > 6 else 0, ha="right", fontsize=8)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: grouped(value, language)))
    axes.set_title(title, fontsize=10)
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    return figure


# A bar's name: over at most three lines of this many letters, broken between words, so two
# long names that begin alike (a family name and the same first name) are told apart.
BAR_LINE = 18
BAR_LINES = 3


def bar_label(name: str) -> str:
    lines = textwrap.wrap(NOT_IN_PDF.sub(" ", name), BAR_LINE) or [""]
    if len(lines) > BAR_LINES:
        lines = lines[: BAR_LINES - 1] + [lines[BAR_LINES - 1][: BAR_LINE - 1] + "…"]
    return "\n".join(lines)


def grouped(value: float, language: str) -> str:
    """A whole number with the thousands grouped as ``language`` groups money's."""
    whole = int(round(value))
    digits = f"{abs(whole):,}".replace(",", money_style(language)["group_separator"])
    return f"-{digits}" if whole < 0 else digits
