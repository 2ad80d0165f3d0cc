"""The shared parts a process needs: settings, database, Redis and the event bus."""

from __future__ import annotations

import redis

# Every table known in every process that has a runtime (a script's too), before any flush: a
# user's row names his doctor, a table the accounts package does not import.
import clinic.models  # noqa: F401
from clinic.accounts import passwords
from clinic.db import TZ_KEY, Database
from clinic.events import BUS_KEY, RedisBus
from clinic.settings import Settings


def redis_client(url: str, **kwargs) -> redis.Redis:
    kwargs.setdefault("socket_connect_timeout", 2)
    kwargs.setdefault("socket_timeout", 5)
    kwargs.setdefault("health_check_interval", 30)
    return redis.Redis.from_url(url, **kwargs)


class Runtime:
    """Built once per process (web app, worker, CLI command) from one :class:`Settings`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.redis = redis_client(settings.effective_redis_url)
        self.bus = RedisBus(
            self.redis, prefix=settings.redis_prefix, history_size=settings.event_history_size
        )
        if settings.database_url.startswith("sqlite"):
            settings.instance_path.mkdir(parents=True, exist_ok=True)
        self.db = Database(
            settings.database_url,
            session_info={BUS_KEY: self.bus, TZ_KEY: settings.tz},
            pool_size=settings.db_pool_size,
        )
        passwords.configure(
            time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib
        )

    def close(self) -> None:
        self.db.dispose()
        self.redis.close()
