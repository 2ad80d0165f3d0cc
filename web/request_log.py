"""Every log line written while a request is served carries that request's id."""

from __future__ import annotations

from flask import Flask, g, request_started

from clinic.logs import bind_request_id, reset_request_id
from web.auth.audit import request_id


def _bind(sender, **_extra) -> None:
    g.log_request_token = bind_request_id(request_id())


def _unbind(_exc=None) -> None:
    token = g.pop("log_request_token", None)
    if token is not None:
        try:
            reset_request_id(token)
        except ValueError:  # torn down in another context than it was set in
            bind_request_id(None)


def init_app(app: Flask) -> None:
    request_started.connect(_bind, app)
    app.teardown_request(_unbind)
