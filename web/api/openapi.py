"""The OpenAPI document says what the server does: how to authenticate and which errors come.

Derived from the same declarations the server enforces, so a new endpoint is described the
day it is registered:

- security schemes (a bearer token; the session cookie, with the CSRF header for changes) and
  a ``security`` on every operation from its ``@requires``/``@public`` declaration;
- errors as ``application/problem+json`` (RFC 9457), and per operation the statuses it can
  answer: 400 (unparseable input), 401/403 (not public), 404 (an id in the path), 413/415/422
  (a body: also a change under /api/ that reads none, as web/api/bodies.py refuses one sent
  to it), 422 (a query parameter: every /api/ operation refuses those it does not read, see
  web/api/blueprint.py), 429 (rate limited), 503 (a dependency down);
- a summary on every operation (the view's docstring, or its name).
"""

from __future__ import annotations

import http
import threading

from apispec import BasePlugin
from flask import Flask
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from web.api.schemas import ProblemSchema
from web.errors import PROBLEM_TYPE
from web.permissions import PUBLIC, SIGNED_IN, declared_permission

BEARER = "bearerToken"
COOKIE = "sessionCookie"
CSRF = "csrfToken"
SECURITY_SCHEMES = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (`clk_...`) made at /account/tokens or with "
        "POST /api/v1/tokens.",
    },
    COOKIE: {
        "type": "apiKey",
        "in": "cookie",
        "name": "clinic_session",
        "description": "The session of a user signed in with POST /api/v1/session.",
    },
    CSRF: {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRFToken",
        "description": "With the session cookie, changes need GET /api/v1/session/csrf's token.",
    },
}
UNSAFE = {"post", "put", "patch", "delete"}
# Where the input guards apply (web/api/bodies.py, web/api/blueprint.py): the payment
# providers' endpoints (/payments/...) answer bad input in their own protocols.
API_PREFIX = "/api/"


class DeclaredBehaviour(BasePlugin):
    """Completes each operation from the endpoint's declarations (see the module docstring)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def _rate_limited(self, endpoint: str) -> bool:
        from flask_limiter.util import get_qualified_name

        from web.auth.limits import limiter

        # Flask-Limiter keeps the names of the views it decorated, and no public accessor.
        view = self.app.view_functions.get(endpoint)
        marked = getattr(limiter, "_marked_for_limiting", set())
        return view is not None and get_qualified_name(view) in marked

    def operation_helper(self, path=None, operations=None, **kwargs):
        rule = kwargs.get("rule")
        if rule is None or not operations:
            return
        permission = declared_permission(self.app, rule.endpoint)
        limited = self._rate_limited(rule.endpoint)
        for method, operation in operations.items():
            if method not in UNSAFE | {"get"}:
                continue
            responses = operation.setdefault("responses", {})
            for code, response in responses.items():
                # Declared with flask-smorest's default JSON type: errors are problem details.
                content = response.get("content") if isinstance(response, dict) else None
                if content and "application/json" in content and str(code)[0] in "45d":
                    content[PROBLEM_TYPE] = content.pop("application/json")
            statuses = {400, 503}
            if permission != PUBLIC:
                statuses.add(401)
                operation["security"] = [
                    {BEARER: []},
                    {COOKIE: [], CSRF: []} if method in UNSAFE else {COOKIE: []},
                ]
                if permission != SIGNED_IN:
                    statuses.add(403)
            else:
                operation["security"] = []
            if rule.arguments:
                statuses.add(404)
            guarded = rule.rule.startswith(API_PREFIX)
            if "requestBody" in operation or (guarded and method in UNSAFE):
                statuses |= {413, 415, 422}
            if guarded or any(p.get("in") == "query" for p in operation.get("parameters", [])):
                statuses.add(422)
            if limited:
                statuses.add(429)
            for status in sorted(statuses):
                if str(status) not in responses and status not in responses:
                    responses[str(status)] = http.HTTPStatus(status).name
            if not operation.get("summary"):
                operation["summary"] = (
                    rule.endpoint.rsplit(".", 1)[-1].replace("_", " ").capitalize()
                )


class ClinicApi(Api):
    """flask-smorest's Api with problem details for errors and the plugin above.

    A blueprint's routes are registered at once, its description in the document when the
    document is first read (``spec``): describing some three hundred operations is most of
    the cost of building the app, and a web worker that is never asked for the document
    never pays it. The order of the description is the order of registration."""

    ERROR_SCHEMA = ProblemSchema

    def __init__(self, *args, **kwargs) -> None:
        self._undescribed: list[tuple] = []
        self._describing = threading.Lock()
        self._spec = None
        super().__init__(*args, **kwargs)

    @property
    def spec(self):
        if self._undescribed:
            with self._describing:
                pending, self._undescribed = self._undescribed, []
                for blp, name, parameters in pending:
                    blp.register_views_in_doc(
                        self, self._app, self._spec, name=name, parameters=parameters
                    )
                    self._spec.tag({"name": name, "description": blp.description})
        return self._spec

    @spec.setter
    def spec(self, value) -> None:
        self._spec = value

    def register_blueprint(self, blp, *, parameters=None, **options):
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        with self._describing:
            self._undescribed.append((blp, name, parameters))

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
                prepare_response(response, self.spec, PROBLEM_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_TYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


def build_api(app: Flask) -> ClinicApi:
    api = ClinicApi(app, spec_kwargs={"extra_plugins": [DeclaredBehaviour(app)]})
    for name, scheme in SECURITY_SCHEMES.items():
        api.spec.components.security_scheme(name, scheme)
    return api
