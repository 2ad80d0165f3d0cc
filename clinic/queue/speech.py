"""What a board says when it calls a ticket: the ticket as the patient sees it on his paper,
read right in each voice.

A ticket's prefix is a department's letters, Latin (``T``) or Cyrillic (``К``). A Russian
voice given a Latin ``T`` spells an English letter or nothing at all; each voice is therefore
given the letters' names in its own language (``T`` is "Тэ" in Russian, "te" in Uzbek), and
the number is said as a number, without the leading zeros the paper shows (``T-006`` is
"Тэ 6"). The room it calls to is said as its door shows it (:func:`spoken_room`): a letter
beside its digits by its name in each voice (``12А`` is "12 А" in Russian, "12 A" in English,
whose voice cannot read a Cyrillic letter), the parts apart (``2-05`` is "2 05", not "two minus
five"). The board's script applies the same tables (:func:`letter_names`) and the same rules;
tests hold the two to the same answers.
"""

from __future__ import annotations

import re

_RU_LATIN = {
    "A": "А", "B": "Бэ", "C": "Цэ", "D": "Дэ", "E": "Е", "F": "Эф", "G": "Гэ", "H": "Аш",
    "I": "И", "J": "Жи", "K": "Ка", "L": "Эль", "M": "Эм", "N": "Эн", "O": "О", "P": "Пэ",
    "Q": "Ку", "R": "Эр", "S": "Эс", "T": "Тэ", "U": "У", "V": "Вэ", "W": "Дубль-вэ",
    "X": "Икс", "Y": "Игрек", "Z": "Зэт",
}  # fmt: skip
_RU_CYRILLIC = {
    "А": "А", "Б": "Бэ", "В": "Вэ", "Г": "Гэ", "Д": "Дэ", "Е": "Е", "Ё": "Ё", "Ж": "Жэ",
    "З": "Зэ", "И": "И", "Й": "И краткое", "К": "Ка", "Л": "Эль", "М": "Эм", "Н": "Эн",
    "О": "О", "П": "Пэ", "Р": "Эр", "С": "Эс", "Т": "Тэ", "У": "У", "Ф": "Эф", "Х": "Ха",
    "Ц": "Цэ", "Ч": "Чэ", "Ш": "Ша", "Щ": "Ща", "Э": "Э", "Ю": "Ю", "Я": "Я",
    "Ў": "У краткое", "Қ": "Ка", "Ғ": "Гэ", "Ҳ": "Ха",
}  # fmt: skip
# The Uzbek alphabet's own letter names, and the Cyrillic letters by their Uzbek reading.
_UZ_LATIN = {
    "A": "a", "B": "be", "C": "se", "D": "de", "E": "e", "F": "ef", "G": "ge", "H": "ha",
    "I": "i", "J": "je", "K": "ka", "L": "el", "M": "em", "N": "en", "O": "o", "P": "pe",
    "Q": "qa", "R": "er", "S": "es", "T": "te", "U": "u", "V": "ve", "W": "dubl-ve",
    "X": "xa", "Y": "ye", "Z": "ze",
}  # fmt: skip
_UZ_CYRILLIC = {
    "А": "a", "Б": "be", "В": "ve", "Г": "ge", "Д": "de", "Е": "ye", "Ё": "yo", "Ж": "je",
    "З": "ze", "И": "i", "Й": "y", "К": "ka", "Л": "el", "М": "em", "Н": "en", "О": "o",
    "П": "pe", "Р": "er", "С": "es", "Т": "te", "У": "u", "Ф": "ef", "Х": "xa", "Ц": "se",
    "Ч": "che", "Ш": "sha", "Щ": "sha", "Э": "e", "Ю": "yu", "Я": "ya", "Ў": "o'",
    "Қ": "qa", "Ғ": "g'a", "Ҳ": "ha",
}  # fmt: skip
# An English voice says a single Latin capital by its name; Cyrillic letters by their sound.
_EN_CYRILLIC = {
    "А": "A", "Б": "B", "В": "V", "Г": "G", "Д": "D", "Е": "E", "Ё": "Yo", "Ж": "Zh",
    "З": "Z", "И": "I", "Й": "Y", "К": "K", "Л": "L", "М": "M", "Н": "N", "О": "O", "П": "P",
    "Р": "R", "С": "S", "Т": "T", "У": "U", "Ф": "F", "Х": "Kh", "Ц": "Ts", "Ч": "Ch",
    "Ш": "Sh", "Щ": "Shch", "Э": "E", "Ю": "Yu", "Я": "Ya", "Ў": "O", "Қ": "Q", "Ғ": "Gh",
    "Ҳ": "H",
}  # fmt: skip

_TABLES = {
    "ru": {**_RU_LATIN, **_RU_CYRILLIC},
    "uz": {**_UZ_LATIN, **_UZ_CYRILLIC},
    "en": _EN_CYRILLIC,
}
_CODE = re.compile(r"^(.*?)[-\s]*0*(\d+)$")
# A room number's parts: its runs of digits and its runs of letters (anything else parts them).
_ROOM_PARTS = re.compile(r"[0-9]+|[^\W\d_]+")


def letter_names(language: str) -> dict[str, str]:
    """Each letter a prefix may hold, as a voice of ``language`` should say it."""
    return dict(_TABLES.get(language, {}))


def spoken_code(code: str, language: str) -> str:
    """``code`` (``T-006``) as the ``language`` voice should read it (``Тэ 6`` in Russian)."""
    match = _CODE.match(code or "")
    if not match:
        return code
    names = _TABLES.get(language, {})
    letters = [names.get(c.upper(), c) for c in match.group(1) if c.isalpha()]
    return " ".join([*letters, match.group(2)])


def spoken_room(room: str, language: str) -> str:
    """``room`` (``12А``) as the ``language`` voice should read it (``12 А`` in Russian): its
    digits as written, a single letter by its name, a longer run of letters as the word it is
    (``УЗИ``), the parts apart; ``room`` itself when it has neither digits nor letters."""
    parts = _ROOM_PARTS.findall(room or "")
    if not parts:
        return room or ""
    names = _TABLES.get(language, {})
    return " ".join(names.get(p.upper(), p) if len(p) == 1 and p.isalpha() else p for p in parts)
