"""A workbook cell's value as the sheet shows it, and as text: what a price list reads of an
XLSX file, the same as of the CSV file Excel would save from it."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from clinic.reference.row_reasons import Reason

EXACT_FLOAT_LIMIT = 2**53  # an XLSX number above this has lost digits already
EXCEL_DIGITS = 15  # significant digits Excel shows of a number

# Literal text in a number format (0"%" or 0\% only shows a sign after the number).
_QUOTED = re.compile(r'"[^"]*"|\\.')


# A number format's first section showing a fixed number of decimals ("#,##0", "0.00",
# "# ##0,00 [$сум]" once its colour, currency and fill marks are taken out).
_FORMAT_MARKS = re.compile(r"\[[^\]]*\]|_.|\*.")
_FIXED_DECIMALS = re.compile(r"^[#0,\s]*0(?:\.(0*))?\s*$")
# A whole number shown with leading zeros ("000" shows 7 as 007): a code typed as a number.
_ZERO_PADDED = re.compile(r"^\s*(0{2,})\s*$")


def _shown_decimals(number_format: str) -> int | None:
    """How many decimals a cell of ``number_format`` shows; None when not a fixed number."""
    first = _FORMAT_MARKS.sub("", number_format.split(";")[0])
    fixed = _FIXED_DECIMALS.match(first)
    return len(fixed.group(1) or "") if fixed else None


def _shown_digits(number_format: str) -> int | None:
    """How many digits a whole number of ``number_format`` shows at least, with leading zeros;
    None when the format does not pad."""
    padded = _ZERO_PADDED.match(_FORMAT_MARKS.sub("", number_format.split(";")[0]))
    return len(padded.group(1)) if padded else None


def cell_value(cell):
    """The cell's value as the sheet shows it: "12%" typed into Excel is stored as 0.12 with
    a percent format, and shown (and meant) as 12; a formula's result stored as 112388.76
    in a column of whole sums ("#,##0") is shown, and read, as 112389; and 7 in a cell
    formatted "000" is shown, and read, as the text "007" (a code or package code)."""
    value = cell.value
    number_format = _QUOTED.sub("", getattr(cell, "number_format", None) or "")
    shown_as_percent = "%" in number_format
    if (
        shown_as_percent
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
        and abs(value) < EXACT_FLOAT_LIMIT / 100
    ):
        percent = round(float(value) * 100, 9)
        return int(percent) if percent.is_integer() else percent
    places = _shown_decimals(number_format) if isinstance(value, float) else None
    if places is not None and abs(value) < EXACT_FLOAT_LIMIT:
        # Rounded as Excel shows it: from its 15 significant digits, halves away from zero.
        shown = Decimal(f"{value:.{EXCEL_DIGITS}g}").quantize(
            Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP
        )
        if places:
            return float(shown)
        value = int(shown)
    if (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and abs(value) < EXACT_FLOAT_LIMIT
        and float(value).is_integer()
    ):
        digits = _shown_digits(number_format)
        if digits is not None:
            return ("-" if value < 0 else "") + str(abs(int(value))).zfill(digits)
    return value


class CellError(ValueError):
    """A cell whose number cannot be read exactly; its reason in ``args[0]``."""


def cell_text(value) -> str:
    """The cell's value as the text a CSV file of the same sheet would hold."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if abs(value) >= EXACT_FLOAT_LIMIT:
            raise CellError(
                Reason(
                    "number_too_long",
                    "This number is too long to be exact; format the column as text.",
                )
            )
        if value.is_integer():
            return str(int(value))
        # Excel shows (and computes with) 15 significant digits, but stores a formula's
        # result with all of the double's: =150000*1.12 is stored as 168000.00000000003.
        shown = f"{value:.{EXCEL_DIGITS}g}"
        return repr(value) if "e" in shown else shown
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).strip()
