"""Money formatting: integer tiyin shown as sums in each interface language."""

from __future__ import annotations

import pytest

from clinic.money import currency_unit, format_amount, format_money, money_style


@pytest.mark.parametrize(
    "language, expected",
    [
        ("ru", "150 000 сум"),
        ("uz", "150 000 so'm"),
        ("en", "150,000 UZS"),
    ],
)
def test_a_whole_price_reads_as_sums_without_tiyin_in_each_language(language, expected):
    assert format_money(15_000_000, language) == expected


@pytest.mark.parametrize(
    "language, expected",
    [
        ("ru", "50,50 сум"),
        ("uz", "50,50 so'm"),
        ("en", "50.50 UZS"),
    ],
)
def test_a_price_with_tiyin_shows_them_with_two_digits(language, expected):
    assert format_money(5_050, language) == expected


def test_the_russian_unit_is_the_russian_word_not_the_uzbek_cyrillic_one():
    assert currency_unit("ru") == "сум"
    assert "сўм" not in format_money(100, "ru")


@pytest.mark.parametrize(
    "tiyin, expected",
    [
        (0, "0"),
        (1, "0,01"),
        (99, "0,99"),
        (100, "1"),
        (12_345, "123,45"),
        (100_000, "1 000"),
        (99_999_999, "999 999,99"),
        (123_456_789_01, "123 456 789,01"),
        (10**12, "10 000 000 000"),
    ],
)
def test_thousands_are_grouped_and_tiyin_have_two_digits_when_there_are_any(tiyin, expected):
    assert format_amount(tiyin, "ru") == expected


def test_a_negative_amount_keeps_its_sign_in_front():
    assert format_money(-250_050, "en") == "-2,500.50 UZS"
    assert format_money(-5, "uz") == "-0,05 so'm"
    assert format_money(-500_000, "ru") == "-5 000 сум"


def test_an_unknown_language_is_written_the_russian_way():
    assert format_money(150_000, "de") == "1 500 сум"
    assert currency_unit("xx") == "сум"


def test_the_style_for_a_page_script_matches_the_server_formatting():
    assert money_style("uz") == {"group_separator": " ", "decimal_separator": ",", "unit": "so'm"}
    assert money_style("en")["group_separator"] == ","
    assert money_style("xx") == money_style("ru")


@pytest.mark.parametrize("not_tiyin", [1500.0, "1500", None, True])
def test_anything_but_integer_tiyin_is_refused(not_tiyin):
    with pytest.raises(TypeError):
        format_money(not_tiyin, "ru")


def test_a_huge_amount_is_exact_to_the_tiyin():
    # Far beyond float precision: integer arithmetic keeps the last tiyin.
    assert format_amount(123_456_789_012_345_678_91, "en") == "123,456,789,012,345,678.91"
