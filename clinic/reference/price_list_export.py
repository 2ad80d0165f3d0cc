"""The price list written out as a workbook the import reads back as it is.

An administrator downloads it, changes prices in Excel and uploads it again: the sheet has
the import's columns (docs/price-import.md), so a file sent back untouched changes nothing
(every row ``unchanged``). Codes are text cells, so Excel keeps all 17 digits of an IKPU code
(as a number it would keep 15 and show ``1E+16``); prices are numbers in sums, to be edited.
"""

from __future__ import annotations

import tempfile
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from clinic.reference.models import Service
from clinic.reference.price_list_file import SHEETS
from clinic.text import spreadsheet_safe

SHEET = "services"
COLUMNS = SHEETS[SHEET][0]
TEXT_COLUMNS = {
    "code",
    "department_code",
    "name_ru",
    "name_uz",
    "name_en",
    "ikpu_code",
    "package_code",
}
PRICE_FORMAT = "#,##0.00"
TEXT_FORMAT = "@"


def _sums(tiyin: int) -> Decimal:
    """Tiyin as sums with two decimals, computed in integers (no float)."""
    return (Decimal(tiyin) / 100).quantize(Decimal("0.01"))


def _row_of(service: Service) -> dict:
    row = {c: getattr(service, c, None) for c in COLUMNS}
    row["price"] = _sums(service.price)
    row["department_code"] = service.department.code if service.department else ""
    return row


def price_list_workbook(session: Session) -> bytes:
    """Every service (active or not: an import never switches one on or off), by code, as
    an XLSX workbook with one sheet, ``services``, laid out as the import reads it."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=SHEET)
    for i, column in enumerate(COLUMNS):
        wide = 40 if column.startswith("name_") else 22 if column == "ikpu_code" else 12
        sheet.column_dimensions[chr(ord("A") + i)].width = max(wide, len(column) + 2)
    sheet.freeze_panes = "A2"
    sheet.append(list(COLUMNS))
    services = session.scalars(
        select(Service).options(joinedload(Service.department)).order_by(Service.code)
    )
    for service in services:
        cells = []
        for column, value in _row_of(service).items():
            cell = WriteOnlyCell(sheet, value=value)
            if column == "price":
                cell.number_format = PRICE_FORMAT
            elif column in TEXT_COLUMNS:
                # Text as typed, never a number nor a formula (a name starting with "=").
                cell.data_type = "s"
                cell.number_format = TEXT_FORMAT
                if spreadsheet_safe(value) != value:
                    cell.quotePrefix = True
            cells.append(cell)
        sheet.append(cells)
    with tempfile.TemporaryFile() as out:
        book.save(out)
        out.seek(0)
        return out.read()
