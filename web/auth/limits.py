"""Rate limits (Flask-Limiter on Redis), shared by every web process."""

from __future__ import annotations

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

SIGN_IN_PER_ADDRESS = "20 per minute;200 per hour"


def _address_key() -> str:
    # The installation's Redis prefix is part of the key, so installations (and test runs)
    # sharing one Redis never share counters.
    return f"{current_app.extensions['clinic'].settings.redis_prefix}:{get_remote_address()}"


limiter = Limiter(
    key_func=_address_key, default_limits=[], headers_enabled=True, key_prefix="limits"
)


def storage_uri(redis_url: str) -> str:
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://") :]
    return redis_url


def init_app(app: Flask) -> None:
    settings = app.extensions["clinic"].settings
    app.config["RATELIMIT_STORAGE_URI"] = storage_uri(settings.effective_redis_url)
    app.config["RATELIMIT_SWALLOW_ERRORS"] = True
    limiter.init_app(app)
