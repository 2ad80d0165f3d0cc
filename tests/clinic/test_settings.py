"""One settings object from the environment; production refuses development defaults."""

from __future__ import annotations

import pytest

from clinic.settings import ConfigError, Settings

STRONG = "k" * 40


def prod_env(**overrides):
    env = {
        "CLINIC_ENV": "production",
        "SECRET_KEY": STRONG,
        "DATABASE_URL": "postgresql://clinic@db/clinic",
        "REDIS_URL": "redis://redis:6379/0",
        "FLOWER_BASIC_AUTH": "ops:long-flower-password",
        "CLINIC_PUBLIC_URL": "https://clinic.example.uz",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


def test_development_defaults_use_the_instance_folder(tmp_path):
    s = Settings.from_env({"CLINIC_INSTANCE": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'clinic.sqlite3'}"
    assert s.redis_url is None
    assert s.effective_redis_url == f"unix://{tmp_path / 'redis.sock'}"
    assert s.timezone == "Asia/Tashkent" and s.default_language == "ru"


def test_development_secret_is_generated_once_and_kept(tmp_path):
    first = Settings.from_env({"CLINIC_INSTANCE": str(tmp_path)}).secret_key
    second = Settings.from_env({"CLINIC_INSTANCE": str(tmp_path)}).secret_key
    assert first == second and len(first) > 40
    assert (tmp_path / "dev-secret-key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    "url",
    [
        "postgres://u@h/d",
        "postgresql://u@h/d",
        "postgresql+psycopg://u@h/d",
        # Another application's spelling, naming a driver that is not installed: psycopg 3
        # reads the same URL, rather than the first connection failing on a missing module.
        "postgresql+psycopg2://u@h/d",
        "postgresql+pg8000://u@h/d",
    ],
)
def test_postgres_urls_use_psycopg3(tmp_path, url):
    s = Settings.from_env({"CLINIC_INSTANCE": str(tmp_path), "DATABASE_URL": url})
    assert s.database_url == "postgresql+psycopg://u@h/d"


@pytest.mark.parametrize(
    "name, value, says",
    [
        ("DATABASE_URL", "garbage", "DATABASE_URL is not a database URL"),
        ("DATABASE_URL", "postgresql://u:S3cret@h:port/d", "DATABASE_URL is not a database URL"),
        ("DATABASE_URL", "mysql://u:S3cret@h/d", "DATABASE_URL must name PostgreSQL or SQLite"),
        ("DATABASE_URL", "sqlite+aiosqlite:///x.sqlite3", "DATABASE_URL names the driver"),
        ("REDIS_URL", "garbage", "REDIS_URL must be a Redis URL"),
        ("REDIS_URL", "http://u:S3cret@redis:6379/0", "REDIS_URL must be a Redis URL"),
        ("REDIS_URL", "redis://:S3cret@redis:port/0", "REDIS_URL is not a Redis URL"),
        ("REDIS_URL", "unix://", "REDIS_URL names no socket"),
    ],
)
def test_a_url_nothing_could_connect_with_stops_the_start_naming_it(tmp_path, name, value, says):
    """Said at start, in a line, rather than as a traceback from the first connection; the
    URL is not repeated, for the password it may hold."""
    with pytest.raises(ConfigError, match=says) as refused:
        Settings.from_env({"CLINIC_INSTANCE": str(tmp_path), name: value})
    assert "S3cret" not in str(refused.value)


@pytest.mark.parametrize(
    "url", ["redis://redis:6379/0", "rediss://:pw@redis:6380/1", "unix:///run/redis.sock"]
)
def test_every_kind_of_redis_url_is_taken(tmp_path, url):
    assert Settings.from_env({"CLINIC_INSTANCE": str(tmp_path), "REDIS_URL": url}).redis_url == url


def test_production_takes_a_random_key_that_happens_to_contain_dev(tmp_path):
    """Random keys contain the letters "dev" now and then; only a development key's own shape
    (its prefix) is refused."""
    key = "x7Q" + "Dev" + "k" * 40
    s = Settings.from_env(prod_env(CLINIC_INSTANCE=str(tmp_path), SECRET_KEY=key))
    assert s.secret_key == key


@pytest.mark.parametrize(
    "mode, floor", [("production", 8192), ("development", 8192), ("test", 1024)]
)
def test_argon2_memory_has_a_floor_that_only_the_test_suite_may_go_under(tmp_path, mode, floor):
    """Below its floor the memory is refused by name, not raised to the floor unsaid."""

    def memory(kib: int) -> int:
        env = prod_env(
            CLINIC_INSTANCE=str(tmp_path), CLINIC_ENV=mode, CLINIC_ARGON2_MEMORY_KIB=str(kib)
        )
        return Settings.from_env(env).argon2_memory_kib

    assert memory(floor) == floor
    for below in (floor - 1, 64, -1):
        with pytest.raises(ConfigError, match=f"CLINIC_ARGON2_MEMORY_KIB must be from {floor}"):
            memory(below)


def test_production_with_everything_explicit_starts(tmp_path):
    s = Settings.from_env(prod_env(CLINIC_INSTANCE=str(tmp_path)))
    assert s.is_production and s.secret_key == STRONG
    # Two operators, each with a password of his own, as Flower reads them.
    both = "ops:long-flower-password,night:another-long-password"
    assert Settings.from_env(prod_env(CLINIC_INSTANCE=str(tmp_path), FLOWER_BASIC_AUTH=both))


@pytest.mark.parametrize("address", ["http://192.168.1.10:8000", "https://clinic.uz/"])
def test_production_takes_a_public_url_on_the_clinics_network_or_the_internet(tmp_path, address):
    s = Settings.from_env(prod_env(CLINIC_INSTANCE=str(tmp_path), CLINIC_PUBLIC_URL=address))
    assert s.public_url == address.rstrip("/")


@pytest.mark.parametrize(
    "override, complaint",
    [
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"SECRET_KEY": "dev-" + "x" * 40}, "SECRET_KEY"),
        ({"SECRET_KEY": "DEV-" + "x" * 40}, "SECRET_KEY"),
        # .env.example's, its "dev-" taken off
        ({"SECRET_KEY": "example-replace-me-with-a-random-value-of-32-or-more-characters"},
         "SECRET_KEY"),  # fmt: skip
        ({"DATABASE_URL": None}, "DATABASE_URL"),
        ({"DATABASE_URL": "mysql://clinic@db/clinic"}, "DATABASE_URL must name PostgreSQL"),
        ({"REDIS_URL": None}, "REDIS_URL"),
        ({"FLOWER_BASIC_AUTH": None}, "FLOWER_BASIC_AUTH"),
        ({"FLOWER_BASIC_AUTH": ":"}, "FLOWER_BASIC_AUTH"),
        ({"FLOWER_BASIC_AUTH": "admin:"}, "FLOWER_BASIC_AUTH"),
        ({"FLOWER_BASIC_AUTH": "admin:secret"}, "FLOWER_BASIC_AUTH"),
        ({"FLOWER_BASIC_AUTH": "admin:example-replace-me"}, "FLOWER_BASIC_AUTH"),  # .env.example
        # Flower splits it at commas: this password would be "abc" to Flower
        ({"FLOWER_BASIC_AUTH": "ops:abc,defghijklmnop"}, "FLOWER_BASIC_AUTH"),
        ({"FLOWER_BASIC_AUTH": "ops:long-flower-password,ops2:short"}, "FLOWER_BASIC_AUTH"),
        # Flask reads it by itself: the app would run in debug mode
        ({"FLASK_DEBUG": "1"}, "FLASK_DEBUG"),
        # docker-compose.yml with .env.example's POSTGRES_PASSWORD left as it is
        (
            {"DATABASE_URL": "postgresql://clinic:example-replace-me@postgres:5432/clinic"},
            "DATABASE_URL",
        ),
        # Tickets' QR codes and e-mail links would open the development address, or the
        # patient's own phone: no page
        ({"CLINIC_PUBLIC_URL": None}, "CLINIC_PUBLIC_URL must be set"),
        ({"CLINIC_PUBLIC_URL": "http://localhost:5000"}, "CLINIC_PUBLIC_URL"),
        ({"CLINIC_PUBLIC_URL": "http://127.0.0.1:8000"}, "CLINIC_PUBLIC_URL"),
        ({"CLINIC_PUBLIC_URL": "https://[::1]/clinic"}, "CLINIC_PUBLIC_URL"),
        ({"CLINIC_PUBLIC_URL": "https://[::1/clinic"}, "CLINIC_PUBLIC_URL"),
        # The address a server listens on, copied from its start line: no phone opens it
        ({"CLINIC_PUBLIC_URL": "http://0.0.0.0:8000"}, "CLINIC_PUBLIC_URL names no machine"),
        ({"CLINIC_PUBLIC_URL": "http://[::]:8000"}, "CLINIC_PUBLIC_URL names no machine"),
        # .env.example's mail settings uncommented, its example password left as it is
        (
            {
                "CLINIC_SMTP_HOST": "smtp.example.uz",
                "CLINIC_SMTP_PASSWORD": "example-replace-me",
                "CLINIC_SMTP_STARTTLS": "true",
            },
            "CLINIC_SMTP_PASSWORD has .env.example's example password",
        ),
    ],
)
def test_production_refuses_development_defaults(tmp_path, override, complaint):
    with pytest.raises(ConfigError, match=complaint):
        Settings.from_env(prod_env(CLINIC_INSTANCE=str(tmp_path), **override))


@pytest.mark.parametrize("value", ["y", "2", "enabled", " 0", "debug"])
def test_production_refuses_every_flask_debug_value_that_flask_reads_as_on(tmp_path, value):
    """Flask turns debug mode on for any FLASK_DEBUG but empty, 0, false and no."""
    with pytest.raises(ConfigError, match="FLASK_DEBUG must be off"):
        Settings.from_env(prod_env(CLINIC_INSTANCE=str(tmp_path), FLASK_DEBUG=value))


@pytest.mark.parametrize("value", ["", "0", "false", "No"])
def test_production_starts_with_flask_debug_off(tmp_path, value):
    assert Settings.from_env(prod_env(CLINIC_INSTANCE=str(tmp_path), FLASK_DEBUG=value))


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////srv/clinic/clinic.sqlite3",
        "sqlite://",  # in memory
        "SQLite:///clinic.sqlite3",
        "sqlite+pysqlite:///clinic.sqlite3",
        " sqlite:///clinic.sqlite3 ",
    ],
)
def test_production_refuses_a_sqlite_database_and_names_the_setting(tmp_path, url):
    """One file, one writer at a time: SQLite is for ``clinic run`` on one computer. A
    production whose DATABASE_URL was copied from a development .env must not start on it."""
    with pytest.raises(ConfigError, match="DATABASE_URL.*SQLite.*PostgreSQL"):
        Settings.from_env(prod_env(CLINIC_INSTANCE=str(tmp_path), DATABASE_URL=url))


@pytest.mark.parametrize("mode", ["development", "test"])
def test_development_and_tests_keep_sqlite(tmp_path, mode):
    url = f"sqlite:///{tmp_path / 'own.sqlite3'}"
    s = Settings.from_env(
        {"CLINIC_INSTANCE": str(tmp_path), "CLINIC_ENV": mode, "DATABASE_URL": url}
    )
    assert s.database_url == url


@pytest.mark.parametrize(
    "name, value",
    [
        ("CLINIC_TZ", "Mars/Olympus"),
        ("CLINIC_DEFAULT_LANGUAGE", "de"),
        ("CLINIC_ENV", "staging"),
        ("CLINIC_MAX_UPLOAD_BYTES", "lots"),
        # Read as off, the mail password would travel in clear.
        ("CLINIC_SMTP_STARTTLS", "ture"),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({"CLINIC_INSTANCE": str(tmp_path), name: value})


@pytest.mark.parametrize("value, on", [("", False), ("Yes", True), ("on", True), ("OFF", False)])
def test_smtp_starttls_takes_on_and_off_words(tmp_path, value, on):
    env = {"CLINIC_INSTANCE": str(tmp_path), "CLINIC_SMTP_STARTTLS": value}
    assert Settings.from_env(env).smtp_starttls is on


@pytest.mark.parametrize(
    "value",
    [
        "clinic.example.uz",
        "ftp://clinic.example.uz",
        "https://",
        "https://x.uz:port",
        "https://x.uz/?a=1",
    ],
)
def test_a_public_url_that_is_not_an_http_address_is_refused_by_name(tmp_path, value):
    """Ticket QR codes are this address followed by /t/<secret>: without a scheme and host
    they would open no page."""
    with pytest.raises(ConfigError, match="CLINIC_PUBLIC_URL"):
        Settings.from_env({"CLINIC_INSTANCE": str(tmp_path), "CLINIC_PUBLIC_URL": value})


@pytest.mark.parametrize(
    "value, kept",
    [
        ("", "http://localhost:5000"),
        ("https://clinic.example.uz/", "https://clinic.example.uz"),
        (" https://example.uz/clinic ", "https://example.uz/clinic"),
    ],
)
def test_the_public_url_is_kept_without_its_trailing_slash(tmp_path, value, kept):
    env = {"CLINIC_INSTANCE": str(tmp_path), "CLINIC_PUBLIC_URL": value}
    assert Settings.from_env(env).public_url == kept
