"""Money as people read it: integer tiyin shown as sums (1 UZS = 100 tiyin), per language.

Amounts are never floats: the whole sums and the tiyin are split with integer arithmetic, so
``15000000`` tiyin is exactly ``150 000 сум`` and nothing is ever rounded. Prices in sums are
almost always whole, and a reader does not expect ``,00`` after them: the tiyin are written
only when there are some (``50,50 сум``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

TIYIN_PER_SUM = 100


@dataclass(frozen=True)
class MoneyStyle:
    """How one language writes an amount of sums."""

    group_separator: str
    decimal_separator: str
    unit: str


# Russian and Uzbek group thousands with a space and write the tiyin after a comma, as on
# Uzbek receipts. The unit is the word each language's reader knows: "сум" in Russian (the
# Uzbek Cyrillic "сўм" is not a Russian word), "so'm" in Uzbek Latin, the ISO code in English.
STYLES = {
    "ru": MoneyStyle(" ", ",", "сум"),
    "uz": MoneyStyle(" ", ",", "so'm"),
    "en": MoneyStyle(",", ".", "UZS"),
}
DEFAULT_LANGUAGE = "ru"


def _style(language: str) -> MoneyStyle:
    return STYLES.get(language, STYLES[DEFAULT_LANGUAGE])


def _group(digits: str, separator: str) -> str:
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return separator.join(parts)


def format_amount(tiyin: int, language: str = DEFAULT_LANGUAGE) -> str:
    """The amount in sums, grouped for ``language``, without a unit: ``150 000`` for whole
    sums, ``50,50`` when there are tiyin (always two digits then).

    Unknown languages are written the Russian way. Refuses anything but an integer, so a
    float price cannot slip through unnoticed.
    """
    if isinstance(tiyin, bool) or not isinstance(tiyin, int):
        raise TypeError(f"money is integer tiyin, got {type(tiyin).__name__}")
    style = _style(language)
    sums, rest = divmod(abs(tiyin), TIYIN_PER_SUM)
    sign = "-" if tiyin < 0 else ""
    fraction = f"{style.decimal_separator}{rest:02d}" if rest else ""
    return f"{sign}{_group(str(sums), style.group_separator)}{fraction}"


def currency_unit(language: str = DEFAULT_LANGUAGE) -> str:
    """The word or code that follows an amount in ``language``."""
    return _style(language).unit


def format_money(tiyin: int, language: str = DEFAULT_LANGUAGE) -> str:
    """``15000000`` -> ``"150 000 сум"`` (ru), ``"150 000 so'm"`` (uz), ``"150,000 UZS"``
    (en); ``5050`` -> ``"50,50 сум"``."""
    return f"{format_amount(tiyin, language)} {currency_unit(language)}"


def money_style(language: str = DEFAULT_LANGUAGE) -> dict:
    """The style of ``language`` for a page's script, which formats amounts the same way
    (``group_separator``, ``decimal_separator``, ``unit``)."""
    return asdict(_style(language))
