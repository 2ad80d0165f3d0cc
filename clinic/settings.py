"""One configuration object, read from the environment.

Development gets safe defaults (SQLite and an embedded Redis in the instance folder, a
secret key generated once and kept there). ``CLINIC_ENV=production`` refuses to start on
any of those defaults.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LANGUAGES = ("ru", "uz", "en")
ENVIRONMENTS = ("development", "production", "test")
LOG_FORMATS = ("json", "text")
# A file name, not a secret.
DEV_SECRET_FILE = "dev-secret-key"  # nosec B105


class ConfigError(RuntimeError):
    """The environment does not describe a configuration the system may start with."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _int(env: dict, name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever spelling the URL came in."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass(frozen=True)
class Settings:
    env: str
    instance_path: Path
    database_url: str
    redis_url: str | None
    timezone: str
    secret_key: str
    default_language: str
    allowed_origins: tuple[str, ...]
    max_upload_bytes: int
    worker_concurrency: int
    job_stale_seconds: int
    broker_visibility_timeout: int
    event_history_size: int
    outbox_retention_days: int
    flower_basic_auth: str | None
    redis_prefix: str = "clinic"
    session_idle_minutes: int = 30
    # Refunds above this many tiyin need a manager or an administrator (500,000 UZS).
    refund_approval_from: int = 50_000_000
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    proxy_count: int = 0
    board_frame_ancestors: str = ""
    # Rows an import commits at a time (with its progress): smaller means finer resumption.
    import_batch_size: int = 200
    # "json" or "text"; empty: JSON in production, text elsewhere (clinic/logs.py).
    log_format: str = ""
    # Bearer token that opens /metrics to a scraper; empty: loopback callers only.
    metrics_token: str = ""
    database_is_default: bool = False
    secret_is_development: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def embedded_redis_socket(self) -> Path:
        return self.instance_path / "redis.sock"

    @property
    def effective_redis_url(self) -> str:
        """The Redis URL to use: the configured one, or the embedded server's socket."""
        if self.redis_url:
            return self.redis_url
        return f"unix://{self.embedded_redis_socket}"

    @classmethod
    def from_env(cls, environ: dict | None = None) -> "Settings":
        env = dict(os.environ if environ is None else environ)
        mode = env.get("CLINIC_ENV", "development").strip().lower()
        if mode not in ENVIRONMENTS:
            raise ConfigError(f"CLINIC_ENV must be one of {', '.join(ENVIRONMENTS)}, got {mode!r}")
        instance = Path(env.get("CLINIC_INSTANCE", "instance")).resolve()

        database_url = env.get("DATABASE_URL", "").strip()
        database_is_default = not database_url
        if database_is_default:
            database_url = f"sqlite:///{instance / 'clinic.sqlite3'}"
        database_url = normalise_database_url(database_url)

        redis_url = env.get("REDIS_URL", "").strip() or None

        timezone = env.get("CLINIC_TZ", "Asia/Tashkent").strip()
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"CLINIC_TZ is not a known time zone: {timezone!r}") from exc

        language = env.get("CLINIC_DEFAULT_LANGUAGE", "ru").strip().lower()
        if language not in LANGUAGES:
            raise ConfigError(f"CLINIC_DEFAULT_LANGUAGE must be one of {', '.join(LANGUAGES)}")

        secret_key = env.get("SECRET_KEY", "").strip()
        secret_is_development = not secret_key
        if mode == "production":
            problems = []
            if secret_is_development or len(secret_key) < 32 or "dev" in secret_key.lower():
                problems.append("SECRET_KEY must be set to a random value of 32+ characters")
            if database_is_default:
                problems.append("DATABASE_URL must be set")
            if not redis_url:
                problems.append("REDIS_URL must be set")
            flower_auth = env.get("FLOWER_BASIC_AUTH", "").strip()
            if not flower_auth or ":" not in flower_auth:
                problems.append("FLOWER_BASIC_AUTH must be set as user:password")
            if problems:
                raise ConfigError("refusing to start in production: " + "; ".join(problems))
        elif secret_is_development:
            secret_key = _development_secret(instance)

        log_format = env.get("CLINIC_LOG_FORMAT", "").strip().lower()
        if log_format not in ("", *LOG_FORMATS):
            raise ConfigError(f"CLINIC_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")

        origins = tuple(
            o.strip().rstrip("/")
            for o in env.get("CLINIC_ALLOWED_ORIGINS", "").split(",")
            if o.strip()
        )

        return cls(
            env=mode,
            instance_path=instance,
            database_url=database_url,
            redis_url=redis_url,
            timezone=timezone,
            secret_key=secret_key,
            default_language=language,
            allowed_origins=origins,
            max_upload_bytes=_int(env, "CLINIC_MAX_UPLOAD_BYTES", 5 * 1024 * 1024),
            worker_concurrency=_int(env, "CLINIC_WORKER_CONCURRENCY", 2),
            job_stale_seconds=_int(env, "CLINIC_JOB_STALE_SECONDS", 60),
            broker_visibility_timeout=_int(env, "CLINIC_BROKER_VISIBILITY_TIMEOUT", 3600),
            event_history_size=_int(env, "CLINIC_EVENT_HISTORY", 1000),
            outbox_retention_days=_int(env, "CLINIC_OUTBOX_RETENTION_DAYS", 7),
            flower_basic_auth=env.get("FLOWER_BASIC_AUTH", "").strip() or None,
            redis_prefix=env.get("CLINIC_REDIS_PREFIX", "clinic").strip() or "clinic",
            session_idle_minutes=max(1, _int(env, "CLINIC_SESSION_IDLE_MINUTES", 30)),
            refund_approval_from=max(0, _int(env, "CLINIC_REFUND_APPROVAL_FROM", 50_000_000)),
            argon2_time_cost=max(1, _int(env, "CLINIC_ARGON2_TIME_COST", 3)),
            argon2_memory_kib=max(8192, _int(env, "CLINIC_ARGON2_MEMORY_KIB", 65536)),
            proxy_count=max(0, _int(env, "CLINIC_PROXY_COUNT", 0)),
            board_frame_ancestors=env.get("CLINIC_BOARD_FRAME_ANCESTORS", "").strip(),
            import_batch_size=max(1, _int(env, "CLINIC_IMPORT_BATCH_SIZE", 200)),
            log_format=log_format,
            metrics_token=env.get("CLINIC_METRICS_TOKEN", "").strip(),
            database_is_default=database_is_default,
            secret_is_development=secret_is_development,
        )


def _development_secret(instance: Path) -> str:
    """Generated once per instance folder and kept there, so sessions survive restarts."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / DEV_SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    key = "dev-" + secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key
