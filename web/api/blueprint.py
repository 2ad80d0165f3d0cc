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
from flask import abort
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import MultiDict

from web.errors import problem

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
