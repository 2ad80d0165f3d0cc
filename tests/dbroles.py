"""A PostgreSQL login role with the application's data rights only (docs/security.md, "The
application's database role"), for tests that run the application as it runs in production
or take the database away from it."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

# The grants of docs/security.md: data rights only, none to change or empty the audit log.
APP_ROLE_GRANTS = """
CREATE ROLE {role} LOGIN;
GRANT CONNECT ON DATABASE {database} TO {role};
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {role};
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role};
"""


@pytest.fixture
def app_role(runtime):
    """A login role with data rights only; the migration role keeps owning every table.
    Yields the role's name and a database URL that signs in as it."""
    role = f"clinic_app_{uuid.uuid4().hex[:8]}"
    url = runtime.db.engine.url
    with runtime.db.engine.begin() as conn:
        conn.execute(text(APP_ROLE_GRANTS.format(role=role, database=f'"{url.database}"')))
    yield role, url.set(username=role, password=None).render_as_string(hide_password=False)
    with runtime.db.engine.begin() as conn:
        conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"),
            {"r": role},
        )
        conn.execute(text(f"DROP OWNED BY {role}"))
        conn.execute(text(f"DROP ROLE {role}"))
