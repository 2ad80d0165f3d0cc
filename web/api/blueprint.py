"""The API's blueprint: flask-smorest's, with query strings read as strictly as bodies.

A body's unknown field is a 422 naming it; webargs ignores a query parameter the endpoint
does not read, so a typo (``pagesize=10``, ``dai=2026-03-01``) answered a full page or the
whole day as if it had been understood. Here it is a 422 naming the parameter too, and one
given twice that is not a list (``page=1&page=2``, which webargs read as its first) a 400
naming it, as a JSON key given twice is. ``lang`` (the language a page asks for, see
web/i18n.py) may come with any request.
"""

from __future__ import annotations

import flask_smorest
import marshmallow as ma
from flask import abort, current_app, request
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import MultiDict

from web.errors import problem
from web.permissions import view_attribute

EVERY_REQUESTS = ("lang",)


def _is_list(field) -> bool:
    return getattr(field, "is_multiple", isinstance(field, (ma.fields.List, ma.fields.Tuple)))


class StrictQueryParser(FlaskParser):
    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": ma.RAISE,
        "querystring": ma.RAISE,
    }

    def load_querystring(self, req, schema):
        read = {field.data_key or name: field for name, field in schema.fields.items()}
        for name, values in req.args.lists():
            if len(values) > 1 and not (name in read and _is_list(read[name])):
                message = "is given more than once"
                abort(problem(400, "Bad request", f"{name}: {message}", {name: [message]}))
        args = MultiDict(
            (name, value)
            for name, value in req.args.items(multi=True)
            if name in read or name not in EVERY_REQUESTS
        )
        return self._makeproxy(args, schema)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = StrictQueryParser()

    def arguments(self, schema, *args, **kwargs):
        """flask-smorest's, a schema class made its instance once: webargs makes an instance
        of a class on every request, and a schema's construction copies each of its fields.
        One instance serves every request, as our schemas keep nothing of one."""
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)


UNREAD = "Unknown field."


def refuse_unread_query() -> None:
    """``before_request``: an API endpoint that reads no query string (no query arguments
    declared) refuses a parameter as one that reads some refuses a parameter it does not
    read: 422 naming each (``lang`` aside). ``GET /api/v1/reports/dashboard?day=2026-03-01``
    answered today's figures as if the day had been understood."""
    if not request.args or request.method == "OPTIONS" or not request.path.startswith("/api/"):
        return
    if _reads_a_query(request.endpoint):
        return
    unread = [name for name in request.args if name not in EVERY_REQUESTS]
    if unread:
        errors = {name: [UNREAD] for name in unread}
        detail = "; ".join(f"{name}: {UNREAD}" for name in unread[:5])
        abort(problem(422, "Validation failed", detail, errors))


def _reads_a_query(endpoint: str | None) -> bool:
    """Whether the endpoint reads a query string (or is not one of the documented API's,
    whose queries are their own affair); decided once per endpoint of the application."""
    known = current_app.extensions.setdefault("clinic.reads_a_query", {})
    if endpoint not in known:
        doc = view_attribute(current_app, endpoint, "_apidoc")
        parameters = (doc or {}).get("arguments", {}).get("parameters", [])
        known[endpoint] = doc is None or any(p.get("in") == "query" for p in parameters)
    return known[endpoint]
