"""Known devices: a browser that has signed in as a user before is not held back by its
address's sign-in budget when it signs in as that user again.

The whole clinic usually reaches the server from one address (its router's), so the budget
of failures per address (web/auth/limits.py) is the clinic's: a script retrying an old
password, or a morning of typos, would otherwise stop every member of the staff from signing
in until the hour is over. A successful sign-in leaves a signed cookie naming (as keyed
digests, not as names) the users who signed in on that device; a sign-in as one of them from
that device is exempt from the address's budget. The account's own lock (5 wrong passwords)
holds for it as for any other, so the cookie buys no guesses: it only keeps a stranger's
failures from costing the staff their sign-in.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from flask import after_this_request, current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer

COOKIE = "clinic_device"
KEPT = timedelta(days=90)
# A shared computer at the desk: the users who signed in on it lately, newest first.
MOST_USERS = 10
SALT = "clinic.known-device"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=SALT)


def _digest(username: str) -> str:
    key = f"{current_app.secret_key}:{SALT}".encode()
    normal = username.strip().lower().encode("utf-8", "replace")
    return hmac.new(key, normal, hashlib.sha256).hexdigest()[:32]


def _known() -> list[str]:
    """The digests of the users this device has signed in as (none for a missing, forged or
    expired cookie)."""
    raw = request.cookies.get(COOKIE, "")
    if not raw or len(raw) > 2048:
        return []
    try:
        data = _serializer().loads(raw, max_age=int(KEPT.total_seconds()))
    except BadData:
        return []
    known = data.get("u") if isinstance(data, dict) else None
    if not isinstance(known, list):
        return []
    return [d for d in known if isinstance(d, str)][:MOST_USERS]


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
    return bool(name) and _digest(name) in _known()


def remember(username: str) -> None:
    """After a successful sign-in: this device is known for ``username`` from now on."""
    digest = _digest(username)
    known = [digest] + [d for d in _known() if d != digest][: MOST_USERS - 1]

    @after_this_request
    def _set(response):
        settings = current_app.extensions["clinic"].settings
        response.set_cookie(
            COOKIE,
            _serializer().dumps({"u": known}),
            max_age=int(KEPT.total_seconds()),
            httponly=True,
            samesite="Lax",
            secure=settings.is_production,
        )
        return response
