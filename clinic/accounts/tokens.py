"""API tokens for integrations and scripts: shown once, stored as a SHA-256, expiring."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from clinic.accounts import holders
from clinic.accounts import refusals as R
from clinic.accounts.access import access_changed
from clinic.accounts.holders import Holder
from clinic.accounts.models import ApiToken, User
from clinic.base import is_id, iso, utcnow
from clinic.errors import NotFound, ValidationFailed
from clinic.text import NOT_ONE_LINE, ONE_LINE

# The public prefix of every token, not a token.
TOKEN_PREFIX = "clk_"  # nosec B105
MAX_DAYS = 366
NAME_MAX = 100
TOUCH_EVERY = timedelta(minutes=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# A kiosk's account (clinic.accounts.permissions.stands_open) is refused with this.
KIOSK_MAKES_NO_TOKENS = (
    "a kiosk's account makes no API tokens: its session stands open to whoever walks up"
)


def may_create(via: str) -> bool:
    """Tokens are made from a signed-in session only, never by another token: a token that
    could mint tokens would outlive its own expiry and revocation through its children."""
    return via == "session"


def create_token(
    session: Session, user: User, *, name: str, days: int = 90
) -> tuple[ApiToken, str]:
    """A new token for ``user``. Returns the row and the token itself, which is not kept."""
    name = (name or "").strip()
    reasons = {}
    if not name or len(name) > NAME_MAX:
        reasons["name"] = [(R.TOKEN_NAME, f"1-{NAME_MAX} characters")]
    elif NOT_ONE_LINE.search(name):
        # Whichever door names it (the API's OneLine, the form): a tab, a line break or a
        # mark turning the text around would hide what the name says on the tokens pages.
        reasons["name"] = [(R.TOKEN_NAME_ONE_LINE, ONE_LINE)]
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        reasons["days"] = [(R.TOKEN_DAYS, f"a whole number of days from 1 to {MAX_DAYS}")]
    if reasons:
        raise R.refusal(ValidationFailed, "bad token request", reasons)
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=_digest(plain),
        prefix=plain[:12],
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    return token, plain


# Built once: it runs on every request that carries a token.
_HOLDER_BY_DIGEST = holders.with_roles(
    select(
        ApiToken.id.label("token_id"),
        ApiToken.expires_at,
        ApiToken.revoked_at,
        ApiToken.last_used_at,
        *holders.COLUMNS,
    ).join(User, User.id == ApiToken.user_id)
).where(ApiToken.token_hash == bindparam("digest"))


@dataclass(frozen=True)
class TokenHolder(Holder):
    """The holder of a token, with the token's id and whether its use is due to be noted."""

    token_id: int = 0
    use_due: bool = False


def holder_for_token(session: Session, plain: str, *, note_use: bool = True) -> TokenHolder | None:
    """The active user behind a valid, unrevoked, unexpired token, or None.

    One statement on every request: the token, its user and the user's roles together. The
    token's use is noted at most once a minute: here, committing ``session``, when
    ``note_use``; otherwise the caller does it later with :func:`note_use` (a request's
    session must not commit before the request's change does).
    """
    if not isinstance(plain, str) or not plain.startswith(TOKEN_PREFIX) or len(plain) > 100:
        return None
    # Plain columns, through the connection: the ORM's execution layer adds nothing here.
    rows = session.connection().execute(_HOLDER_BY_DIGEST, {"digest": _digest(plain)}).all()
    holder = holders.holder_of(rows)
    now = utcnow()
    if holder is None:
        return None
    token = rows[0]
    if token.revoked_at is not None or token.expires_at <= now:
        return None
    if not holder.active or holder.locked(now):
        return None  # a locked account is locked for its tokens too
    due = token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY
    found = TokenHolder(**vars(holder), token_id=token.token_id, use_due=due)
    if due and note_use:
        _note_use(session, token.token_id, now)
        session.commit()
    return found


def _note_use(session: Session, token_id: int, now) -> None:
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))


def note_use(bind, token_id: int) -> None:
    """Note that the token ``token_id`` was used now, in a transaction of its own."""
    with Session(bind) as session, session.begin():
        _note_use(session, token_id, utcnow())


def may_create_for(owner_id: int, *, acting_user_id: int) -> bool:
    """A token is made by its owner only, whatever the maker's permissions. Everything a
    token does is recorded as its owner's: a token made for someone else would let its
    maker act in that person's name with no trace of his own."""
    return owner_id == acting_user_id


def may_manage(owner_id: int, *, acting_user_id: int, permissions) -> bool:
    """A token is its owner's to list and revoke, and anyone's holding ``tokens.manage``
    (listing and revoking only: see :func:`may_create_for`)."""
    return owner_id == acting_user_id or "tokens.manage" in permissions


def list_tokens(session: Session, *, user_id: int | None = None) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return list(session.scalars(query))


def get_token(session: Session, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id) if is_id(token_id) else None
    if token is None:
        raise NotFound(f"token {token_id} does not exist")
    return token


def revoke_token(session: Session, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
        access_changed(session, token.user_id)


def revoke_all(session: Session, user: User) -> int:
    """Revoke every live token of ``user`` (a new password, a disable); returns the count."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    access_changed(session, user.id)
    return result.rowcount or 0


def token_as_dict(token: ApiToken) -> dict:
    return {
        "id": token.id,
        "user_id": token.user_id,
        "username": token.user.username,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": iso(token.created_at),
        "expires_at": iso(token.expires_at),
        "revoked_at": iso(token.revoked_at),
        "last_used_at": iso(token.last_used_at),
        "active": token.revoked_at is None and token.expires_at > utcnow(),
    }
