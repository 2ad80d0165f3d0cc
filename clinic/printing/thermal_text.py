"""The texts of a thermal printer's paper in its code page (CP866 unless the printer is set
otherwise), each character printed as itself or as the nearest the page has, never as the
"?" python-escpos writes for one it lacks, and wrapped to the line.

Uzbek ʻ (U+02BB) is in no common code page and prints as "'"; a printer set to a code page
without Cyrillic (CP437) gets Cyrillic spelled in Latin letters rather than "????", and a
label, or a name the clinic gave in each language (a ticket's department), said in each
language once, however many of them read the same in Latin letters ("Karta", not
"Karta / Karta"). Texts are wrapped at word boundaries, a word longer than a line after a
hyphen in it before it is cut.
"""

from __future__ import annotations

import functools
import re
import textwrap
import unicodedata

from clinic.printing.templates import LABELS, say

# What the code pages lack, as the nearest character they have.
REPLACEMENTS = str.maketrans(
    {
        # The marks Uzbek Latin is typed with for its oʻ and gʻ (the acute accent "´" most
        # often on a keyboard without ʻ) and for its tutuq belgisi, and the single quotes (the
        # low one opens what ‘ closes, as „ opens “).
        **dict.fromkeys("ʻʼʽ‘’‚‛´′`‹›", "'"),
        **dict.fromkeys("«»“”„‟″", '"'),
        # The dashes: em, en, figure and the horizontal bar.
        **dict.fromkeys("—–‒―", "-"),
        # Uzbek Cyrillic letters CP866 and CP1251 lack (ў and Ў they have).
        **{"қ": "к", "Қ": "К", "ғ": "г", "Ғ": "Г", "ҳ": "х", "Ҳ": "Х"},
    }
)
CYRILLIC_CODE_PAGES = ("CP866", "CP1251")
# Cyrillic in Latin letters (the Uzbek way), for a printer whose code page has none.
_LATIN = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяўқғҳәөүңһұі",
        ["a", "b", "v", "g", "d", "e", "yo", "j", "z", "i", "y", "k", "l", "m", "n", "o", "p"]
        + ["r", "s", "t", "u", "f", "x", "ts", "ch", "sh", "sh", "'", "i", "", "e", "yu", "ya"]
        + ["o'", "q", "g'", "h"]
        # Karakalpak as its Latin alphabet writes it (Ótegenov), and the Kazakh ұ and і.
        + ["á", "ó", "ú", "ń", "h", "u", "i"],
    )
)
TRANSLITERATION = {
    **_LATIN,
    **{k.upper(): v[:1].upper() + v[1:] for k, v in _LATIN.items()},
    "№": "No",
}
# Control characters typed or pasted into a text (a tab, a carriage return, an ESC) would be
# commands to the printer: a line ends at a newline only, and the others print as spaces.
LINE_ENDS = re.compile(r"\r\n?")
CONTROLS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
# Invisible format characters (Unicode category Cf) a text pasted from a word processor or a
# spreadsheet carries: a soft hyphen, zero-width spaces and joiners, a byte order mark,
# direction marks. They show nothing on a screen and would print as "?".
FORMAT_CATEGORY = "Cf"


def printable(value: str, code_page: str = "CP866") -> str:
    """``value`` with the characters no code page has replaced by ones it has (and Cyrillic
    spelled in Latin letters for a code page without it), and no control character but the
    newline, nor any invisible format character."""
    value = "".join(c for c in value if unicodedata.category(c) != FORMAT_CATEGORY)
    # Composed first: a "й" or "ё" typed as a letter and its accent (as a Mac types it) is
    # the one letter every code page has, not a letter and an accent to drop.
    value = unicodedata.normalize("NFC", value)
    value = CONTROLS.sub(" ", LINE_ENDS.sub("\n", value))
    if (code_page or "CP866") not in CYRILLIC_CODE_PAGES:
        # Spelled before the nearest-letter replacements: Uzbek қ, ғ, ҳ have Latin letters of
        # their own (Қодирова is Qodirova, not Kodirova), which a Cyrillic page lacks.
        value = _in_latin(value)
    return _nearest(value.translate(REPLACEMENTS), code_page or "CP866")


# Letters without an accent to drop that the code pages lack, as their nearest ones: the
# Karakalpak and Kazakh Cyrillic ones as Russian letters (Өтегенов Әлішер as Отегенов
# Алишер; CP1251 has і and prints it), and the Latin ones of European names (Łukasz, Bjørn).
# Signs as their nearest letters, where the page lacks them (CP1251 has ® © ± € µ, CP437
# ± ≥ ≤ ½ ¼ µ: there they print as they are): "½" is "1⁄2" before this, "⁄" a slash; the
# micro sign is "mc", as "mcg" is written where "µg" could be read as "mg".
NEAREST = str.maketrans(
    {
        **{"ı": "i", "×": "x", "‑": "-", "‐": "-", "−": "-", "•": "*"},
        **dict(zip("ӘәӨөҮүҰұҢңІіҺһ", "АаОоУуУуНнИиХх")),
        **dict(zip("ŁłØøĐđĦħ", "LlOoDdHh")),
        **{"ß": "ss", "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe"},
        **{"®": "(R)", "©": "(C)", "±": "+/-", "≥": ">=", "≤": "<=", "⁄": "/", "€": "EUR"},
        **{"→": "->", "←": "<-", "μ": "mc"},
    }
)
# A character the code page cannot print in any form (an emoji, a letter of another script)
# is not printed, never as the "?" the printer would print: with the spaces beside it, it is
# one space between two printed words ("Терапия✚Кардиология", "Спасибо 🙂 Ждём"), none at
# a line's start or end.
_UNPRINTABLE = "\x00"
GAP = re.compile(r"(?: *\x00)+ *")


def _nearest(value: str, code_page: str) -> str:
    """``value`` with each character the code page lacks written as the nearest it has: a
    letter without its accent (Karakalpak Latin Ánvar, Ótegenov as Anvar, Otegenov), an
    accent with no letter of its own left out (Анва́р as Анвар), a sign as its nearest
    letters ("…" as "...", "≥" as ">="); see :data:`GAP` for what has none."""
    encoding = code_page.lower()
    out = []
    for char in value:
        if char.isascii() or _encodes(char, encoding):
            out.append(char)
            continue
        if unicodedata.category(char).startswith("M"):
            continue
        plain = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        ).translate(NEAREST)
        if not plain or not _encodes(plain, encoding):
            plain = _UNPRINTABLE
        elif plain[0].isdigit() and out and out[-1][-1:].isdigit():
            plain = " " + plain  # 1½ is "1 1/2", not "11/2"
        out.append(plain)
    text = "".join(out)
    return GAP.sub(_gap, text) if _UNPRINTABLE in text else text


def _gap(found: re.Match) -> str:
    text, start, end = found.string, found.start(), found.end()
    between = 0 < start and end < len(text) and "\n" not in (text[start - 1], text[end])
    return " " if between else ""


def _encodes(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeError:
        return False
    return True


def _in_latin(value: str) -> str:
    """Cyrillic spelled in Latin letters; a capital of two Latin letters is all capitals in
    a word written in capitals ("КОПИЯ" -> "KOPIYA", "Яхё" -> "Yaxyo")."""
    spelled = []
    for i, char in enumerate(value):
        latin = TRANSLITERATION.get(char, char)
        if len(latin) > 1 and char.isupper():
            letters = [c for c in value[max(i - 1, 0) : i] + value[i + 1 : i + 2] if c.isalpha()]
            if letters and all(c.isupper() for c in letters):
                latin = latin.upper()
        spelled.append(latin)
    return "".join(spelled)


# A number sign and its number are one word to the wrapping ("№" alone at a line's end, its
# number on the next, reads as two things): a no-break space, in each of the code pages,
# which the paper gets as a plain one.
NUMBER_SIGN = re.compile(r"(№|\bNo) (?=\S)")
NO_BREAK = "\xa0"
# A word longer than a line (a double surname on 58 mm) is broken after a hyphen before it is
# cut, as textwrap breaks at hyphens: after two letters and before a letter, so "7-уй" and a
# number ("26-0000001") never are. A word that fits keeps its hyphens as a non-breaking one
# while it is wrapped: "QR-коду" at a line's end goes whole to the next.
WORD = re.compile(r"[^ \t\n\r\x0b\x0c]+")
KEPT_HYPHEN = "\u2011"


def wrap(value: str, columns: int) -> list[str]:
    """``value`` in lines of at most ``columns`` characters, broken between words (a word
    longer than a line after a hyphen in it, or else cut), never between "№" and its
    number."""
    columns = max(columns, 1)
    lines: list[str] = []
    for paragraph in NUMBER_SIGN.sub(rf"\1{NO_BREAK}", value).split("\n"):
        paragraph = WORD.sub(lambda w: _kept_whole(w[0], columns), paragraph)
        lines += textwrap.wrap(paragraph, columns) or [""]
    return [line.replace(NO_BREAK, " ").replace(KEPT_HYPHEN, "-") for line in lines]


def _kept_whole(word: str, columns: int) -> str:
    return word if len(word) > columns else word.replace("-", KEPT_HYPHEN)


def said_once(value: str | list[str], code_page: str, languages) -> str:
    """``value`` as :func:`printable` writes it for ``code_page``; when it is, or begins
    with, a label as :func:`~clinic.printing.templates.say` joins it for ``languages``
    and then a word ("Чек / Chek № 26-0000001", "НДС / QQS 12%"), the label's words in a
    language that read as those of one before it once written for the page are said once
    ("Chek No 26-0000001" on CP437, where Чек is spelled Chek). A list is a name the clinic
    gave in each language (a ticket's department), said the same way: "Terapiya" on CP437
    for Терапия and Terapiya. Any other text is printed whole, " / " and all."""
    if not isinstance(value, str):
        return " / ".join(dict.fromkeys(printable(name, code_page) for name in value))
    for label, parts in _labels(tuple(languages)):
        rest = value[len(label) :]
        # The label whole, or before a word (a number, a rate), not before more "/" parts.
        if value.startswith(label) and (rest[:1] in ("", " ") and not rest.startswith(" / ")):
            once = dict.fromkeys(printable(part, code_page) for part in parts)
            return " / ".join(once) + printable(rest, code_page)
    return printable(value, code_page)


@functools.lru_cache(maxsize=8)
def _labels(languages: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """Each label said in more than one of ``languages``, as it is printed and in each
    language, the longest first (one label may begin another)."""
    labels = []
    for key in LABELS:
        parts = list(dict.fromkeys(say(key, (language,)) for language in languages))
        if len(parts) > 1 and " / ".join(parts) == say(key, languages):
            labels.append((" / ".join(parts), parts))
    return sorted(labels, key=lambda label: -len(label[0]))
