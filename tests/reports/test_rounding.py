"""Rates and minutes are rounded to a tenth with halves up, as a manager rounds by hand and
as a spreadsheet's ROUND does: 1 no-show of 16 visits is 6.3 %, not 6.2 %."""

from __future__ import annotations

from clinic.reports import output
from clinic.reports.common import minutes, rate
from tests.reports.test_output import COLUMNS


def test_rates_round_halves_up_to_a_tenth():
    assert rate(1, 16) == 6.3  # 6.25
    assert rate(3, 16) == 18.8  # 18.75
    assert (rate(1, 3), rate(2, 3), rate(0, 5), rate(5, 5)) == (33.3, 66.7, 0.0, 100.0)
    assert rate(1, 0) is None


def test_minutes_round_halves_up_to_a_tenth():
    assert minutes(375) == 6.3  # 6.25 minutes
    assert minutes(375.0) == 6.3
    assert (minutes(0), minutes(90), minutes(None)) == (0.0, 1.5, None)


def test_the_total_rows_rate_rounds_the_same_way():
    totals = output.Totals(COLUMNS)
    totals.add(("d1", 10, 1, 10.0, None, 0))
    totals.add(("d2", 6, 0, 0.0, None, 0))
    assert totals.row("en")[3] == 6.3  # 1 of 16
