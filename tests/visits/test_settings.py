"""The visits' and the mail server's settings come from the environment."""

from __future__ import annotations

import pytest

from clinic.settings import ConfigError, Settings


def test_visit_and_smtp_settings_are_read_from_the_environment(tmp_path):
    settings = Settings.from_env(
        {
            "CLINIC_INSTANCE": str(tmp_path),
            "CLINIC_VISITS_LATE_CANCEL_HOURS": "12",
            "CLINIC_VISITS_MAX_MOVES": "1",
            "CLINIC_VISITS_NO_SHOW_GRACE_MINUTES": "15",
            "CLINIC_VISITS_REMINDER_HOURS": "48",
            "CLINIC_SMTP_HOST": "mail.example.uz",
            "CLINIC_SMTP_PORT": "587",
            "CLINIC_SMTP_USER": "clinic",
            "CLINIC_SMTP_PASSWORD": "s3cret",
            "CLINIC_SMTP_STARTTLS": "yes",
            "CLINIC_SMTP_FROM": "noreply@example.uz",
        }
    )
    assert (settings.visits_late_cancel_hours, settings.visits_max_moves) == (12, 1)
    assert (settings.visits_no_show_grace_minutes, settings.visits_reminder_hours) == (15, 48)
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls) == (
        "mail.example.uz",
        587,
        True,
    )
    assert (settings.smtp_user, settings.smtp_password, settings.smtp_from) == (
        "clinic",
        "s3cret",
        "noreply@example.uz",
    )
    defaults = Settings.from_env({"CLINIC_INSTANCE": str(tmp_path)})
    assert (defaults.visits_max_moves, defaults.smtp_port, defaults.smtp_starttls) == (3, 25, False)


def test_a_port_that_is_not_a_number_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="CLINIC_SMTP_PORT"):
        Settings.from_env({"CLINIC_INSTANCE": str(tmp_path), "CLINIC_SMTP_PORT": "smtp"})
