"""The cashier's script reads the amount she types as the page writes money, and refuses an
amount to pay above what is due, zero or not in whole tiyin before anything is sent. Run by
the Node.js that comes with Playwright (no browser, well under a second)."""

from __future__ import annotations

import json

import pytest

from clinic.money import money_style
from tests.web.page_scripts import run, script

SCRIPT = script("money.js")

# (typed, due) -> what the script makes of it, in Russian and Uzbek (150 000) and in English
# (150,000): the amount in tiyin, or the refusal's reason.
CASES = {
    "ru": [
        ("150 000", 150_000_00, {"amount": 150_000_00}),
        ("10 000", 150_000_00, {"amount": 10_000_00}),
        ("10 000,5", 150_000_00, {"amount": 10_000_50}),
        ("150\u00a0000,50", 150_000_50, {"amount": 150_000_50}),
        ("150 000,01", 150_000_00, {"refused": "above_due"}),
        ("150 000,555", 150_000_00, {"refused": "not_tiyin"}),
        ("150.000", 150_000_00, {"refused": "not_tiyin"}),
        ("-5", 150_000_00, {"refused": "not_tiyin"}),
        ("", 150_000_00, {"refused": "not_tiyin"}),
        ("0", 150_000_00, {"refused": "zero"}),
        ("0,00", 150_000_00, {"refused": "zero"}),
        # The largest invoice the clinic makes is read as the field writes it; beyond it,
        # no amount the clinic takes.
        ("10 000 000 000 000", 10**15, {"amount": 10**15}),
        ("9 999 999 999 999,99", 10**15, {"amount": 10**15 - 1}),
        ("10 000 000 000 000,01", 10**15, {"refused": "not_tiyin"}),
        ("99 999 999 999 999", 10**15, {"refused": "not_tiyin"}),
    ],
    "en": [
        ("150,000", 150_000_00, {"amount": 150_000_00}),
        ("1,250,000.50", 2_000_000_00, {"amount": 1_250_000_50}),
        ("10000.5", 150_000_00, {"amount": 10_000_50}),
        ("150,001", 150_000_00, {"refused": "above_due"}),
        ("150,000.555", 150_000_00, {"refused": "not_tiyin"}),
        ("15,00,000", 150_000_00, {"refused": "not_tiyin"}),
        ("0.00", 150_000_00, {"refused": "zero"}),
        ("10,000,000,000,000", 10**15, {"amount": 10**15}),
    ],
}
CASES["uz"] = CASES["ru"]


@pytest.mark.parametrize("language", sorted(CASES))
def test_the_amount_to_pay_is_read_as_the_page_writes_money_and_refused_before_sending(
    language,
):
    style = json.dumps(money_style(language))
    cases = json.dumps([case[:2] for case in CASES[language]])
    program = (
        "var window = globalThis;\n" + SCRIPT + "\n"
        f"var style = {style}, cases = {cases};"
        " var read = ClinicMoney.reader(style), write = ClinicMoney(style);"
        " process.stdout.write(JSON.stringify({"
        "  asked: cases.map(function (c) { return ClinicMoney.toPay(read, c[0], c[1]); }),"
        "  again: read(write(150000050).replace(' ' + style.unit, ''))"
        " }));"
    )
    answered = run(program)
    assert answered["asked"] == [expected for _, _, expected in CASES[language]]
    # The field's default (what is due, written the page's way) reads back as that amount.
    assert answered["again"] == 150_000_050
