"""Display screens paired with boards.

A board's screen must run for months without anyone touching it, so it does not sign in as a
person: it is paired once and then proves itself with a device secret of its own, which ends
only when an administrator revokes it. Pairing is either a one-time code (shown to the
administrator, typed on the screen, valid for minutes) or the exchange of a display account's
credential for a device secret. Only SHA-256 digests of codes and secrets are kept.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, joinedload

from clinic.accounts import holders
from clinic.accounts.access import screen_access_changed
from clinic.accounts.models import User
from clinic.accounts.permissions import permissions_of
from clinic.base import is_id, iso, utcnow
from clinic.errors import NotFound, ValidationFailed
from clinic.queue.models import Board, BoardScreen
from clinic.text import NOT_ONE_LINE, ONE_LINE

# The public prefix of every device secret (so log redaction can find one), not a secret.
SECRET_PREFIX = "clb_"  # nosec B105
# Letters and digits nobody confuses on a screen or a keyboard: no 0/O, 1/I/L.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
PAIRING_VALID = timedelta(minutes=15)
# What asking for a code takes (the boards' screens are the queue's administration).
PAIRING_PERMISSION = "queue.manage"
LABEL_MAX = 100
TOUCH_EVERY = timedelta(minutes=1)


def checked_label(label: str | None) -> str:
    """Where a screen hangs, as the administrator wrote it: stripped, one line (no line break,
    tab or invisible mark, which would show a board list garbled or reversed), at most
    :data:`LABEL_MAX` characters. Never cut: a 422 naming ``label`` says what is wrong."""
    label = (label or "").strip()
    if len(label) > LABEL_MAX:
        message = f"at most {LABEL_MAX} characters"
        raise ValidationFailed(
            "screen label too long", errors={"label": [message]}, code="label_too_long"
        )
    if NOT_ONE_LINE.search(label):
        raise ValidationFailed(
            "screen label not one line", errors={"label": [ONE_LINE]}, code="label_one_line"
        )
    return label


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normal_code(code: str) -> str:
    """A pairing code as typed (any case, with spaces or a dash) in its one stored form."""
    if not isinstance(code, str):
        return ""
    return "".join(c for c in code.upper() if c.isalnum())[:32]


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def start_pairing(
    session: Session, board: Board, *, label: str = "", created_by: str = ""
) -> tuple[BoardScreen, str]:
    """A screen waiting to be paired with ``board``, and its one-time code (not kept):
    ``ABCD-EFGH``, valid for :data:`PAIRING_VALID`."""
    plain = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    screen = BoardScreen(
        board_id=board.id,
        label=checked_label(label),
        code_hash=_digest(plain),
        code_expires_at=utcnow() + PAIRING_VALID,
        created_by=created_by[:64],
    )
    session.add(screen)
    session.flush()
    return screen, f"{plain[:4]}-{plain[4:]}"


def redeem_code(session: Session, code: str) -> tuple[BoardScreen, str] | None:
    """Pair the screen holding ``code``: its device secret (not kept), or None when the
    code is unknown, used, expired or revoked. A code works once."""
    plain = normal_code(code)
    if len(plain) != CODE_LENGTH:
        return None
    # Locked: a second screen typing the code at the same moment waits, then finds it used.
    screen = session.scalar(
        select(BoardScreen).where(BoardScreen.code_hash == _digest(plain)).with_for_update()
    )
    if screen is None or screen.revoked_at is not None or screen.code_expires_at <= utcnow():
        return None
    if not _maker_may_still_pair(session, screen.created_by):
        return None
    secret = _new_secret()
    screen.code_hash = None
    screen.code_expires_at = None
    screen.secret_hash = _digest(secret)
    screen.paired_at = screen.last_seen_at = utcnow()
    session.flush()
    return screen, secret


def _maker_may_still_pair(session: Session, username: str) -> bool:
    """Whether the account that asked for a code still may: whoever was shown the code is
    trusted with a screen only while that account is (not disabled since, still managing
    queues). Accounts are disabled, never deleted: a code naming no account was asked for
    outside any (a script), and is its maker's to hand over."""
    if not username:
        return True
    query = holders.with_roles(select(*holders.COLUMNS)).where(User.username == username)
    maker = holders.holder_of(session.execute(query).all())
    if maker is None:
        return True
    return maker.active and PAIRING_PERMISSION in permissions_of(maker.roles)


def pair_directly(
    session: Session,
    board: Board,
    *,
    label: str = "",
    created_by: str = "",
    account: tuple[int, int] | None = None,
) -> tuple[BoardScreen, str]:
    """Pair a screen at once (it proved itself as a display account): its device secret.

    ``account`` is that account's id and ``session_version``: the screen works while they
    hold, so disabling the account, a new password or other roles end it too (whoever held
    the account's token or password could pair screens of his own)."""
    secret = _new_secret()
    now = utcnow()
    user_id, version = account if account is not None else (None, None)
    screen = BoardScreen(
        board_id=board.id,
        label=(label or "").strip()[:LABEL_MAX],
        secret_hash=_digest(secret),
        created_by=created_by[:64],
        paired_at=now,
        last_seen_at=now,
        paired_by_user_id=user_id,
        paired_by_version=version,
    )
    session.add(screen)
    session.flush()
    return screen, secret


# A screen paired with a code, or by an account still active with the credentials it had.
_ACCOUNT_HOLDS = or_(
    BoardScreen.paired_by_user_id.is_(None),
    exists().where(
        User.id == BoardScreen.paired_by_user_id,
        User.active.is_(True),
        User.session_version == BoardScreen.paired_by_version,
    ),
)


def screen_for_secret(session: Session, secret: str) -> BoardScreen | None:
    """The paired, unrevoked screen behind a device secret, or None; None as well for a
    screen whose pairing account was disabled or got a new password or other roles since."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX) or len(secret) > 100:
        return None
    screen = session.scalar(
        select(BoardScreen)
        .where(BoardScreen.secret_hash == _digest(secret), _ACCOUNT_HOLDS)
        .options(joinedload(BoardScreen.board))
    )
    if screen is None or screen.revoked_at is not None:
        return None
    now = utcnow()
    if screen.last_seen_at is None or now - screen.last_seen_at > TOUCH_EVERY:
        screen.last_seen_at = now
        session.commit()
    return screen


def get_screen(session: Session, screen_id: int) -> BoardScreen:
    screen = session.get(BoardScreen, screen_id) if is_id(screen_id) else None
    if screen is None:
        raise NotFound(f"screen {screen_id} does not exist")
    return screen


def revoke_screen(session: Session, screen: BoardScreen) -> None:
    """The screen's secret (or pending code) proves nothing from now on."""
    if screen.revoked_at is None:
        screen.revoked_at = utcnow()
        screen.code_hash = None
        session.flush()
        # Its open sockets close at once, not at the hubs' next periodic check.
        screen_access_changed(session, screen.id)


def list_screens(session: Session, board_id: int | None = None) -> list[BoardScreen]:
    """The screens paired or waiting to be paired, oldest first; revoked ones left out, and
    those ended with the account that paired them."""
    query = (
        select(BoardScreen)
        .where(BoardScreen.revoked_at.is_(None), _ACCOUNT_HOLDS)
        .order_by(BoardScreen.id)
    )
    if board_id is not None:
        query = query.where(BoardScreen.board_id == board_id)
    return list(session.scalars(query))


def screen_as_dict(screen: BoardScreen) -> dict:
    if screen.revoked_at is not None:
        state = "revoked"
    elif screen.paired_at is not None:
        state = "paired"
    elif screen.code_expires_at is not None and screen.code_expires_at > utcnow():
        state = "pairing"
    else:
        state = "expired"
    return {
        "id": screen.id,
        "board_id": screen.board_id,
        "label": screen.label,
        "state": state,
        "created_by": screen.created_by,
        "created_at": iso(screen.created_at),
        "paired_at": iso(screen.paired_at),
        "last_seen_at": iso(screen.last_seen_at),
        "pairing_expires_at": iso(screen.code_expires_at),
    }
