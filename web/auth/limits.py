"""Rate limits (Flask-Limiter on Redis), shared by every web process."""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)

SIGN_IN_PER_ADDRESS = "20 per minute;200 per hour"


def storage_uri(redis_url: str) -> str:
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://") :]
    return redis_url


def init_app(app: Flask) -> None:
    settings = app.extensions["clinic"].settings
    app.config["RATELIMIT_STORAGE_URI"] = storage_uri(settings.effective_redis_url)
    app.config["RATELIMIT_KEY_PREFIX"] = f"{settings.redis_prefix}:limits"
    app.config["RATELIMIT_SWALLOW_ERRORS"] = True
    limiter.init_app(app)
