"""The clinic's one way out for e-mail (receipts, visit notices and reminders, report
e-mails): the configured SMTP server (``CLINIC_SMTP_*``).

The connection is encrypted as the server expects: STARTTLS on a plain connection (port
587 or 25) or implicit TLS from the first byte (port 465, as Yandex and Mail.ru serve it);
the mailbox is logged into when a user is set.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clinic.settings import Settings


def connect(settings: Settings) -> smtplib.SMTP:
    """A connection to the configured server, encrypted and logged in as configured."""
    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.smtp_timeout
    if settings.smtp_ssl:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout)
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    try:
        if settings.smtp_starttls and not settings.smtp_ssl:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def send(settings: Settings, message: EmailMessage) -> None:
    """Send one message; raises OSError or SMTPException on failure (the caller retries)."""
    with connect(settings) as smtp:
        smtp.send_message(message)
