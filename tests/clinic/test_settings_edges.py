"""The payment providers' settings: which are on, their secrets, addresses and rate limit."""

from __future__ import annotations

import ipaddress

import pytest

from clinic.settings import ConfigError, Settings

STRONG = "k" * 40
KEY = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_KEY = "whsec_c2lnbmluZyBrZXk="


def dev(tmp_path, **env) -> Settings:
    return Settings.from_env({"CLINIC_INSTANCE": str(tmp_path), **env})


def prod_env(tmp_path, **overrides) -> dict:
    env = {
        "CLINIC_ENV": "production",
        "CLINIC_INSTANCE": str(tmp_path),
        "SECRET_KEY": STRONG,
        "DATABASE_URL": "postgresql://clinic@db/clinic",
        "REDIS_URL": "redis://redis:6379/0",
        "FLOWER_BASIC_AUTH": "ops:long-flower-password",
        "CLINIC_PUBLIC_URL": "https://clinic.example.uz",
    }
    env.update(overrides)
    return env


def test_every_provider_is_on_in_development_and_none_in_production(tmp_path):
    assert dev(tmp_path).payment_providers == ("payme", "click", "webhooks")
    assert Settings.from_env(prod_env(tmp_path)).payment_providers == ()


def test_the_enabled_providers_are_read_as_a_list_in_any_case(tmp_path):
    settings = dev(tmp_path, CLINIC_PAYMENT_PROVIDERS=" Payme , ,CLICK ")
    assert settings.payment_providers == ("payme", "click")
    assert dev(tmp_path, CLINIC_PAYMENT_PROVIDERS="").payment_providers == ()


def test_an_unknown_provider_is_refused_by_name(tmp_path):
    with pytest.raises(ConfigError, match="'stripe'"):
        dev(tmp_path, CLINIC_PAYMENT_PROVIDERS="payme,stripe")


def test_webhook_secrets_are_name_value_pairs(tmp_path):
    settings = dev(tmp_path, CLINIC_WEBHOOK_SECRETS=f"Acquirer={KEY}, ,other = {OTHER_KEY}")
    assert settings.webhook_secrets == {"acquirer": KEY, "other": OTHER_KEY}
    for bad in ("acquirer", f"={KEY}", "acquirer=", f"acquirer={KEY},broken"):
        with pytest.raises(ConfigError, match="CLINIC_WEBHOOK_SECRETS must be name=value"):
            dev(tmp_path, CLINIC_WEBHOOK_SECRETS=bad)


@pytest.mark.parametrize(
    "senders, named",
    [
        # A name no event of it could be stored under (32 characters at most), or no URL reach.
        ("a" * 33 + f"={KEY}", "'" + "a" * 33 + "' must be 1 to 32"),
        (f"acq/1={KEY}", "'acq/1' must be 1 to 32"),
        (f"my acq={KEY}", "'my acq' must be 1 to 32"),
        # Built-in names: the sender's payments would pass for Payme's, Click's or the desk's.
        (f"acq={KEY},Payme={KEY}", "'payme' is a built-in payment method"),
        (f"click={KEY}", "'click' is a built-in payment method"),
        (f"desk={KEY}", "'desk' is a built-in payment method"),
        (f"cash={KEY}", "'cash' is a built-in payment method"),
        # No key to check a signature with.
        ("acq=whsec_a", "secret of 'acq' must be the sender's signing key"),
        ("acq=whsec_", "secret of 'acq' must be the sender's signing key"),
        ("acq=whsec_!!!!", "secret of 'acq' must be the sender's signing key"),
        ("acq=MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "secret of 'acq' must be"),
    ],
)
def test_a_webhook_sender_that_could_not_work_is_refused_at_start_by_name(tmp_path, senders, named):
    with pytest.raises(ConfigError, match="CLINIC_WEBHOOK_SECRETS") as refused:
        dev(tmp_path, CLINIC_WEBHOOK_SECRETS=senders)
    assert named in str(refused.value)
    assert KEY not in str(refused.value)


def test_a_name_given_twice_is_refused_rather_than_its_first_value_dropped(tmp_path):
    with pytest.raises(ConfigError, match="CLINIC_WEBHOOK_SECRETS names 'acq' twice"):
        dev(tmp_path, CLINIC_WEBHOOK_SECRETS=f"acq={KEY},ACQ={OTHER_KEY}")
    with pytest.raises(ConfigError, match="CLINIC_PROVIDER_ALLOWED_IPS names 'payme' twice"):
        dev(tmp_path, CLINIC_PROVIDER_ALLOWED_IPS="payme=185.234.113.0/24;payme=185.178.51.0/24")


def test_a_webhook_sender_may_have_a_32_character_name_and_an_unpadded_key(tmp_path):
    name = "uzcard-humo_acquirer.tashkent-01"
    settings = dev(tmp_path, CLINIC_WEBHOOK_SECRETS=f"{name}=whsec_c2lnbmluZyBrZXk")
    assert settings.webhook_secrets == {name: "whsec_c2lnbmluZyBrZXk"}


def test_provider_addresses_are_networks_per_provider(tmp_path):
    settings = dev(
        tmp_path,
        CLINIC_PROVIDER_ALLOWED_IPS="payme=185.234.113.0/24 185.178.51.7;click=10.0.0.0/8,::1",
    )
    assert settings.provider_allowed_ips == {
        "payme": (
            ipaddress.ip_network("185.234.113.0/24"),
            ipaddress.ip_network("185.178.51.7/32"),
        ),
        "click": (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128")),
    }
    with pytest.raises(ConfigError, match="CLINIC_PROVIDER_ALLOWED_IPS"):
        dev(tmp_path, CLINIC_PROVIDER_ALLOWED_IPS="payme=185.234.113.300")


def test_an_allow_list_for_no_provider_is_refused_rather_than_leaving_the_meant_one_open(
    tmp_path,
):
    with pytest.raises(ConfigError, match="'payem' is neither payme, click nor a sender"):
        dev(tmp_path, CLINIC_PROVIDER_ALLOWED_IPS="payem=185.234.113.0/24")
    with pytest.raises(ConfigError, match="'acq' is neither"):
        dev(tmp_path, CLINIC_PROVIDER_ALLOWED_IPS="acq=10.0.0.0/8")
    settings = dev(
        tmp_path, CLINIC_WEBHOOK_SECRETS=f"acq={KEY}", CLINIC_PROVIDER_ALLOWED_IPS="acq=10.0.0.0/8"
    )
    assert settings.provider_allowed_ips == {"acq": (ipaddress.ip_network("10.0.0.0/8"),)}


def test_the_provider_rate_limit_is_checked_at_start(tmp_path):
    assert dev(tmp_path).provider_rate_limit == "600 per minute"
    assert dev(tmp_path, CLINIC_PROVIDER_RATE_LIMIT="10/second").provider_rate_limit == (
        "10/second"
    )
    with pytest.raises(ConfigError, match="CLINIC_PROVIDER_RATE_LIMIT"):
        dev(tmp_path, CLINIC_PROVIDER_RATE_LIMIT="lots per fortnight")


def test_the_online_join_rate_limit_is_read_and_a_malformed_one_stops_the_start(tmp_path):
    assert dev(tmp_path).online_join_rate_limit == "10 per minute;60 per hour"
    configured = dev(tmp_path, CLINIC_ONLINE_JOIN_RATE_LIMIT=" 3 per minute;20 per hour ")
    assert configured.online_join_rate_limit == "3 per minute;20 per hour"
    with pytest.raises(ConfigError, match="CLINIC_ONLINE_JOIN_RATE_LIMIT"):
        dev(tmp_path, CLINIC_ONLINE_JOIN_RATE_LIMIT="ten a minute")


def test_production_names_each_missing_or_placeholder_provider_secret(tmp_path):
    env = prod_env(
        tmp_path,
        CLINIC_PAYMENT_PROVIDERS="payme,click,webhooks",
        PAYME_MERCHANT_ID="real-merchant",
        PAYME_KEY="dev-key",
        CLICK_SERVICE_ID="12713",
        CLICK_MERCHANT_ID="TEST",
        CLINIC_WEBHOOK_SECRETS=f"acquirer={KEY}",
    )
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(env)
    message = str(refused.value)
    for name in ("PAYME_KEY", "CLICK_MERCHANT_ID", "CLICK_SECRET_KEY"):
        assert f"{name} must be set to the real value" in message
    for name in ("PAYME_MERCHANT_ID", "CLICK_SERVICE_ID", "CLINIC_WEBHOOK_SECRETS"):
        assert f"{name} must be" not in message


def test_production_starts_with_the_secrets_of_the_providers_it_enables(tmp_path):
    env = prod_env(
        tmp_path,
        CLINIC_PAYMENT_PROVIDERS="payme",
        PAYME_MERCHANT_ID="real-merchant",
        PAYME_KEY="real-key",
    )
    settings = Settings.from_env(env)
    assert settings.payment_providers == ("payme",) and settings.payme_key == "real-key"


@pytest.mark.parametrize(
    "name, value, says",
    [
        ("CLINIC_WORKER_CONCURRENCY", "0", "at least 1"),
        ("CLINIC_JOB_STALE_SECONDS", "-5", "from 1 to 604800"),
        ("CLINIC_BROKER_VISIBILITY_TIMEOUT", "0", "from 1 to 604800"),
        ("CLINIC_EVENT_HISTORY", "0", "at least 1"),
        ("CLINIC_OUTBOX_RETENTION_DAYS", "-1", "from 1 to 3650"),
        ("CLINIC_MAX_UPLOAD_BYTES", "0", "at least 1"),
        ("CLINIC_SMTP_PORT", "70000", "from 1 to 65535"),
        ("CLINIC_SMTP_PORT", "0", "from 1 to 65535"),
    ],
)
def test_a_count_no_process_could_work_with_stops_the_start_naming_it(tmp_path, name, value, says):
    """No workers, jobs taken over at once, events pruned before they are sent: each would
    fail later and far from its cause."""
    with pytest.raises(ConfigError, match=f"{name} must be {says}, got '{value}'"):
        dev(tmp_path, **{name: value})
    assert dev(tmp_path, **{name: "1"})


@pytest.mark.parametrize(
    "overrides",
    [
        {"CLINIC_BROKER_VISIBILITY_TIMEOUT": "600"},  # the default job limit runs to 630 s
        {"CLINIC_JOB_TIME_LIMIT": "7200"},  # a long report's limit, the timeout left at 3600
    ],
)
def test_production_refuses_a_visibility_timeout_a_task_may_outlast(tmp_path, overrides):
    """Redis hands a task not acknowledged within the visibility timeout to another worker
    while the first still runs it (tasks are acknowledged when they end): every task must be
    stopped, at the job time limit plus 30 s, before it could be handed out twice."""
    with pytest.raises(
        ConfigError, match="CLINIC_BROKER_VISIBILITY_TIMEOUT.*CLINIC_JOB_TIME_LIMIT"
    ):
        Settings.from_env(prod_env(tmp_path, **overrides))
    fitting = {**overrides, "CLINIC_BROKER_VISIBILITY_TIMEOUT": "7231"}
    assert Settings.from_env(prod_env(tmp_path, **fitting)).broker_visibility_timeout == 7231


def test_production_refuses_to_send_the_mail_password_in_clear(tmp_path):
    """smtplib logs in over a plain connection when told to: without STARTTLS the mailbox's
    password would cross the network readable by anyone on the way."""
    mail = {
        "CLINIC_SMTP_HOST": "smtp.example.uz",
        "CLINIC_SMTP_PORT": "587",
        "CLINIC_SMTP_USER": "clinic@example.uz",
        "CLINIC_SMTP_PASSWORD": "mailbox-secret",
    }
    with pytest.raises(ConfigError, match="CLINIC_SMTP_STARTTLS.*CLINIC_SMTP_PASSWORD"):
        Settings.from_env(prod_env(tmp_path, **mail))
    assert Settings.from_env(prod_env(tmp_path, **mail, CLINIC_SMTP_STARTTLS="true")).smtp_starttls
    # A relay on the same machine, or no password at all, sends nothing secret across a network.
    assert Settings.from_env(prod_env(tmp_path, **{**mail, "CLINIC_SMTP_HOST": "127.0.0.1"}))
    assert Settings.from_env(prod_env(tmp_path, **{**mail, "CLINIC_SMTP_PASSWORD": ""}))
    assert dev(tmp_path, **mail).smtp_password == "mailbox-secret"


@pytest.mark.parametrize(
    "name, value",
    [
        ("CLINIC_JOB_TIME_LIMIT", "-600"),
        ("CLINIC_SESSION_IDLE_MINUTES", "-5"),
        ("CLINIC_JOB_MAX_ATTEMPTS", "0"),
        ("CLINIC_PRINT_TIMEOUT", "-1"),
        ("CLINIC_SMTP_TIMEOUT", "0"),
        ("CLINIC_REFUND_APPROVAL_FROM", "-1"),
        ("CLINIC_REPORTS_OPEN_SHIFTS_WAIT_HOURS", "49"),
        # Taken as the nearest that works, each would pass unsaid (as 1, 8192 and 21).
        ("CLINIC_DB_POOL_SIZE", "0"),
        ("CLINIC_DB_POOL_SIZE", "-5"),
        ("CLINIC_ARGON2_MEMORY_KIB", "-1"),
        ("CLINIC_PRINT_LEASE_SECONDS", "-3"),
        # Past what Python's dates and Redis's expiries hold: a traceback far from its cause.
        ("CLINIC_SESSION_IDLE_MINUTES", "1000000000000000"),
        ("CLINIC_JOB_TIME_LIMIT", "1000000000000000"),
        ("CLINIC_VISITS_REMINDER_HOURS", "1000000000000000"),
        ("CLINIC_OUTBOX_RETENTION_DAYS", "1000000000000000"),
        ("CLINIC_ARGON2_TIME_COST", "1000000000000000"),
    ],
)
def test_a_number_no_process_could_work_with_stops_the_start_naming_it(tmp_path, name, value):
    """Not taken as the nearest that works: a job time limit of -600 would have become one
    second, stopping every import and report there."""
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({"CLINIC_INSTANCE": str(tmp_path), name: value})


def test_a_print_lease_a_send_could_outlast_is_refused_and_an_unset_one_follows_the_timeout(
    tmp_path,
):
    """A worker's hold on its printer must outlast its longest send (four timeouts): one
    shorter is refused with the reason, not lengthened unsaid; left unset it is 30 s, or
    longer when the timeout asks for more."""
    with pytest.raises(ConfigError, match=r"CLINIC_PRINT_LEASE_SECONDS must be at least 61 \("):
        dev(tmp_path, CLINIC_PRINT_TIMEOUT="15", CLINIC_PRINT_LEASE_SECONDS="60")
    assert dev(tmp_path, CLINIC_PRINT_TIMEOUT="15", CLINIC_PRINT_LEASE_SECONDS="61")
    assert dev(tmp_path, CLINIC_PRINT_TIMEOUT="15").print_lease_seconds == 61
    assert dev(tmp_path).print_lease_seconds == 30
