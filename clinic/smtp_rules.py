"""What production refuses of the outgoing mail settings.

smtplib logs in over whatever connection it has: without STARTTLS, the mailbox's password
(``CLINIC_SMTP_PASSWORD``) would cross the network in clear. A relay on the same machine is
reached without a network to cross.
"""

from __future__ import annotations

import ipaddress


def _this_machine(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.rstrip(".") == "localhost"


def plaintext_password_problem(host: str, password: str, starttls: bool) -> str | None:
    if not host or not password or starttls or _this_machine(host):
        return None
    return (
        "CLINIC_SMTP_STARTTLS must be on when CLINIC_SMTP_PASSWORD is set: the password would"
        f" be sent to {host} in clear"
    )
