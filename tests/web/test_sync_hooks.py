"""The application runs a plain function hook or view as it is, and asks Flask's own rule of
anything else: a coroutine function is never called as if it were plain."""

from __future__ import annotations

import functools

import pytest

from web import ClinicFlask


def plain():
    return "plain"


async def coroutine():
    return "coroutine"


def test_a_plain_function_is_run_as_it_is():
    app = ClinicFlask(__name__)
    assert app.ensure_sync(plain) is plain


@pytest.mark.parametrize(
    "func", [coroutine, functools.partial(coroutine)], ids=["function", "partial"]
)
def test_a_coroutine_function_is_not_taken_for_a_plain_one(func):
    app = ClinicFlask(__name__)
    try:
        made = app.ensure_sync(func)
    except RuntimeError as refused:  # Flask without its async extra says so
        assert "async" in str(refused)
        return
    assert made is not func and made() == "coroutine"
