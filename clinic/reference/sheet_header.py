"""Where a price list's header is, and what its cells name.

A price list kept for people often has a title above its columns ("Прейскурант на
медицинские услуги", merged across them, a date under it, a blank row): such rows, each with
one value at most, are passed over down to the first row naming a known column, and the rows
keep the numbers the sheet shows. A first row holding several values that name no column is
the header still, refused as before for naming none.
"""

from __future__ import annotations

from itertools import chain
from typing import Iterator

# Rows looked at for a title above the header.
TITLE_ROWS = 10
# Cyrillic letters drawn like Latin ones: a column name typed with the Russian layout on
# ("сode", "рrice") looks right and is meant as the column it looks like.
LATIN_LOOKALIKES = str.maketrans("аеосрхукмтнв", "aeocpxykmthb")


def header_name(value, columns=()) -> str:
    name = "" if value is None else str(value).replace("\ufeff", "").strip().lower()
    latin = name.translate(LATIN_LOOKALIKES)
    return latin if latin in columns else name


def find_header(records: Iterator, columns) -> tuple[object, int, Iterator]:
    """The header row, its number on the sheet (from 1) and the rows after it."""
    seen: list = []
    for record in records:
        seen.append(record)
        names = [header_name(value, columns) for value in record]
        if any(name in columns for name in names):
            return record, len(seen), records
        if sum(1 for name in names if name) > 1 or len(seen) > TITLE_ROWS:
            break
    if not seen:
        return None, 1, records
    return seen[0], 1, chain(seen[1:], records)
