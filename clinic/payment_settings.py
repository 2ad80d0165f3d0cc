"""The payment providers' settings (docs/payments.md, "Providers"): which providers answer,
the Standard Webhooks senders and their keys, the networks each may call from, and what
production lacks for the providers it enables.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re

from clinic.setting_values import ConfigError, pairs, switch

PAYMENT_PROVIDERS = ("payme", "click", "webhooks")


def payment_providers(env: dict, mode: str) -> tuple[str, ...]:
    """``CLINIC_PAYMENT_PROVIDERS=payme,click,webhooks``; by default every provider outside
    production (each still needs its secrets to accept a call) and none in production."""
    raw = env.get("CLINIC_PAYMENT_PROVIDERS")
    if raw is None:
        return () if mode == "production" else PAYMENT_PROVIDERS
    names = tuple(p.strip().lower() for p in raw.split(",") if p.strip())
    unknown = [n for n in names if n not in PAYMENT_PROVIDERS]
    if unknown:
        raise ConfigError(
            f"CLINIC_PAYMENT_PROVIDERS knows {', '.join(PAYMENT_PROVIDERS)}, got {unknown}"
        )
    return names


# A webhook sender's name is the last part of its URL (/payments/webhooks/<name>) and is
# stored as its payments' provider and method (32 characters at most).
WEBHOOK_SENDER = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
# Names the payments use already: a sender so named would pass for Payme, Click, the desk's
# idempotency keys or its cash and card (and share Payme's or Click's allowed addresses).
RESERVED_SENDERS = ("payme", "click", "desk", "cash", "card")


def webhook_secrets(env: dict) -> dict[str, str]:
    """``CLINIC_WEBHOOK_SECRETS=acq=whsec_...,other=whsec_...``, each name and key checked."""
    senders = pairs(env, "CLINIC_WEBHOOK_SECRETS", ",")
    for name, secret in senders.items():
        if not WEBHOOK_SENDER.fullmatch(name):
            raise ConfigError(
                f"CLINIC_WEBHOOK_SECRETS: the sender name {name!r} must be 1 to 32 letters a-z,"
                " digits, '.', '-' or '_' (its URL is /payments/webhooks/<name>)"
            )
        if name in RESERVED_SENDERS:
            raise ConfigError(
                f"CLINIC_WEBHOOK_SECRETS: {name!r} is a built-in payment method; give the sender"
                " another name"
            )
        key = secret[len("whsec_") :]
        try:
            usable = secret.startswith("whsec_") and base64.b64decode(
                key + "=" * (-len(key) % 4), validate=True
            )
        except (binascii.Error, ValueError):
            usable = False
        if not usable:
            raise ConfigError(
                f"CLINIC_WEBHOOK_SECRETS: the secret of {name!r} must be the sender's signing"
                " key, whsec_ followed by base64"
            )
    return senders


def allowed_networks(env: dict, senders: dict) -> dict:
    """``CLINIC_PROVIDER_ALLOWED_IPS="payme=185.234.113.0/24 185.178.51.0/24;click=..."``,
    for Payme, Click and the webhook ``senders``: a name none of them has (a typo) would leave
    the provider it meant callable from anywhere."""
    networks = {}
    for provider, value in pairs(env, "CLINIC_PROVIDER_ALLOWED_IPS", ";").items():
        if provider not in ("payme", "click", *senders):
            raise ConfigError(
                f"CLINIC_PROVIDER_ALLOWED_IPS: {provider!r} is neither payme, click nor a sender"
                " of CLINIC_WEBHOOK_SECRETS"
            )
        try:
            networks[provider] = tuple(
                ipaddress.ip_network(part, strict=False) for part in value.replace(",", " ").split()
            )
        except ValueError as exc:
            raise ConfigError(f"CLINIC_PROVIDER_ALLOWED_IPS: {exc}") from exc
    return networks


def payment_problems(env: dict) -> list[str]:
    """What production lacks for the payment providers it enables."""
    problems = []
    enabled = payment_providers(env, "production")
    # In test mode Payme's sandbox calls the clinic, with the sandbox's key.
    payme_key = "PAYME_TEST_KEY" if switch(env, "PAYME_TEST_MODE", False) else "PAYME_KEY"
    needs = {
        "payme": ("PAYME_MERCHANT_ID", payme_key),
        "click": ("CLICK_SERVICE_ID", "CLICK_MERCHANT_ID", "CLICK_SECRET_KEY"),
        "webhooks": ("CLINIC_WEBHOOK_SECRETS",),
    }
    for provider in enabled:
        for name in needs[provider]:
            value = env.get(name, "").strip()
            if not value or value.lower().startswith(("dev", "test", "changeme")):
                problems.append(f"{name} must be set to the real value ({provider} is enabled)")
    return problems
