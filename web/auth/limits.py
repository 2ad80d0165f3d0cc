"""Rate limits (Flask-Limiter on Redis), shared by every web process.

Every counter sits under the installation's ``CLINIC_REDIS_PREFIX`` (``<prefix>:limits:…``),
so installations and test runs sharing one Redis never share counters, and an operator
finds every key of an installation under its prefix.
"""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

SIGN_IN_PER_ADDRESS = "20 per minute;200 per hour"


def _failed(response) -> bool:
    return response.status_code == 401


limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)

# The form at /login and POST /api/v1/session are two doors to one check: failures through
# either count against the same budget of the address. (Each account has its own budget
# too, in the database: clinic.accounts.users locks it after repeated failures.)
sign_in_budget = limiter.shared_limit(SIGN_IN_PER_ADDRESS, scope="sign-in", deduct_when=_failed)


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
