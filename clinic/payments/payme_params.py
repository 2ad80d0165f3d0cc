"""Reading the ``params`` of a Payme call: Payme's data types (Amount, Timestamp, ID,
Account), each refused by its name (``data``) when missing or mistyped."""

from __future__ import annotations

from clinic.payments.payme_errors import INVALID_REQUEST, WRONG_AMOUNT, PaymeError

MAX_ID_LENGTH = 64


def whole(params: dict, name: str, *, positive: bool = True) -> int:
    """A whole number (an Amount, a Timestamp): -32600 naming it otherwise."""
    value = params.get(name)
    if isinstance(value, float) and value.is_integer():
        # JSON has one kind of number: 500000.0 is the Amount 500000, as Payme's JavaScript
        # reads it. A fraction of a tiyin or of a millisecond is no Amount or Timestamp.
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or (positive and value <= 0):
        raise PaymeError(INVALID_REQUEST, name)
    if not -(2**62) <= value <= 2**62:  # beyond any column's reach (a 64-bit integer)
        raise PaymeError(INVALID_REQUEST, name)
    return value


def amount(params: dict) -> int:
    """Tiyin: not a whole number is a mistyped field (-32600); zero or less is a wrong
    amount (-31001), as any other amount but the one due."""
    value = whole(params, "amount", positive=False)
    if value <= 0:
        raise PaymeError(WRONG_AMOUNT, "amount")
    return value


def text(params: dict, name: str, *, refusal: int = INVALID_REQUEST) -> str:
    """A non-empty string of at most 64 characters (a Payme transaction's ID)."""
    value = params.get(name)
    if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
        raise PaymeError(refusal, name)
    return value


def account(params: dict) -> dict:
    """The ``account`` object (its fields are the clinic's to read)."""
    value = params.get("account")
    if not isinstance(value, dict):
        raise PaymeError(INVALID_REQUEST, "account")
    return value
