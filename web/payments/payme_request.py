"""Reading a call to the Payme endpoint: its key, its JSON-RPC body, and the answer's shape.

Payme's protocol has no HTTP errors: whatever cannot be read is answered as JSON-RPC with
HTTP 200, a body that is not JSON (or names a key twice) -32700 with no ``id`` to echo, one
declared as something other than JSON or holding text no column can store -32600.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re

from flask import current_app, request

from clinic.jsonkeys import repeated_key, unique_keys
from clinic.payments.payme_errors import INVALID_REQUEST, PARSE_ERROR, PaymeError
from web.api.inputs import UnsafeInput, check_document, storable

# A body declaring no type is read as JSON.
JSON_TYPES = ("", "application/json", "text/json")
# What the provider log shows in place of a key.
HIDDEN = "[hidden]"
# A "password" of a body that could not be read as one document (a key given twice, NaN):
# its text as written, escapes included.
_PASSWORD_TEXT = re.compile(rb'("password"\s*:\s*)"(?:[^"\\]|\\.)*"')


def answer(rpc_id, *, result=None, error: PaymeError | None = None) -> dict:
    if error is not None:
        return {"jsonrpc": "2.0", "id": rpc_id, "error": error.as_error()}
    return {"jsonrpc": "2.0", "id": rpc_id, "result": result}


def refused_unread(error: PaymeError, body_limit: int):
    """Payme's answer to a call refused before it is read (an address off the allow-list, a
    call past the rate limit): HTTP 200, the call's ``id`` echoed when its body (of at most
    ``body_limit`` bytes) shows one. Such calls are not kept in the provider log: a flood
    would fill it."""
    rpc_id = None
    if request.content_length is not None and request.content_length <= body_limit:
        _doc, rpc_id, _refused = read(request.get_data(cache=True))
    text = json.dumps(answer(rpc_id, error=error), ensure_ascii=False, separators=(",", ":"))
    return current_app.response_class(text, status=200, mimetype="application/json")


def credentials() -> bytes | None:
    """The decoded ``Authorization: Basic ...`` of the call, or None."""
    header = request.headers.get("Authorization", "")
    if header[:6].lower() != "basic ":
        return None
    try:
        return base64.b64decode(header[6:].strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def loggable(doc, body: bytes) -> bytes:
    """The body as the provider log keeps it: a ChangePassword's new key is not kept, nor
    any "password" of a body that does not read as one document (-32700: a key given twice
    or NaN in it), whatever method it names."""
    if not isinstance(doc, dict):
        return _PASSWORD_TEXT.sub(rb'\1"' + HIDDEN.encode() + rb'"', body)
    if doc.get("method") != "ChangePassword":
        return body
    params = doc.get("params")
    if not (isinstance(params, dict) and "password" in params):
        return body
    hidden = {**doc, "params": {**params, "password": HIDDEN}}
    # Text no column stores (a lone surrogate in another field) is kept as U+FFFD.
    return storable(json.dumps(hidden, ensure_ascii=False, separators=(",", ":"))).encode()


def _not_json(constant: str):
    """NaN and the infinities Python's parser reads: no JSON, and no jsonb column takes them."""
    raise ValueError(f"{constant} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400
        raise ValueError(f"{text} is beyond a double")
    return value


def _id(doc):
    """The request's ``id`` to echo: JSON-RPC's is a string or a number (``7.5`` too, which
    is answered as it came); None when there is none of those, or when it is text no answer
    can carry (a lone surrogate, which no UTF-8 body can hold: the call is -32600 by it)."""
    rpc_id = doc.get("id") if isinstance(doc, dict) else None
    if isinstance(rpc_id, bool) or not isinstance(rpc_id, (int, float, str)):
        return None
    if isinstance(rpc_id, str) and not _encodes(rpc_id):
        return None
    return rpc_id


def _encodes(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def read(body: bytes) -> tuple[object, object, PaymeError | None]:
    """The document, its ``id`` (None when there is none to echo) and the refusal it earns
    before any method runs, if any."""
    try:
        doc = json.loads(
            body, parse_constant=_not_json, parse_float=_finite, object_pairs_hook=unique_keys
        )
    except (ValueError, RecursionError):
        return None, None, PaymeError(PARSE_ERROR)
    repeated = repeated_key(doc)
    if repeated is not None:
        # {"id": 1, "id": 2} or two amounts: no one reading of the request, so no id to echo.
        return None, None, PaymeError(PARSE_ERROR, storable(repeated)[:100])
    rpc_id = _id(doc)
    if request.mimetype not in JSON_TYPES:
        return doc, rpc_id, PaymeError(INVALID_REQUEST, "Content-Type")
    try:
        check_document(doc)
    except UnsafeInput as unsafe:
        return doc, rpc_id, PaymeError(INVALID_REQUEST, storable(unsafe.field)[:100])
    return doc, rpc_id, None
