"""One input boundary for every request and every WebSocket message.

Text that no layer below can store or encode is refused here, before any view, service or
database sees it, as a 4xx naming the field:

- NUL characters (PostgreSQL refuses them in text and jsonb) in the path, the query, form
  fields (an uploaded file's name and type too) and JSON, keys included;
- lone UTF-16 surrogates (``"\\ud800"``) in JSON: valid JSON, but no UTF-8 encoding exists, so
  any write or response with them fails;
- JSON nested deeper than ``MAX_DEPTH`` (Python's parser would otherwise hit its recursion
  limit), or with a number longer than Python reads as one (its 4300 digits);
- JSON naming a key twice in one object (``{"amount": 1, "amount": 2}``), at any depth: a 400
  naming the key by its path (``items.0.amount``), where Python would keep the last value.

Text that passes is read in Unicode's composed form (NFC), JSON, query and form fields alike:
"й" sent as "и" and a combining breve is stored, compared and searched as the one letter
every keyboard types (see :func:`clinic.text.nfc`). Passwords are read as typed.

Endpoints that speak another system's protocol (``web.auth.own_protocol``: the payment
providers) check the same things themselves with :func:`check_document` and
:func:`storable`, and answer in that protocol.

The same parser serves the app's JSON provider, so a body read later by anything else
(``request.get_json``, the audit log) can never raise a RecursionError either.
"""

from __future__ import annotations

import json
import re

from flask import Request, abort, current_app, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

from clinic.jsonkeys import repeated_in, unique_keys
from clinic.text import nfc
from web.errors import problem
from web.permissions import speaks_own_protocol

MAX_DEPTH = 32
# Longer request targets are a 414 problem from the app; gunicorn's own limit (a bare HTML
# 414) is set above this in web/gunicorn_conf.py.
MAX_URI_BYTES = 4096
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Secrets are compared as they were typed: a password set before text was composed must
# still sign in, whatever form its letters were sent in.
AS_TYPED = frozenset({"password", "current_password", "new_password"})
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


class UnsafeInput(ValueError):
    """Input refused at the boundary: ``field`` names where (dotted path), ``message`` why."""

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        # The field's name is echoed back: never with the very characters refused.
        field = UNSTORABLE.sub("\ufffd", field)
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.status = status


def check_text(value: str, field: str, status: int = 422) -> None:
    """Refuse a NUL character or a lone surrogate in ``value``."""
    found = UNSTORABLE.search(value)
    if found is None:
        return
    if found.group() == "\x00":
        raise UnsafeInput(field, "must not contain NUL characters", status)
    raise UnsafeInput(field, "must be valid Unicode text (a lone surrogate was sent)", status)


def storable(value: str) -> str:
    """``value`` with what no layer below can store replaced by U+FFFD (for logging raw
    input that was refused)."""
    return UNSTORABLE.sub("\ufffd", value)


def check_document(document, root: str = "_schema") -> None:
    """Walk a decoded JSON document without recursion: depth, keys and every string, and (for
    one parsed with :func:`clinic.jsonkeys.unique_keys`) a key given twice in one object."""
    stack = [(document, "", 0)]
    while stack:
        node, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise UnsafeInput(path or root, f"nested deeper than {MAX_DEPTH} levels", 400)
        if isinstance(node, str):
            check_text(node, path or root)
        elif isinstance(node, dict):
            repeated = repeated_in(node)
            if repeated is not None:
                name = f"{path}.{repeated}" if path else repeated
                raise UnsafeInput(name, "is given more than once in its object", 400)
            for key, value in node.items():
                name = f"{path}.{key}" if path else str(key)
                check_text(key, name)
                stack.append((value, name, depth + 1))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                stack.append((value, f"{path}.{i}" if path else str(i), depth + 1))


def parse_json(text: str | bytes):
    """``json.loads`` that refuses, as ``UnsafeInput``, what the boundary refuses."""
    try:
        document = json.loads(text, object_pairs_hook=unique_keys)
    except RecursionError:
        raise UnsafeInput("_schema", f"nested deeper than {MAX_DEPTH} levels", 400) from None
    except UnicodeDecodeError:
        raise UnsafeInput("_schema", "must be UTF-8 text", 400) from None
    except json.JSONDecodeError:
        raise  # not JSON: answered as such by whoever reads it
    except ValueError:  # JSON, but a number longer than Python reads (4300 digits)
        raise UnsafeInput("_schema", "a number has too many digits", 400) from None
    check_document(document)
    if (text.isascii() and b"\\u" not in _as_bytes(text)) or document is None:
        return document  # no letter to compose, written or escaped
    return composed(document)


def _as_bytes(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")


def composed(document):
    """``document`` with every string and key in NFC (in place: a parser's fresh document),
    but passwords (``AS_TYPED``). Two keys of one object that compose to one are a key given
    twice (400)."""
    if isinstance(document, str):
        return nfc(document)
    stack = [(document, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            keys = [nfc(key) for key in node]
            if len(set(keys)) < len(keys):
                twice = next(key for i, key in enumerate(keys) if key in keys[:i])
                name = f"{path}.{twice}" if path else twice
                raise UnsafeInput(name, "is given more than once in its object", 400)
            if keys != list(node):
                values = list(node.values())
                node.clear()
                node.update(zip(keys, values))
            for key, value in node.items():
                if isinstance(value, str):
                    node[key] = value if key in AS_TYPED else nfc(value)
                elif isinstance(value, (dict, list)):
                    stack.append((value, f"{path}.{key}" if path else key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                if isinstance(value, str):
                    node[i] = nfc(value)
                elif isinstance(value, (dict, list)):
                    stack.append((value, f"{path}.{i}" if path else str(i)))
    return document


class ComposedMultiDict(ImmutableMultiDict):
    """Query and form fields (``Request.parameter_storage_class``) with their names and text
    in NFC, passwords as typed; uploads are kept as they are."""

    def __init__(self, mapping=None):
        if mapping is not None and not isinstance(mapping, dict):
            mapping = [
                (nfc(k), v if k in AS_TYPED or not isinstance(v, str) else nfc(v))
                for k, v in (mapping.items(multi=True) if hasattr(mapping, "items") else mapping)
            ]
        super().__init__(mapping)


class ClinicRequest(Request):
    """Query and form fields read composed, but those of an endpoint speaking another
    system's protocol (the payment providers): Click signs its fields exactly as it sends
    them, and they are checked as sent."""

    @property
    def parameter_storage_class(self):
        if speaks_own_protocol(current_app, self.endpoint):
            return ImmutableMultiDict
        return ComposedMultiDict


class AsciiIntegerConverter(IntegerConverter):
    """``<int:id>`` with ASCII digits only (werkzeug's ``\\d+`` also matches "１２３")."""

    regex = r"[0-9]+"


class ClinicJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider with the boundary's parser (UnsafeInput is a ValueError, which
    ``request.get_json`` turns into a 400, or ``None`` when silent)."""

    def loads(self, s, **kwargs):
        return parse_json(s)


def _refuse(error: UnsafeInput):
    title = "Bad request" if error.status == 400 else "Validation failed"
    abort(problem(error.status, title, str(error), {error.field: [error.message]}))


def _limit_chunked_body() -> None:
    """A chunked body is cut at the size limit without an error (werkzeug cannot tell a body
    of exactly the limit from a longer one): one that fills the limit is too large."""
    limit = request.max_content_length
    if limit is None or request.content_length is not None:
        return
    if "chunked" not in request.headers.get("Transfer-Encoding", "").lower():
        return
    if len(request.get_data(cache=True)) >= limit:
        if speaks_own_protocol(current_app, request.endpoint):
            return  # too large for it too: it refuses the body in its callers' protocol
        abort(413)


def check_request() -> None:
    """``before_request``: the URI's length and the body's size, the path, the query, form
    fields and uploads' names and types, and JSON."""
    target = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or ""
    if max(len(target), len(request.full_path.encode())) > MAX_URI_BYTES:
        abort(414)
    _limit_chunked_body()
    if speaks_own_protocol(current_app, request.endpoint):
        return  # it answers bad input in its callers' protocol (the payment providers)
    try:
        check_text(request.path, "path", 400)
        for key, values in request.args.lists():
            for value in [key, *values]:
                check_text(value, key)
        if request.mimetype in FORMS:
            for key, values in request.form.lists():
                for value in [key, *values]:
                    check_text(value, key)
            for key, uploads in request.files.lists():
                check_text(key, key)
                for upload in uploads:  # the name and type are kept with the file
                    check_text(upload.filename or "", key)
                    check_text(upload.content_type or "", key)
    except UnsafeInput as error:
        _refuse(error)
    if request.is_json and request.content_length != 0:
        raw = request.get_data(cache=True)
        if not raw:
            return
        try:
            parse_json(raw)
        except UnsafeInput as error:
            _refuse(error)
        except ValueError:
            return  # not JSON at all: the view's own parsing answers 400 as before
