"""The text of a price list's CSV file: UTF-8 (with or without a byte-order mark), or
Windows-1251, which Excel writes for "CSV (разделители — запятые / точка с запятой)" on a
Windows set to Russian, the usual one at an Uzbek reception.

Windows-1251 has no Uzbek Ў, Қ, Ғ, Ҳ, nor the letter sign ʻ: Excel saves each of them as a
question mark. A row holding one is refused, naming its column, rather than imported with
"?" in a name that would then print on receipts.
"""

from __future__ import annotations

import codecs
from dataclasses import replace

from clinic.reference.row_reasons import Reason

WINDOWS_CYRILLIC = "cp1251"
LOST = "?"


def decode_csv(data: bytes) -> tuple[str, bool]:
    """The file's text and whether it was read as Windows-1251. Raises UnicodeDecodeError
    for bytes that are neither UTF-8 nor Windows-1251, and for a file whose byte-order mark
    says UTF-8 but which is not (damaged: no Windows-1251 file starts with one)."""
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        if data.startswith(codecs.BOM_UTF8):
            raise
        return data.decode(WINDOWS_CYRILLIC), True


def mark_lost_letters(rows: list) -> list:
    """``rows`` of a Windows-1251 file, each cell holding a question mark reported in its
    row's problems (the row is then refused as a whole)."""
    reason = Reason(
        "lost_letters",
        "Letters were lost when the file was saved (Excel wrote '?' for the letters "
        "Windows-1251 has not, such as ў, қ, ғ, ҳ and ʻ): save the file as 'CSV UTF-8'.",
    )
    marked = []
    for row in rows:
        lost = tuple((column, reason) for column, value in row.values.items() if LOST in value)
        marked.append(replace(row, problems=row.problems + lost) if lost else row)
    return marked
