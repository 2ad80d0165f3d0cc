"""What production refuses of the outgoing mail settings.

smtplib logs in over whatever connection it has: without STARTTLS or implicit TLS
(``CLINIC_SMTP_SSL``), the mailbox's password (``CLINIC_SMTP_PASSWORD``) would cross the
network in clear. A relay on the same machine is reached without a network to cross.
"""

from __future__ import annotations

import ipaddress
from typing import Protocol


class MailSettings(Protocol):
    smtp_host: str
    smtp_password: str
    smtp_starttls: bool
    smtp_ssl: bool


def _this_machine(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.rstrip(".") == "localhost"


def plaintext_password_problem(settings: MailSettings) -> str | None:
    host, encrypted = settings.smtp_host, settings.smtp_starttls or settings.smtp_ssl
    if not host or not settings.smtp_password or encrypted or _this_machine(host):
        return None
    return (
        "CLINIC_SMTP_STARTTLS or CLINIC_SMTP_SSL must be on when CLINIC_SMTP_PASSWORD is set:"
        f" the password would be sent to {host} in clear"
    )
