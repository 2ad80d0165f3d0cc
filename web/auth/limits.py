"""Rate limits (Flask-Limiter on Redis), shared by every web process.

Every counter sits under the installation's ``CLINIC_REDIS_PREFIX`` (``<prefix>:limits:…``),
so installations and test runs sharing one Redis never share counters, and an operator
finds every key of an installation under its prefix.
"""

from __future__ import annotations

import logging

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_qualified_name, get_remote_address

from web.auth.devices import known_device

log = logging.getLogger(__name__)

SIGN_IN_PER_ADDRESS = "20 per minute;200 per hour"
# Flask-Limiter's check of a request and its set of the views it decorated (private names).
LIMITER_CHECK = "_check_request_limit"
LIMITER_MARKED = "_marked_for_limiting"


def _failed(response) -> bool:
    return response.status_code == 401


limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)

# The form at /login and POST /api/v1/session are two doors to one check: failures through
# either count against the same budget of the address. (Each account has its own budget
# too, in the database: clinic.accounts.users locks it after repeated failures.) A device
# that has signed in as the user it names is exempt (web/auth/devices.py): the clinic's
# staff share one address, and a stranger's failures must not cost them their sign-in.
sign_in_budget = limiter.shared_limit(
    SIGN_IN_PER_ADDRESS, scope="sign-in", deduct_when=_failed, exempt_when=known_device
)


def storage_uri(redis_url: str) -> str:
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://") :]
    return redis_url


def key_prefix(redis_prefix: str) -> str:
    return f"{redis_prefix}:limits"


def init_app(app: Flask) -> None:
    settings = app.extensions["clinic"].settings
    app.config["RATELIMIT_STORAGE_URI"] = storage_uri(settings.effective_redis_url)
    app.config["RATELIMIT_STORAGE_OPTIONS"] = {"key_prefix": key_prefix(settings.redis_prefix)}
    app.config["RATELIMIT_SWALLOW_ERRORS"] = True
    limiter.init_app(app)
    _check_limited_views_only(app)


def _check_limited_views_only(app: Flask) -> None:
    """Flask-Limiter checks every request for limits; here only a few views carry one (and
    there are no default limits), so the others skip the check: it cost about 0.4 million
    instructions a request, 7% of the queue list's and 3% of issuing a ticket's. Whether a
    view carries limits is decided once per endpoint, when it is first asked."""
    # Flask-Limiter keeps its check and the names of the views it decorated, with no public
    # accessor. A release that names them otherwise keeps its own check of every request:
    # slower, never a limit left unchecked.
    check = getattr(limiter, LIMITER_CHECK, None)
    functions = app.before_request_funcs.setdefault(None, [])
    if not isinstance(getattr(limiter, LIMITER_MARKED, None), set) or check not in functions:
        log.warning("Flask-Limiter's internals changed: every request is checked for limits")
        return
    limited: dict[str | None, bool] = {}

    def carries_limits(endpoint: str | None) -> bool:
        if endpoint not in limited:
            view = app.view_functions.get(endpoint or "")
            marked = getattr(limiter, LIMITER_MARKED)
            limited[endpoint] = view is not None and get_qualified_name(view) in marked
        return limited[endpoint]

    def check_limited_views() -> None:
        if carries_limits(request.endpoint):
            check()

    functions[functions.index(check)] = check_limited_views
