"""A decimal typed in a whole-number field (the token's "Valid for (days)") is refused by the
browser in the page's language, from the texts the page gives the layout's script, not in the
browser's own words. Run by Playwright's Node.js with a stand-in page, no browser."""

from __future__ import annotations

import json

from tests.web.page_scripts import run, script

TEXTS = {
    "required": "Заполните это поле.",
    "number": "Введите число.",
    "wholeNumber": "Введите целое число.",
    "atLeast": "Не меньше {n}.",
    "atMost": "Не больше {n}.",
}


def _said(field: dict) -> str | None:
    """What the layout's script has the field say when the browser refuses it (None: the
    browser's own words)."""
    program = (
        """
var window = globalThis, listeners = {};
var document = {
  querySelector: function () { return null; },
  getElementById: function (id) {
    return id === "validity-texts" ? {textContent: %s} : null;
  },
  addEventListener: function (type, fn) { listeners[type] = fn; },
};
window.document = document;
var said = null, given = %s;
var field = {type: given.type, tagName: "INPUT", validity: given.validity,
  getAttribute: function (name) { return name in given.attrs ? given.attrs[name] : null; },
  setCustomValidity: function (text) { said = text || null; }};
""" % (json.dumps(json.dumps(TEXTS)), json.dumps(field))
        + script("layout.js")
        + """
listeners.invalid({target: field});
process.stdout.write(JSON.stringify(said));
"""
    )
    return run(program)


def _number(attrs: dict, **validity) -> dict:
    return {"type": "number", "attrs": attrs, "validity": {"valid": False, **validity}}


def test_a_decimal_in_a_whole_number_field_is_refused_in_the_page_language():
    days = {"min": "1", "max": "366"}
    assert _said(_number(days, stepMismatch=True)) == "Введите целое число."
    assert _said(_number({**days, "step": "1"}, stepMismatch=True)) == "Введите целое число."


def test_a_field_of_another_step_keeps_the_browsers_words_for_it():
    assert _said(_number({"step": "0.01"}, stepMismatch=True)) is None
    assert _said(_number({"step": "5"}, stepMismatch=True)) is None


def test_the_other_refusals_of_a_number_field_are_said_as_before():
    assert _said(_number({"min": "1"}, rangeUnderflow=True)) == "Не меньше 1."
    assert _said(_number({"max": "366"}, rangeOverflow=True)) == "Не больше 366."
    assert _said(_number({}, badInput=True)) == "Введите число."
