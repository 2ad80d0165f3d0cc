"""The key Payme signs its calls with (``Authorization: Basic base64("Paycom:" + KEY)``).

It is the settings' ``PAYME_KEY`` (``PAYME_TEST_KEY`` in test mode, when the sandbox calls)
until Payme's ``ChangePassword`` sets another: the call,
signed with the key in force, names the new one, and every call after it must carry that one.
The new key is kept only as its SHA-256 digest, which is all a check needs. A key put in the
settings after the change (the operator copying the new key there, or rotating it) is newer
and stands again: the change remembers which settings key it replaced.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from sqlalchemy.orm import Session

from clinic.base import utcnow
from clinic.payments.payme_errors import INVALID_REQUEST, PaymeError
from clinic.payments.providers import PaymeKey

log = logging.getLogger(__name__)

ROW = 1
# The sandbox's key changes apart from production's: switching test mode on and off again
# leaves each mode's change as it was.
SANDBOX_ROW = 2
MAX_KEY_LENGTH = 256
LOGIN = b"Paycom:"


def digest(key: bytes | str) -> str:
    """SHA-256 of a key, hex. Keys are long random strings: no salt or stretching is needed
    to keep one from being guessed from its digest."""
    data = key.encode("utf-8") if isinstance(key, str) else key
    return hashlib.sha256(data).hexdigest()


def key_in_force(session: Session, configured: str, *, sandbox: bool = False) -> str | None:
    """The digest of the key a call must carry; None when no key is set at all.
    ``sandbox``: the settings' key is the sandbox's (test mode), changed apart."""
    if not configured:
        return None
    configured_digest = digest(configured)
    changed = session.get(PaymeKey, SANDBOX_ROW if sandbox else ROW)
    if changed is not None and hmac.compare_digest(changed.replaces, configured_digest):
        return changed.digest
    return configured_digest


def signed(credentials: bytes, key_digest: str | None) -> bool:
    """Whether decoded Basic credentials are ``Paycom:`` and the key in force (constant time
    in the key)."""
    if key_digest is None or not credentials.startswith(LOGIN):
        return False
    return hmac.compare_digest(digest(credentials[len(LOGIN) :]), key_digest)


def change_password(
    session: Session, params: dict, *, configured: str, sandbox: bool = False
) -> dict:
    """ChangePassword(password): the call came with the key in force; from now on Payme signs
    with ``password``. Answers ``{"success": true}``. ``sandbox``: the sandbox's key changes
    (test mode), not production's."""
    password = params.get("password")
    if (
        not isinstance(password, str)
        or not password
        or len(password) > MAX_KEY_LENGTH
        or not password.isprintable()
    ):
        raise PaymeError(INVALID_REQUEST, "password")
    row_id = SANDBOX_ROW if sandbox else ROW
    row = session.get(PaymeKey, row_id, with_for_update=True)
    if row is None:
        row = PaymeKey(id=row_id)
        session.add(row)
    row.digest = digest(password)
    row.replaces = digest(configured)
    row.changed_at = utcnow()
    session.flush()
    # Said at once, though the caller may still roll back: the operator's reminder.
    log.warning(
        "Payme changed the cashbox key over the API: put the new key in PAYME_KEY"
        " (PAYME_TEST_KEY in test mode)"
    )
    return {"success": True}
