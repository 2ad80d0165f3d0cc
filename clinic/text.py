"""Text rules shared by the domain: search keys across scripts, phone numbers, and text put
into a spreadsheet cell.

Names are typed in Russian Cyrillic, Uzbek Cyrillic and Uzbek Latin, often with whatever
apostrophe the keyboard offers. Every name is stored with a *search key* (its lower-case
Uzbek Latin spelling) and every query is turned into a key the same way, so "Каримов",
"karimov" and "KARIMOV" meet on "karimov".
"""

from __future__ import annotations

import re
import unicodedata

APOSTROPHE = "'"
# ʻ (U+02BB, the Uzbek letter sign), ʼ, ‘, ’, `, ´ and ′: all typed for the same sign.
APOSTROPHES = "\u02bb\u02bc\u2018\u2019`\u00b4\u2032'"

# Russian and Uzbek Cyrillic to Uzbek Latin (the 1995 alphabet), lower case. "е" is missing:
# it depends on its neighbour (see _cyrillic_e).
CYRILLIC_TO_LATIN = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "д": "d",
    "ё": "yo",
    "ж": "j",
    "з": "z",
    "и": "i",
    "й": "y",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "x",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "sh",
    "ъ": APOSTROPHE,
    "ы": "i",
    "ь": "",
    "э": "e",
    "ю": "yu",
    "я": "ya",
    "ў": "o" + APOSTROPHE,
    "қ": "q",
    "ғ": "g" + APOSTROPHE,
    "ҳ": "h",
}
CYRILLIC_VOWELS = set("аеёиоуэюяыў")
_SPACES = re.compile(r"\s+")
# What a one-line text (a name, a code, a title) cannot hold: a line break or a tab, which no
# form's field types and which would break the line of a ticket, a receipt or the board; and
# the invisible characters that only hide what a name says: control characters (a vertical
# tab a word processor pasted for its line break, an escape), zero-width spaces and joiners,
# the byte-order mark, and the marks that turn text around ("\u202eKarimov" shows "vomiraK").
NOT_ONE_LINE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
ONE_LINE = "Must be one line of text, without tabs or invisible characters."


def _cyrillic_e(previous: str) -> str:
    # "е" opens a syllable as "ye" at the start of a word and after a vowel or a sign:
    # Евгений -> yevgeniy, Васильев -> vasilyev, Шерзод -> sherzod.
    if not previous or not previous.isalpha() or previous in CYRILLIC_VOWELS or previous in "ъь":
        return "ye"
    return "e"


def nfc(text: str) -> str:
    """``text`` in Unicode's composed form (NFC): "й" sent as "и" and a combining breve (as
    some phones and pasted text send it) becomes the one letter a keyboard types, so a name
    is stored, shown and compared one way. Anything else is kept as typed, the apostrophe of
    "Oʻralov" included (search keys fold those)."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def search_key(text: str | None) -> str:
    """The lower-case Uzbek Latin spelling of ``text``, used to match names across scripts.

    Apostrophe look-alikes become ``'``; letters with accents lose them; anything that is
    not a letter, digit, apostrophe or hyphen separates words; runs of spaces become one.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFC", text).lower()
    out: list[str] = []
    previous = ""
    for char in text:
        if char in CYRILLIC_TO_LATIN:
            out.append(CYRILLIC_TO_LATIN[char])
        elif char == "е":
            out.append(_cyrillic_e(previous))
        elif char in APOSTROPHES:
            out.append(APOSTROPHE)
        elif char.isalnum() or char == "-":
            base = "".join(
                c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
            )
            out.append(base or char)
        else:
            out.append(" ")
        previous = char
    return _SPACES.sub(" ", "".join(out)).strip()


# Letters that Russian spelling of Uzbek names does not have: "Гулом" for "Ғулом", "Кодиров"
# for "Қодиров", "Хасанов" for "Ҳасанов", "Уткир" (Utkir) for "Ўткир" (O'tkir); and the
# letters Russian and passport spellings write with two or three: "Джамшид" (djamshid) and
# "Dzhamshid" for "Jamshid", "Bakhtiyor" for "Baxtiyor", "Zhanna" for "Жанна" (janna).
# Searching compares keys with these folded away (on both sides), so either spelling finds
# the other.
LOOSE_FOLDS = (
    ("zh", "j"),  # first: "Dzhamshid" (Джамшид spelled letter by letter) is "djamshid"
    ("dj", "j"),
    ("kh", "x"),
    ("o" + APOSTROPHE, "u"),
    (APOSTROPHE, ""),
    ("q", "k"),
    ("h", "x"),
)


def whole_number(raw, *, most_digits: int = 9) -> int | None:
    """``raw`` (text) as a whole number when it is 1 to ``most_digits`` ASCII digits, else
    None. ``str.isdigit`` alone also passes "²" and "١٢", which ``int`` refuses or reads."""
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= most_digits:
        return int(raw)
    return None


UZ_COUNTRY_CODE = "998"
# A "+" only before the first digit, a bracket before it allowed: "(+998) 90 123-45-67".
_PHONE_CHARS = re.compile(r"^[(\s]*\+?[0-9\s().-]+$")
# Dashes that a text editor or a web page writes for a hyphen (en and em dashes, a minus
# sign, a non-breaking hyphen): the same "-" to the eye, and in a pasted phone number.
PHONE_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
# Marks that show nothing, which a number copied from a phone's contacts or a messenger
# carries to keep it left to right (iOS: U+202A ... U+202C; Android: U+2068 ... U+2069;
# U+200E), and zero-width spaces and joiners, a byte order mark, a soft hyphen: dropped, as
# the patient who pasted the number cannot see them.
PHONE_INVISIBLE = (
    "\u00ad\u061c\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2066\u2067\u2068\u2069\ufeff"
)
_AS_HYPHENS = str.maketrans(PHONE_DASHES, "-" * len(PHONE_DASHES), PHONE_INVISIBLE)
_VISIBLE_ONLY = str.maketrans("", "", PHONE_INVISIBLE)


def visible_only(text: str) -> str:
    """``text`` without the marks that show nothing (:data:`PHONE_INVISIBLE`): a number
    copied from the contacts, as the number it shows."""
    return text.translate(_VISIBLE_ONLY)


class NotAPhone(ValueError):
    """Raised for text that is not an Uzbek phone number."""


def normalize_phone(text: str) -> str:
    """``text`` as ``+998XXXXXXXXX``; raises :class:`NotAPhone` when it is not one.

    Accepted: the nine-digit national number ("90 123 45 67"), the same with the country
    code ("998901234567", "+998 (90) 123-45-67"), the international prefix ("00998...") or
    the old long-distance prefix 8 many still write ("8 90 123 45 67": ten digits, no "+").
    Spaces, dots, hyphens (or the dashes pasted for them), brackets and the invisible marks a
    number copied from the contacts carries are ignored; a "+"
    comes before the number, in its bracket or not ("(+998) 90 ..."), and is followed by the
    country code: "+90 123 45 67" is dialled to Turkey, not to Uzbekistan.
    """
    if isinstance(text, str):
        text = text.translate(_AS_HYPHENS)
    if not isinstance(text, str) or not _PHONE_CHARS.match(text.strip()):
        raise NotAPhone("A phone number has only digits, spaces, +, -, ( and ).")
    digits = re.sub(r"[^0-9]", "", text)
    if len(digits) == 10 and digits[0] == "8" and "+" not in text:
        digits = digits[1:]
    if digits.startswith("00" + UZ_COUNTRY_CODE):
        digits = digits[2:]
    if "+" in text and not digits.startswith(UZ_COUNTRY_CODE):
        raise NotAPhone("Not an Uzbek phone number: a number written with + starts with +998.")
    if len(digits) == 12 and digits.startswith(UZ_COUNTRY_CODE):
        digits = digits[3:]
    if len(digits) != 9 or digits[0] == "0":
        raise NotAPhone("Not an Uzbek phone number: expected +998 and 9 digits.")
    return f"+{UZ_COUNTRY_CODE}{digits}"


def phone_digits(text: str) -> str:
    """Only the digits of ``text`` (for matching a partly typed number)."""
    return re.sub(r"[^0-9]", "", text or "")


# Spreadsheets run a cell starting with one of these as a formula (a tab or a carriage return
# first is skipped, and what follows it runs).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """``value`` as a CSV or XLSX cell may hold it: text that a spreadsheet would run as a
    formula is quoted with a leading apostrophe (names, references and user agents come from
    outside); other values are returned as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value
