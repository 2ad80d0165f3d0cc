"""A price list row's problem, as the file reader and the import report it."""

from __future__ import annotations


class Reason(str):
    """A row's problem in the API's English words, with a stable ``code`` and the ``values``
    the words quote: the price list page says it in its own language by them."""

    code: str
    values: dict

    def __new__(cls, code: str, text: str, /, **values) -> "Reason":
        reason = super().__new__(cls, text)
        reason.code, reason.values = code, values
        return reason
