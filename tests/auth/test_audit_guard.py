"""The audit log cannot be emptied, and in the documented deployment (docs/security.md,
"The application's database role") the application cannot even try to change its rules."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from tests.conftest import PASSWORD, ClinicClient, _create_user, make_settings

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

FORBIDDEN = [
    "TRUNCATE audit_log",
    "DELETE FROM audit_log",
    "UPDATE audit_log SET username = 'someone-else'",
    "DROP TRIGGER audit_log_no_update ON audit_log",
    "DROP TRIGGER audit_log_no_truncate ON audit_log",
    "ALTER TABLE audit_log DISABLE TRIGGER ALL",
    "ALTER TABLE audit_log OWNER TO CURRENT_USER",
    "SET session_replication_role = replica",
    "DROP TABLE audit_log",
]


def test_truncate_is_refused_even_to_the_tables_owner(client, runtime):
    client.post("/api/v1/tokens", json={"name": "x"})
    with pytest.raises(DBAPIError, match="append-only"):
        with runtime.db.transaction() as s:
            s.execute(text("TRUNCATE audit_log"))
    with runtime.db.session() as s:
        assert s.scalar(text("SELECT count(*) FROM audit_log")) >= 1


def test_the_application_role_runs_the_clinic_but_cannot_touch_the_audit_rules(
    runtime, app_role, tmp_path
):
    from clinic.runtime import Runtime
    from web import create_app

    role, url = app_role
    _, admin = _create_user(runtime, "admin")
    app_runtime = Runtime(make_settings(url, tmp_path / "app", runtime.settings.redis_prefix))
    try:
        app = create_app(runtime=app_runtime)
        app.config["TESTING"] = True
        app.test_client_class = ClinicClient
        web = app.test_client()
        web.sign_in(admin, PASSWORD)
        assert web.post("/api/v1/tokens", json={"name": "from the app role"}).status_code == 201
    finally:
        app_runtime.close()
    with runtime.db.session() as s:
        actions = s.scalars(text("SELECT action FROM audit_log ORDER BY id")).all()
    assert actions == ["auth.sign_in", "account.create_token"]

    engine = create_engine(url)
    try:
        for statement in FORBIDDEN:
            with engine.connect() as conn:
                with pytest.raises(DBAPIError):
                    conn.execute(text(statement))
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM audit_log")) == 2
            owner = conn.scalar(
                text("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log'")
            )
            assert owner != role
    finally:
        engine.dispose()
