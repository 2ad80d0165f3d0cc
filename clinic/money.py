"""Money as people read it: integer tiyin shown as sums (1 UZS = 100 tiyin), per language.

Amounts are never floats: the whole sums and the tiyin are split with integer arithmetic, so
``15000000`` tiyin is exactly ``150 000,00 сўм`` and nothing is ever rounded.
"""

from __future__ import annotations

from dataclasses import dataclass

TIYIN_PER_SUM = 100


@dataclass(frozen=True)
class MoneyStyle:
    """How one language writes an amount of sums."""

    group_separator: str
    decimal_separator: str
    unit: str


# Russian and Uzbek group thousands with a space and write the tiyin after a comma, as on
# Uzbek receipts; the Russian texts use the currency's official Cyrillic spelling.
STYLES = {
    "ru": MoneyStyle(" ", ",", "сўм"),
    "uz": MoneyStyle(" ", ",", "so'm"),
    "en": MoneyStyle(",", ".", "UZS"),
}
DEFAULT_LANGUAGE = "ru"


def _group(digits: str, separator: str) -> str:
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return separator.join(parts)


def format_amount(tiyin: int, language: str = DEFAULT_LANGUAGE) -> str:
    """The amount in sums with two tiyin digits, grouped for ``language``, without a unit.

    Unknown languages are written the Russian way. Refuses anything but an integer, so a
    float price cannot slip through unnoticed.
    """
    if isinstance(tiyin, bool) or not isinstance(tiyin, int):
        raise TypeError(f"money is integer tiyin, got {type(tiyin).__name__}")
    style = STYLES.get(language, STYLES[DEFAULT_LANGUAGE])
    sums, rest = divmod(abs(tiyin), TIYIN_PER_SUM)
    sign = "-" if tiyin < 0 else ""
    return f"{sign}{_group(str(sums), style.group_separator)}{style.decimal_separator}{rest:02d}"


def currency_unit(language: str = DEFAULT_LANGUAGE) -> str:
    """The word or code that follows an amount in ``language``."""
    return STYLES.get(language, STYLES[DEFAULT_LANGUAGE]).unit


def format_money(tiyin: int, language: str = DEFAULT_LANGUAGE) -> str:
    """``15000000`` -> ``"150 000,00 сўм"`` (ru), ``"150 000,00 so'm"`` (uz),
    ``"150,000.00 UZS"`` (en)."""
    return f"{format_amount(tiyin, language)} {currency_unit(language)}"
