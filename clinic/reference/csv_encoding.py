"""The text of a price list's CSV file: UTF-8 (with or without a byte-order mark), or
Windows-1251, which Excel writes for "CSV (разделители — запятые / точка с запятой)" on a
Windows set to Russian, the usual one at an Uzbek reception.

Windows-1251 has no Uzbek Ў, Қ, Ғ, Ҳ, nor the letter sign ʻ: Excel saves each of them as a
question mark. A row holding one is refused, naming its column, rather than imported with
"?" in a name that would then print on receipts.

A file that is UTF-8 in part (Russian letters as UTF-8 writes them, and bytes UTF-8 cannot
hold: a line pasted in from a Windows-1251 file) is neither: read as Windows-1251, every
name of its UTF-8 part would turn to "РџСЂРёС‘Рј" and be imported so. It is refused.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import replace

from clinic.reference.row_reasons import Reason

WINDOWS_CYRILLIC = "cp1251"
LOST = "?"
# Two Cyrillic letters as UTF-8 writes them (0xD0 or 0xD1, then a byte from 0x80 to 0xBF):
# read as Windows-1251, each is "Р" or "С" before a dash, a quote, "ё" or the like, seen in
# its text once in a while ("«ЭКСПРЕСС»"), but not twice in a row.
_UTF8_CYRILLIC = re.compile(rb"(?:[\xd0\xd1][\x80-\xbf]){2}")


def decode_csv(data: bytes) -> tuple[str, bool]:
    """The file's text and whether it was read as Windows-1251. Raises UnicodeDecodeError
    for bytes that are neither UTF-8 nor Windows-1251, and for a file whose byte-order mark
    says UTF-8 but which is not (damaged: no Windows-1251 file starts with one), or which
    holds Russian letters in UTF-8 beside bytes that are not."""
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        if data.startswith(codecs.BOM_UTF8) or _UTF8_CYRILLIC.search(data):
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
