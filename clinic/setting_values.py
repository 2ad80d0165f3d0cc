"""How one setting's value is read from the environment: switches, whole numbers, name=value
pairs, rate limits and the database's and Redis's URLs, each refused at start with its
variable's name when it is malformed.
"""

from __future__ import annotations


class ConfigError(RuntimeError):
    """The environment does not describe a configuration the system may start with."""


TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")
# What redis-py, and with it the Celery broker, connects with: TCP, TLS, a unix socket.
REDIS_SCHEMES = ("redis", "rediss", "unix")


def switch(env: dict, name: str, default: bool) -> bool:
    """A switch: empty is ``default``; a word neither on nor off (a typo) is refused by name
    rather than read as off (``CLINIC_SMTP_STARTTLS=ture`` would send the password in clear)."""
    value = (env.get(name) or "").strip().lower()
    if not value:
        return default
    if value not in (*TRUE_WORDS, *FALSE_WORDS):
        raise ConfigError(
            f"{name} must be one of {', '.join(TRUE_WORDS)} or {', '.join(FALSE_WORDS)},"
            f" got {value!r}"
        )
    return value in TRUE_WORDS


def flask_debug(env: dict) -> bool:
    """Whether Flask turns its debug mode on: it does for any FLASK_DEBUG but empty, 0,
    false and no (flask.helpers.get_debug_flag, which strips nothing), so "y", "2" or " 0"
    is on too."""
    value = env.get("FLASK_DEBUG") or ""
    return value.lower() not in ("", "0", "false", "no")


def whole_number(
    env: dict, name: str, default: int, least: int | None = None, most: int | None = None
) -> int:
    """A whole number; one past ``least`` or ``most`` stops the start, naming the setting."""
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc
    if (least is not None and value < least) or (most is not None and value > most):
        bounds = f"from {least} to {most}" if most is not None else f"at least {least}"
        raise ConfigError(f"{name} must be {bounds}, got {raw!r}")
    return value


def pairs(env: dict, name: str, separator: str) -> dict[str, str]:
    """``a=x,b=y`` -> ``{"a": "x", "b": "y"}``."""
    found = {}
    for item in env.get(name, "").split(separator):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"{name} must be name=value pairs, got {item.strip()!r}")
        if key.strip().lower() in found:
            # Kept silently, the last would stand alone: a second key or network of a name
            # (a key being rotated, another office) would be refused at every call.
            raise ConfigError(f"{name} names {key.strip().lower()!r} twice: give it once")
        found[key.strip().lower()] = value.strip()
    return found


def rate_limit(env: dict, name: str, default: str) -> str:
    """A rate limit as Flask-Limiter reads it (``600 per minute``), checked at start."""
    from limits import parse_many

    value = env.get(name, "").strip() or default
    try:
        parse_many(value)
    except ValueError as exc:
        raise ConfigError(f"{name} is not a rate limit like '600 per minute': {value!r}") from exc
    return value


def usable_database_url(name: str, url: str) -> str:
    """``url`` when SQLAlchemy can open PostgreSQL or SQLite with it and the driver it names
    is installed; otherwise the start stops, naming the setting. The URL is never repeated:
    it may hold a password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    example = "postgresql://user:password@host/clinic, or sqlite:///path/to/clinic.sqlite3"
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: a port that is not a number
        raise ConfigError(f"{name} is not a database URL like {example} ({exc})") from None
    if parsed.get_backend_name() not in ("postgresql", "sqlite"):
        raise ConfigError(f"{name} must name PostgreSQL or SQLite, like {example}")
    try:
        parsed.get_dialect().import_dbapi()
    except ImportError:
        raise ConfigError(
            f"{name} names the driver {parsed.get_driver_name()!r}, which is not installed:"
            f" leave it out, like {example}"
        ) from None
    return url


def usable_redis_url(name: str, url: str) -> str:
    """``url`` when redis-py (and with it the Celery broker) can read it; otherwise the start
    stops, naming the setting (not repeating the URL, which may hold a password)."""
    from redis.connection import parse_url

    example = "redis://host:6379/0, rediss://host:6380/0 or unix:///path/to/redis.sock"
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme not in REDIS_SCHEMES:
        raise ConfigError(f"{name} must be a Redis URL like {example}")
    try:
        parts = parse_url(url)
    except ValueError as exc:  # a port that is not a number, or out of range
        raise ConfigError(f"{name} is not a Redis URL like {example} ({exc})") from None
    if scheme == "unix" and not parts.get("path"):
        raise ConfigError(f"{name} names no socket: give its path, like {example}")
    return url
