"""``CLINIC_PUBLIC_URL``: the site's address as patients and mail readers reach it.

The tickets' QR codes open ``<it>/t/<secret>`` and report e-mails link to it, so it must be an
absolute http(s) address; production also refuses the development default, any address of
the machine reading it (``localhost``) and the unspecified one a server listens on
(``0.0.0.0``): a patient's phone scanning the code would open nothing, or itself.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

NAME = "CLINIC_PUBLIC_URL"
DEVELOPMENT = "http://localhost:5000"


def public_url(env: dict) -> str:
    """The address, without its trailing slash; a value that is no http(s) address raises
    ``ValueError`` naming the variable (the settings refuse to start with its message)."""
    value = env.get(NAME, "").strip() or DEVELOPMENT
    try:
        parts = urlsplit(value)
        parts.port  # a port that is not a number raises here
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{NAME} must be the site's address as patients reach it, like"
            f" https://clinic.example.uz, got {value!r}"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"{NAME} must not carry a query or fragment, got {value!r}")
    return value.rstrip("/")


def production_problems(env: dict) -> list[str]:
    """What production refuses: no address at all (the development default would be printed
    on every ticket), one naming the machine that reads it, or one naming no machine."""
    value = env.get(NAME, "").strip()
    if not value:
        return [
            f"{NAME} must be set to the site's address as patients reach it"
            " (https://clinic.example.uz): the tickets' QR codes and e-mail links open it"
        ]
    try:
        host = (urlsplit(value).hostname or "").rstrip(".")
    except ValueError:
        return []  # public_url() names what is wrong with it
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        loopback = host == "localhost" or host.endswith(".localhost")
    else:
        if address.is_unspecified:  # 0.0.0.0, ::: a server listens on it, nobody opens it
            return [
                f"{NAME} names no machine ({host}, every address of the server):"
                " give the address patients reach"
            ]
        loopback = address.is_loopback
    if loopback:
        return [f"{NAME} names this machine ({host}): give the address patients reach"]
    return []
