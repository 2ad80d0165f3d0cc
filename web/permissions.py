"""Every endpoint declares the permission it needs, or is marked public. Nothing else runs.

Views declare with ``@requires("reference.edit")`` or ``@public``. A ``before_request`` hook
looks the declaration up for the matched endpoint and asks the installed policy. An endpoint
without a declaration is refused (deny by default), so forgetting one cannot open a door.
"""

from __future__ import annotations

import logging

from flask import abort, current_app, request

log = logging.getLogger(__name__)

PUBLIC = "public"
SIGNED_IN = "signed-in"  # any signed-in user, whatever the role
ATTRIBUTE = "_clinic_permission"
# Set by web.auth.own_protocol: an endpoint another system calls in its own protocol.
OWN_PROTOCOL_ATTRIBUTE = "_clinic_own_protocol"

# Endpoints registered by libraries rather than by us, with the declaration they carry.
LIBRARY_ENDPOINTS = {
    "static": PUBLIC,
    "api-docs.openapi_json": PUBLIC,
    "api-docs.openapi_swagger_ui": PUBLIC,
    "swagger_ui.static": PUBLIC,
}


def requires(permission: str):
    """Declare that the view needs ``permission``."""

    def decorate(view):
        setattr(view, ATTRIBUTE, permission)
        return view

    return decorate


def signed_in(view):
    """Declare that the view is open to every signed-in user (their own account)."""
    setattr(view, ATTRIBUTE, SIGNED_IN)
    return view


def public(view):
    """Declare that the view is open to anyone, signed in or not."""
    setattr(view, ATTRIBUTE, PUBLIC)
    return view


def speaks_own_protocol(app, endpoint: str | None) -> bool:
    """Whether the endpoint answers its callers in their own protocol (payment providers):
    its Authorization header and its bad input are its own to answer."""
    return bool(view_attribute(app, endpoint, OWN_PROTOCOL_ATTRIBUTE))


def view_attribute(app, endpoint: str | None, attribute: str):
    """An attribute a decorator set on the endpoint's view, looked for through every wrapper
    (and on a MethodView's class); None when no layer has it."""
    view = app.view_functions.get(endpoint) if endpoint else None
    while view is not None:
        found = getattr(view, attribute, None)
        if found is None and hasattr(view, "view_class"):
            found = getattr(view.view_class, attribute, None)
        if found is not None:
            return found
        view = getattr(view, "__wrapped__", None)
    return None


def declared_permission(app, endpoint: str | None) -> str | None:
    if endpoint in LIBRARY_ENDPOINTS:
        return LIBRARY_ENDPOINTS[endpoint]
    return view_attribute(app, endpoint, ATTRIBUTE)


def allow_everything(permission: str) -> None:
    """The policy until users and roles exist: every declared permission is granted."""


def is_preflight() -> bool:
    """A browser's CORS preflight: an OPTIONS asking whether it may send a call, without the
    call's credentials. Flask answers it itself (the methods of the address; CORS adds its
    headers for a listed origin) and no view runs, so it needs no permission; refused, it
    would stop every call of a listed origin with a token (docs/security.md)."""
    return (
        request.method == "OPTIONS"
        and "Access-Control-Request-Method" in request.headers
        and bool(getattr(request.url_rule, "provide_automatic_options", False))
    )


def enforce() -> None:
    """``before_request``: refuse what the endpoint's declaration and the policy refuse."""
    if request.url_rule is None:  # 404 and 405 are answered by their own handlers
        return
    if is_preflight():
        return
    permission = declared_permission(current_app, request.endpoint)
    if permission is None:
        log.error("endpoint %s declares no permission; refused", request.endpoint)
        abort(403, description="this endpoint declares no permission")
    if permission == PUBLIC:
        return
    policy = current_app.extensions.get("clinic.policy", allow_everything)
    policy(permission)
