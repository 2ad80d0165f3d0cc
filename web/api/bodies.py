"""The API reads JSON bodies only, except the few endpoints that take a file upload.

Checked before anything reads the body (the CSRF check parses forms): a PATCH sent as a form
or as plain text would otherwise parse as "no fields" and answer 200 having understood
nothing.
"""

from __future__ import annotations

from flask import abort, current_app, request

from web.errors import problem
from web.permissions import view_attribute

UPLOAD_ATTRIBUTE = "_clinic_takes_upload"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def takes_upload(view):
    """Declare that the view takes multipart/form-data (a file), not JSON."""
    setattr(view, UPLOAD_ATTRIBUTE, True)
    return view


def _has_body() -> bool:
    return (
        bool(request.content_length)
        or "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    )


def require_json_bodies() -> None:
    """``before_request``: 415 for an API body that is neither JSON nor an expected upload."""
    if not request.path.startswith("/api/") or request.method not in UNSAFE or not _has_body():
        return
    if request.is_json:
        refuse_unread_fields()
        return
    upload = view_attribute(current_app, request.endpoint, UPLOAD_ATTRIBUTE)
    if upload and request.mimetype == "multipart/form-data":
        refuse_unread_parts()
        return
    abort(415, description="Send the body as application/json.")


def refuse_unread_parts() -> None:
    """An upload's body carries its files and nothing else, each once: a field it does not
    read (``dry_run=1``) or a second file under one name would otherwise be dropped without a
    word, and the import run as if they had been understood."""
    read = _upload_fields(request.endpoint)
    if not read <= set(request.files):
        return  # a file missing: the upload's schema refuses it, naming it
    twice = {
        name: ["given twice: send one file"]
        for name, files in request.files.lists()
        if name in read and len(files) > 1
    }
    if twice:
        abort(problem(400, "Bad request", "a file given twice", twice))
    # A page's form may carry its CSRF token as a field, as every form does.
    csrf = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    unread = {
        str(name): ["unknown field: this endpoint reads only " + ", ".join(sorted(read))]
        for name in [*request.form, *request.files]
        if name not in read and name != csrf
    }
    if unread:
        abort(problem(422, "Unprocessable Entity", "fields this endpoint does not read", unread))


def _upload_fields(endpoint: str | None) -> frozenset:
    """The file fields the endpoint's upload schema declares; decided once per endpoint."""
    known = current_app.extensions.setdefault("clinic.upload_fields", {})
    if endpoint not in known:
        doc = view_attribute(current_app, endpoint, "_apidoc") or {}
        names = set()
        for parameter in doc.get("arguments", {}).get("parameters", []):
            if parameter.get("in") == "files":
                schema = parameter["schema"]
                schema = schema() if isinstance(schema, type) else schema
                names.update(field.data_key or name for name, field in schema.fields.items())
        known[endpoint] = frozenset(names)
    return known[endpoint]


def refuse_unread_fields() -> None:
    """A JSON body sent to an endpoint that reads none (start a visit, close a shift, run the
    reconciliation) is refused when it carries fields, as a body's unknown fields are: a
    client that sends ``{"day": "2026-03-01"}`` means something the endpoint would not do.
    An empty object is no fields at all."""
    if _reads_a_body(request.endpoint):
        return
    if request.is_json and request.get_data(cache=True).strip():
        # A body that is not JSON is refused here (400), as an endpoint reading one refuses
        # it: taken for no body, ``{"reason": "x",}`` would cancel the invoice it was sent to.
        body = request.get_json()
        if body is None:  # ``null``: no more an empty body than ``[]`` is
            abort(problem(422, "Unprocessable Entity", "this endpoint takes no body",
                          {"_schema": ["this endpoint takes no body"]}))  # fmt: skip
    else:
        body = request.get_json(silent=True)
    if body is None or body == {}:
        return
    if isinstance(body, dict):
        errors = {str(name): ["unknown field: this endpoint takes no body"] for name in body}
    else:
        errors = {"_schema": ["this endpoint takes no body"]}
    abort(problem(422, "Unprocessable Entity", "this endpoint takes no body", errors))


def _reads_a_body(endpoint: str | None) -> bool:
    """Whether the endpoint reads a body (or is not one of the documented API's, whose
    bodies are their own affair); decided once per endpoint of the application."""
    known = current_app.extensions.setdefault("clinic.reads_a_body", {})
    if endpoint not in known:
        doc = view_attribute(current_app, endpoint, "_apidoc")
        parameters = (doc or {}).get("arguments", {}).get("parameters", [])
        known[endpoint] = doc is None or any(
            p.get("in") in ("json", "form", "files") for p in parameters
        )
    return known[endpoint]
