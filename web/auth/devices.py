"""Known devices: a browser that has signed in as a user before is not held back, when it
signs in as that user again, by its address's sign-in budget nor by the account's lock.

The whole clinic usually reaches the server from one address (its router's), so the budget
of failures per address (web/auth/limits.py) is the clinic's: a script retrying an old
password, or a morning of typos, would otherwise stop every member of the staff from signing
in until the hour is over. And the account's lock (5 wrong passwords, from anywhere) is a
way for anyone who knows a user's name to keep him from working.

A successful sign-in leaves a signed cookie with the device's own random id and the users
who signed in on it (as keyed digests, not as names). A sign-in as one of them from that
device is exempt from both, and its wrong passwords are counted for that device and user
alone (in Redis, forgotten 15 minutes after the last; each attempt takes one at once, and a
success gives it back): after 5 the device is a stranger, bound by
the address's budget and the account's lock like any other. So the browser holding the cookie
gets five guesses every 15 minutes besides those the lock allows anyone, the lock's own rate;
what it gains is that others' failures no longer cost the staff their sign-in. The note
of a user is keyed by when his password was set too: a new password makes every device a
stranger for him again (hashing the same password anew under new parameters does not).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta, timezone

from flask import after_this_request, current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer
from redis.exceptions import RedisError

from clinic.accounts import users
from web import db

COOKIE = "clinic_device"
KEPT = timedelta(days=90)
# A shared computer at the desk: the users who signed in on it lately, newest first.
MOST_USERS = 10
SALT = "clinic.known-device"
# A known device's own wrong passwords for one user, within one lock's time, before it is a
# stranger again: the account's own numbers.
FAILURES = users.LOCK_AFTER_FAILURES
FAILURES_KEPT = users.FIRST_LOCK


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=SALT)


def _digest(user) -> str:
    """The device's note of ``user``, keyed by when his password was set too: a new password
    (whoever knew the old one may have signed in on devices of his own, as many as he liked)
    makes every device a stranger again, as it ends every session and token. Not by the
    password's hash: a sign-in that hashes the same password again under new argon2
    parameters would make his other devices strangers for nothing."""
    key = f"{current_app.secret_key}:{SALT}".encode()
    normal = user.username.strip().lower().encode("utf-8", "replace")
    changed = user.password_changed_at
    stamp = changed.astimezone(timezone.utc).isoformat(timespec="microseconds") if changed else ""
    return hmac.new(key, normal + b"\0" + stamp.encode(), hashlib.sha256).hexdigest()[:32]


def _cookie() -> tuple[str, list[str]]:
    """This device's id and the digests of the users it has signed in as (none for a
    missing, forged or expired cookie)."""
    raw = request.cookies.get(COOKIE, "")
    if not raw or len(raw) > 2048:
        return "", []
    try:
        data = _serializer().loads(raw, max_age=int(KEPT.total_seconds()))
    except BadData:
        return "", []
    if not isinstance(data, dict):
        return "", []
    device, known = data.get("d"), data.get("u")
    if not isinstance(device, str) or not device or not isinstance(known, list):
        return "", []
    return device, [d for d in known if isinstance(d, str)][:MOST_USERS]


def _failures_key(device: str, digest: str) -> str:
    prefix = current_app.extensions["clinic"].settings.redis_prefix
    return f"{prefix}:device-failures:{device}:{digest}"


def _redis():
    return current_app.extensions["clinic"].redis


def _known_for(user, *, attempt: bool = False) -> bool:
    """Whether this device is known for ``user`` and has guesses left. ``attempt``: this
    is a sign-in's check, and takes one of them at once (given back by its success), so
    guesses sent all at once cannot all find the count as it was before any of them."""
    device, known = _cookie()
    if not device or user is None:
        return False
    digest = _digest(user)
    if digest not in known:
        return False
    key = _failures_key(device, digest)
    try:
        if not attempt:
            return int(_redis().get(key) or 0) < FAILURES
        with _redis().pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, int(FAILURES_KEPT.total_seconds()))
            taken = pipe.execute()[0]
    except (RedisError, ValueError):
        return False  # nothing to count with: a stranger, as before
    return int(taken) <= FAILURES


def _attempted_username() -> str:
    """The username a sign-in request names, through either door ("" when it names none)."""
    try:
        if request.is_json:
            body = request.get_json(silent=True)
            name = body.get("username") if isinstance(body, dict) else None
        else:
            name = request.form.get("username")
    except Exception:  # a body the view will refuse: no exemption
        return ""
    return name if isinstance(name, str) and 0 < len(name) <= 200 else ""


def known_device() -> bool:
    """The sign-in budget's exemption: this device has signed in as the user it names."""
    name = _attempted_username()
    if not name or not _cookie()[0]:
        return False  # no device cookie: nothing to look up
    return _known_for(users.find_user(db.session(), name))


def known_for_user(user) -> bool:
    """``users.sign_in``'s question: has this device signed in as ``user`` before (and not
    failed too often there lately)? Asking takes one of its guesses."""
    return _known_for(user, attempt=True)


def remember(user) -> None:
    """After a successful sign-in: this device is known for ``user`` from now on (while his
    password stays the one he signed in with), and its count of wrong passwords for him
    starts again."""
    device, known = _cookie()
    device = device or secrets.token_hex(16)
    digest = _digest(user)
    known = [digest] + [d for d in known if d != digest][: MOST_USERS - 1]
    try:
        _redis().delete(_failures_key(device, digest))
    except RedisError as exc:
        current_app.logger.warning("could not reset a known device's failures: %s", exc)

    @after_this_request
    def _set(response):
        settings = current_app.extensions["clinic"].settings
        response.set_cookie(
            COOKIE,
            _serializer().dumps({"d": device, "u": known}),
            max_age=int(KEPT.total_seconds()),
            httponly=True,
            samesite="Lax",
            secure=settings.is_production,
        )
        return response
