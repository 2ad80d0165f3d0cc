"""Money formatting: integer tiyin shown as sums in each interface language."""

from __future__ import annotations

import pytest

from clinic.money import currency_unit, format_amount, format_money


@pytest.mark.parametrize(
    "language, expected",
    [
        ("ru", "150 000,00 сўм"),
        ("uz", "150 000,00 so'm"),
        ("en", "150,000.00 UZS"),
    ],
)
def test_a_price_in_tiyin_reads_as_sums_in_each_language(language, expected):
    assert format_money(15_000_000, language) == expected


@pytest.mark.parametrize(
    "tiyin, expected",
    [
        (0, "0,00"),
        (1, "0,01"),
        (99, "0,99"),
        (100, "1,00"),
        (12_345, "123,45"),
        (100_000, "1 000,00"),
        (99_999_999, "999 999,99"),
        (123_456_789_01, "123 456 789,01"),
        (10**12, "10 000 000 000,00"),
    ],
)
def test_thousands_are_grouped_and_tiyin_always_has_two_digits(tiyin, expected):
    assert format_amount(tiyin, "ru") == expected


def test_a_negative_amount_keeps_its_sign_in_front():
    assert format_money(-250_050, "en") == "-2,500.50 UZS"
    assert format_money(-5, "uz") == "-0,05 so'm"


def test_an_unknown_language_is_written_the_russian_way():
    assert format_money(150_000, "de") == "1 500,00 сўм"
    assert currency_unit("xx") == "сўм"


@pytest.mark.parametrize("not_tiyin", [1500.0, "1500", None, True])
def test_anything_but_integer_tiyin_is_refused(not_tiyin):
    with pytest.raises(TypeError):
        format_money(not_tiyin, "ru")


def test_a_huge_amount_is_exact_to_the_tiyin():
    # Far beyond float precision: integer arithmetic keeps the last tiyin.
    assert format_amount(123_456_789_012_345_678_91, "en") == "123,456,789,012,345,678.91"
