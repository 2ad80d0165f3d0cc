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
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from clinic.payment_settings import (
    allowed_networks,
    payment_problems,
    payment_providers,
    webhook_secrets,
)
from clinic.public_url import production_problems, public_url
from clinic.setting_values import (
    ConfigError,
    flask_debug,
    rate_limit,
    switch,
    usable_database_url,
    usable_redis_url,
    whole_number,
)
from clinic.smtp_rules import plaintext_password_problem
from clinic.task_limits import visibility_problem

LANGUAGES = ("ru", "uz", "en")
ENVIRONMENTS = ("development", "production", "test")
LOG_FORMATS = ("json", "text")
# A file name, not a secret.
DEV_SECRET_FILE = "dev-secret-key"  # nosec B105
# argon2's memory floor: 8 MiB wherever people sign in. The test suite creates and signs in
# thousands of users; its hashes may cost less (the same algorithm, 0.5 ms instead of 6).
ARGON2_MIN_MEMORY_KIB = 8192
ARGON2_MIN_MEMORY_KIB_IN_TESTS = 1024
# How a development key begins (see _development_secret): production refuses such a key.
DEV_SECRET_PREFIX = "dev-"  # nosec B105
# What .env.example's example passwords say: production refuses a database, Flower or mail
# password saying it.
EXAMPLE_SECRET_MARK = "replace-me"  # nosec B105
# The longest a duration setting may be: past it a number is a slip (a digit too many,
# milliseconds for seconds), and far past it Python's dates and Redis's expiries overflow.
WEEK_SECONDS = 7 * 24 * 3600
WEEK_MINUTES = 7 * 24 * 60
MONTH_HOURS = 30 * 24
TEN_YEARS_DAYS = 3650
# One connection to a printer or a mail server waits at most an hour.
HOUR_SECONDS = 3600
# argon2's ceilings: 1 GiB of memory and 100 passes a sign-in are already far past any
# server's patience; the library itself overflows on numbers past 32 bits.
ARGON2_MAX_MEMORY_KIB = 1024 * 1024
ARGON2_MAX_TIME_COST = 100
# How long a printing worker's hold on its printer lasts unrenewed, unless the printing
# timeout asks for longer (see print_lease_seconds).
PRINT_LEASE_DEFAULT = 30
# Joins from a phone (POST /api/v1/public/queues/<id>/join) per calling address.
ONLINE_JOIN_RATE_LIMIT = "10 per minute;60 per hour"


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever spelling the URL came in: ``postgres://``, or
    another driver's (``postgresql+psycopg2://``, copied from another application's
    settings), which is not installed; psycopg 3 reads the same libpq URL."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower().partition("+")[0] in ("postgres", "postgresql"):
        return "postgresql+psycopg://" + rest
    return url


def _database_kind(url: str) -> str:
    """``sqlite``, ``postgresql`` or whatever else the URL's scheme names (no driver)."""
    return url.partition(":")[0].partition("+")[0].strip().lower()


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
    # Outgoing mail (receipts, visit notices and reminders): no host, no e-mail.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_cafile: str = ""  # PEM file of the CAs the server's certificate is checked against
    smtp_from: str = "clinic@localhost"
    smtp_timeout: int = 10
    # PostgreSQL connections each process keeps, and the most it opens at once: requests
    # beyond it wait their turn for one (docs/PERFORMANCE.md, the request path's fourth round).
    db_pool_size: int = 10
    # Rows an import commits at a time (with its progress): smaller means finer resumption.
    import_batch_size: int = 200
    # Visits: a cancellation this close to the visit is flagged late; a visit moves at most
    # this often; unarrived, a no-show this long after its start; reminders this long before.
    visits_late_cancel_hours: int = 24
    visits_max_moves: int = 3
    visits_no_show_grace_minutes: int = 30
    visits_reminder_hours: int = 24
    # Shown readiness details (hosts, errors, workers) with ``X-Health-Token``; empty: none.
    health_token: str = ""
    # A job attempt running longer than this is stopped and failed (and readiness says so).
    job_time_limit: int = 600
    # Attempts (retries and takeovers of a stalled job) before a job is failed for good.
    job_max_attempts: int = 10
    # "json" or "text"; empty: JSON in production, text elsewhere (clinic/logs.py).
    log_format: str = ""
    # The password (user ``metrics``, HTTP basic auth) that opens /metrics to a scraper;
    # empty: loopback callers only.
    metrics_token: str = ""
    # Reports: how long a sender holds a report delivery before another may take it over;
    # the first retry's wait (then doubling).
    reports_send_lease_seconds: int = 300
    reports_retry_base_seconds: int = 60
    # How long into the next day a shifts report waits for its period's open shifts to close.
    reports_open_shifts_wait_hours: int = 12
    database_is_default: bool = False
    secret_is_development: bool = False
    # Payment providers (see docs/payments.md, "Providers"). Which ones answer at all; a
    # provider without its secrets refuses every call (and production refuses to start).
    payment_providers: tuple[str, ...] = ()
    payme_merchant_id: str = ""
    payme_key: str = ""
    # The sandbox's key (test.paycom.uz), and whether Payme's calls are checked against it
    # (PAYME_TEST_MODE) rather than against the production key.
    payme_test_key: str = ""
    payme_test_mode: bool = False
    click_service_id: str = ""
    click_merchant_id: str = ""
    click_secret_key: str = ""
    # Standard Webhooks senders by name: {"acq": "whsec_..."}.
    webhook_secrets: dict = field(default_factory=dict)
    # Per provider ("payme", "click", a webhook sender): the networks it calls from, or any.
    provider_allowed_ips: dict = field(default_factory=dict)
    provider_rate_limit: str = "600 per minute"
    online_join_rate_limit: str = ONLINE_JOIN_RATE_LIMIT
    # Printing (docs/printing.md): a job whose printer does not answer is tried again with
    # backoff for this long, then fails visibly; one connection waits this long; a printing
    # worker's hold on a printer lapses this long after it was last renewed (a killed worker's
    # printer is taken over then). The public address of the clinic's pages: the tickets' QR
    # codes and the links in report e-mails open it.
    print_retry_seconds: int = 60
    print_timeout: int = 5
    print_lease_seconds: int = 30
    public_url: str = "http://localhost:5000"
    # gunicorn's worker processes and connections per worker (WEB_CONCURRENCY,
    # CLINIC_WEB_CONNECTIONS): read by web/gunicorn_conf.py, checked here before it starts.
    web_concurrency: int = 1
    web_connections: int = 2000
    extra: dict = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def payme_key_in_use(self) -> str:
        """The key Payme's calls are checked against (until a ChangePassword sets another):
        the sandbox's in test mode, else the production key."""
        return self.payme_test_key if self.payme_test_mode else self.payme_key

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
            # A development key copied over begins as one does. A random key may contain the
            # letters "dev" anywhere (one in some five hundred of 64 characters): not refused.
            # So is .env.example's, its prefix taken off ("example-replace-me-with-...").
            weak = (
                len(secret_key) < 32
                or secret_key.lower().startswith(DEV_SECRET_PREFIX)
                or EXAMPLE_SECRET_MARK in secret_key.lower()
            )
            if secret_is_development or weak:
                problems.append("SECRET_KEY must be set to a random value of 32+ characters")
            if database_is_default:
                problems.append("DATABASE_URL must be set")
            elif _database_kind(database_url) == "sqlite":
                # One file and one writer at a time, on one computer: `clinic run`'s database.
                problems.append(
                    "DATABASE_URL names SQLite, which is for development only:"
                    " production needs PostgreSQL (postgresql://user:password@host/clinic)"
                )
            elif _database_kind(database_url) != "postgresql":
                problems.append("DATABASE_URL must name PostgreSQL (postgresql://...)")
            elif EXAMPLE_SECRET_MARK in (urlsplit(database_url).password or ""):
                problems.append("DATABASE_URL has the example password: set POSTGRES_PASSWORD")
            if not redis_url:
                problems.append("REDIS_URL must be set")
            # Flask takes its debug mode from FLASK_DEBUG by itself, whatever starts the app.
            if flask_debug(env):
                problems.append("FLASK_DEBUG must be off")
            # Flower shows every task's arguments: an empty, short or example password is none.
            # Flower reads the setting itself as user:password pairs separated by commas, so a
            # comma in a password would make its first part the password.
            if not all(
                user and len(password) >= 12 and EXAMPLE_SECRET_MARK not in password
                for user, _, password in (
                    entry.partition(":")
                    for entry in env.get("FLOWER_BASIC_AUTH", "").strip().split(",")
                )
            ):
                problems.append(
                    "FLOWER_BASIC_AUTH must be set as user:password, the password 12+ characters"
                    " (several pairs separated by commas; a password holds no comma)"
                )
            if EXAMPLE_SECRET_MARK in env.get("CLINIC_SMTP_PASSWORD", ""):
                problems.append(
                    "CLINIC_SMTP_PASSWORD has .env.example's example password:"
                    " set the mailbox's own"
                )
            problems += payment_problems(env) + production_problems(env)
            if problems:
                raise ConfigError("refusing to start in production: " + "; ".join(problems))
        elif secret_is_development:
            secret_key = _development_secret(instance)

        database_url = usable_database_url("DATABASE_URL", database_url)
        if redis_url:
            redis_url = usable_redis_url("REDIS_URL", redis_url)
        print_timeout = whole_number(env, "CLINIC_PRINT_TIMEOUT", 5, 1, HOUR_SECONDS)
        # Longer than a job's longest send (connecting, the paper question a printer out of
        # paper is asked first, sending and the printer reading the job may each take the
        # timeout): a live worker's hold never lapses mid-job. Unset, it follows the timeout.
        lease_least = 4 * print_timeout + 1
        print_lease = whole_number(
            env,
            "CLINIC_PRINT_LEASE_SECONDS",
            max(PRINT_LEASE_DEFAULT, lease_least),
            1,
            WEEK_SECONDS,
        )
        if print_lease < lease_least:
            raise ConfigError(
                f"CLINIC_PRINT_LEASE_SECONDS must be at least {lease_least} (four times"
                f" CLINIC_PRINT_TIMEOUT and one: a worker still sending keeps its printer),"
                f" got {print_lease}"
            )
        log_format = env.get("CLINIC_LOG_FORMAT", "").strip().lower()
        if log_format not in ("", *LOG_FORMATS):
            raise ConfigError(f"CLINIC_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")

        origins = tuple(
            o.strip().rstrip("/")
            for o in env.get("CLINIC_ALLOWED_ORIGINS", "").split(",")
            if o.strip()
        )

        senders = webhook_secrets(env)
        try:
            address = public_url(env)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        settings = cls(
            env=mode,
            instance_path=instance,
            database_url=database_url,
            redis_url=redis_url,
            timezone=timezone,
            secret_key=secret_key,
            default_language=language,
            allowed_origins=origins,
            max_upload_bytes=whole_number(env, "CLINIC_MAX_UPLOAD_BYTES", 5 * 1024 * 1024, 1),
            worker_concurrency=whole_number(env, "CLINIC_WORKER_CONCURRENCY", 2, 1),
            job_stale_seconds=whole_number(env, "CLINIC_JOB_STALE_SECONDS", 60, 1, WEEK_SECONDS),
            broker_visibility_timeout=whole_number(
                env, "CLINIC_BROKER_VISIBILITY_TIMEOUT", 3600, 1, WEEK_SECONDS
            ),
            event_history_size=whole_number(env, "CLINIC_EVENT_HISTORY", 1000, 1),
            outbox_retention_days=whole_number(
                env, "CLINIC_OUTBOX_RETENTION_DAYS", 7, 1, TEN_YEARS_DAYS
            ),
            flower_basic_auth=env.get("FLOWER_BASIC_AUTH", "").strip() or None,
            redis_prefix=env.get("CLINIC_REDIS_PREFIX", "clinic").strip() or "clinic",
            session_idle_minutes=whole_number(
                env, "CLINIC_SESSION_IDLE_MINUTES", 30, 1, WEEK_MINUTES
            ),
            refund_approval_from=whole_number(env, "CLINIC_REFUND_APPROVAL_FROM", 50_000_000, 0),
            argon2_time_cost=whole_number(
                env, "CLINIC_ARGON2_TIME_COST", 3, 1, ARGON2_MAX_TIME_COST
            ),
            argon2_memory_kib=whole_number(
                env,
                "CLINIC_ARGON2_MEMORY_KIB",
                65536,
                ARGON2_MIN_MEMORY_KIB_IN_TESTS if mode == "test" else ARGON2_MIN_MEMORY_KIB,
                ARGON2_MAX_MEMORY_KIB,
            ),
            proxy_count=whole_number(env, "CLINIC_PROXY_COUNT", 0, 0),
            board_frame_ancestors=env.get("CLINIC_BOARD_FRAME_ANCESTORS", "").strip(),
            smtp_host=env.get("CLINIC_SMTP_HOST", "").strip(),
            smtp_port=whole_number(env, "CLINIC_SMTP_PORT", 25, 1, 65535),
            smtp_user=env.get("CLINIC_SMTP_USER", "").strip(),
            smtp_password=env.get("CLINIC_SMTP_PASSWORD", ""),
            smtp_starttls=switch(env, "CLINIC_SMTP_STARTTLS", False),
            smtp_ssl=switch(env, "CLINIC_SMTP_SSL", False),
            smtp_cafile=env.get("CLINIC_SMTP_CAFILE", "").strip(),
            smtp_from=env.get("CLINIC_SMTP_FROM", "").strip() or "clinic@localhost",
            smtp_timeout=whole_number(env, "CLINIC_SMTP_TIMEOUT", 10, 1, HOUR_SECONDS),
            import_batch_size=whole_number(env, "CLINIC_IMPORT_BATCH_SIZE", 200, 1),
            db_pool_size=whole_number(env, "CLINIC_DB_POOL_SIZE", 10, 1),
            visits_late_cancel_hours=whole_number(
                env, "CLINIC_VISITS_LATE_CANCEL_HOURS", 24, 0, MONTH_HOURS
            ),
            visits_max_moves=whole_number(env, "CLINIC_VISITS_MAX_MOVES", 3, 0),
            visits_no_show_grace_minutes=whole_number(
                env, "CLINIC_VISITS_NO_SHOW_GRACE_MINUTES", 30, 1, WEEK_MINUTES
            ),
            visits_reminder_hours=whole_number(
                env, "CLINIC_VISITS_REMINDER_HOURS", 24, 1, MONTH_HOURS
            ),
            health_token=env.get("CLINIC_HEALTH_TOKEN", "").strip(),
            job_time_limit=whole_number(env, "CLINIC_JOB_TIME_LIMIT", 600, 1, WEEK_SECONDS),
            job_max_attempts=whole_number(env, "CLINIC_JOB_MAX_ATTEMPTS", 10, 1),
            log_format=log_format,
            metrics_token=env.get("CLINIC_METRICS_TOKEN", "").strip(),
            reports_send_lease_seconds=whole_number(
                env, "CLINIC_REPORTS_SEND_LEASE_SECONDS", 300, 1, WEEK_SECONDS
            ),
            reports_retry_base_seconds=whole_number(
                env, "CLINIC_REPORTS_RETRY_BASE_SECONDS", 60, 1, WEEK_SECONDS
            ),
            reports_open_shifts_wait_hours=whole_number(
                env, "CLINIC_REPORTS_OPEN_SHIFTS_WAIT_HOURS", 12, 0, 48
            ),
            database_is_default=database_is_default,
            secret_is_development=secret_is_development,
            payment_providers=payment_providers(env, mode),
            payme_merchant_id=env.get("PAYME_MERCHANT_ID", "").strip(),
            payme_key=env.get("PAYME_KEY", "").strip(),
            payme_test_key=env.get("PAYME_TEST_KEY", "").strip(),
            payme_test_mode=switch(env, "PAYME_TEST_MODE", False),
            click_service_id=env.get("CLICK_SERVICE_ID", "").strip(),
            click_merchant_id=env.get("CLICK_MERCHANT_ID", "").strip(),
            click_secret_key=env.get("CLICK_SECRET_KEY", "").strip(),
            webhook_secrets=senders,
            provider_allowed_ips=allowed_networks(env, senders),
            provider_rate_limit=rate_limit(env, "CLINIC_PROVIDER_RATE_LIMIT", "600 per minute"),
            online_join_rate_limit=rate_limit(
                env, "CLINIC_ONLINE_JOIN_RATE_LIMIT", ONLINE_JOIN_RATE_LIMIT
            ),
            print_retry_seconds=whole_number(
                env, "CLINIC_PRINT_RETRY_SECONDS", 60, 0, WEEK_SECONDS
            ),
            print_timeout=print_timeout,
            print_lease_seconds=print_lease,
            web_concurrency=whole_number(env, "WEB_CONCURRENCY", 1, 1),
            web_connections=whole_number(env, "CLINIC_WEB_CONNECTIONS", 2000, 1),
            public_url=address,
        )
        problems = [
            visibility_problem(settings.job_time_limit, settings.broker_visibility_timeout),
            plaintext_password_problem(settings),
        ]
        if mode == "production" and any(problems):
            raise ConfigError(
                "refusing to start in production: " + "; ".join(filter(None, problems))
            )
        return settings


def _development_secret(instance: Path) -> str:
    """Generated once per instance folder and kept there, so sessions survive restarts."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / DEV_SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    key = DEV_SECRET_PREFIX + secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key
