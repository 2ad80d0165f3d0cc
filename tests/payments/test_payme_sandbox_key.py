"""Payme's sandbox (test.paycom.uz) and production sign with different keys, both kept in the
settings: ``PAYME_TEST_MODE`` says which one Payme's calls are checked against, so a clinic
runs the sandbox's test cases against its own server and goes live by turning it off."""

from __future__ import annotations

import pytest

from clinic.settings import ConfigError, Settings
from tests.payments.provider_support import PROVIDER_ENV, Payme, payme_auth

SANDBOX_KEY = "Sandbox-key-of-test-paycom-0123456789"
LIVE_KEY = "Production-key-0123456789abcdefghij"
UNKNOWN = {"amount": 100_00, "account": {"invoice_id": "999999"}}
UNAUTHORIZED, NO_INVOICE = -32504, -31050


# Each configuration, and the answer to a call signed with each key (an unknown invoice
# once the call is taken).
MODES = {
    "test mode": ({"PAYME_TEST_KEY": SANDBOX_KEY, "PAYME_TEST_MODE": "on"},
                  {"sandbox": NO_INVOICE, "live": UNAUTHORIZED}),
    "live": ({"PAYME_TEST_KEY": SANDBOX_KEY}, {"sandbox": UNAUTHORIZED, "live": NO_INVOICE}),
    "test mode, no sandbox key": ({"PAYME_TEST_MODE": "1"},
                                  {"sandbox": UNAUTHORIZED, "live": UNAUTHORIZED}),
}  # fmt: skip


@pytest.fixture(params=list(MODES))
def mode(request) -> str:
    return request.param


@pytest.fixture
def settings(shared, database_urls, backend, mode):
    env = {**PROVIDER_ENV, "PAYME_KEY": LIVE_KEY, **MODES[mode][0]}
    return shared.settings(database_urls, backend, **env)


def test_in_test_mode_only_the_sandbox_key_is_taken_and_out_of_it_only_the_live_one(
    anon_client, mode
):
    payme = Payme(anon_client)
    answers = {
        name: payme.call("CheckPerformTransaction", UNKNOWN, headers=payme_auth(key))["error"][
            "code"
        ]
        for name, key in (("sandbox", SANDBOX_KEY), ("live", LIVE_KEY))
    }
    assert answers == MODES[mode][1]


def _production(tmp_path, **env) -> dict:
    return {
        "CLINIC_ENV": "production",
        "CLINIC_INSTANCE": str(tmp_path),
        "SECRET_KEY": "k" * 40,
        "DATABASE_URL": "postgresql://clinic@db/clinic",
        "REDIS_URL": "redis://redis:6379/0",
        "FLOWER_BASIC_AUTH": "ops:long-flower-password",
        "CLINIC_PUBLIC_URL": "https://clinic.example.uz",
        "CLINIC_PAYMENT_PROVIDERS": "payme",
        "PAYME_MERCHANT_ID": "5e730e8e0b852a417aa49ceb",
        **env,
    }


def test_production_asks_for_the_key_of_the_mode_it_runs_in(tmp_path):
    with pytest.raises(ConfigError, match="PAYME_TEST_KEY must be set"):
        Settings.from_env(_production(tmp_path, PAYME_KEY=LIVE_KEY, PAYME_TEST_MODE="yes"))
    going_live = Settings.from_env(_production(tmp_path, PAYME_TEST_KEY=SANDBOX_KEY,
                                               PAYME_TEST_MODE="yes"))  # fmt: skip
    assert going_live.payme_key_in_use == SANDBOX_KEY
    with pytest.raises(ConfigError, match="PAYME_KEY must be set"):
        Settings.from_env(_production(tmp_path, PAYME_TEST_KEY=SANDBOX_KEY))
    live = Settings.from_env(_production(tmp_path, PAYME_KEY=LIVE_KEY, PAYME_TEST_KEY=SANDBOX_KEY))
    assert live.payme_key_in_use == LIVE_KEY
    with pytest.raises(ConfigError, match="PAYME_TEST_MODE"):
        Settings.from_env(_production(tmp_path, PAYME_KEY=LIVE_KEY, PAYME_TEST_MODE="ture"))


def test_production_in_test_mode_warns_at_start_and_live_does_not(tmp_path, caplog):
    from web import create_app

    going_live = Settings.from_env(_production(tmp_path, PAYME_TEST_KEY=SANDBOX_KEY,
                                               PAYME_TEST_MODE="on"))  # fmt: skip
    live = Settings.from_env(_production(tmp_path, PAYME_KEY=LIVE_KEY))
    for settings, warned in ((going_live, True), (live, False)):
        caplog.clear()
        with caplog.at_level("WARNING", logger="web"):
            app = create_app(settings)
        app.extensions["clinic"].close()
        said = [r.getMessage() for r in caplog.records if "PAYME_TEST_MODE" in r.getMessage()]
        assert bool(said) is warned, said
