"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10
MAX_LENGTH = 128
DENY_LIST = Path(__file__).parent / "data" / "common-passwords.txt"

# argon2-cffi's defaults are argon2id with the RFC 9106 low-memory profile; configure()
# may change the cost, and hashes made with other parameters are redone at the next sign-in.
hasher = PasswordHasher()

# Verified against when the user is unknown, so both failures cost the same time. Made at the
# first unknown sign-in with the costs then in force, not at import: every process (workers,
# commands) would otherwise pay for a hash at the default cost, which most never use.
_dummy_hashes: dict[tuple[int, int], str] = {}


def _dummy_hash() -> str:
    key = (hasher.time_cost, hasher.memory_cost)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = hasher.hash("not a password anyone has")
    return _dummy_hashes[key]


def configure(*, time_cost: int, memory_kib: int) -> None:
    """Use these argon2id costs from now on (the process's settings decide them)."""
    global hasher
    if (hasher.time_cost, hasher.memory_cost) == (time_cost, memory_kib):
        return
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    lines = DENY_LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line and not line.startswith("#"))


# Why a new password is refused: a stable code each, and its English message for the API.
NOT_TEXT = "password_not_text"
TOO_SHORT = "password_too_short"
TOO_LONG = "password_too_long"
TOO_COMMON = "password_too_common"
TOO_FEW_CHARACTERS = "password_too_few_characters"
CONTAINS_USERNAME = "password_contains_username"
POLICY = {
    NOT_TEXT: "must be text",
    TOO_SHORT: f"must be at least {MIN_LENGTH} characters long",
    TOO_LONG: f"must be at most {MAX_LENGTH} characters long",
    TOO_COMMON: "is too common",
    TOO_FEW_CHARACTERS: "must use at least four different characters",
    CONTAINS_USERNAME: "must not contain the username",
}


def policy_problems(password: str, *, username: str = "") -> list[str]:
    """The codes of what is wrong with ``password`` as a new password (empty when
    acceptable), in the order :func:`policy_errors` words them."""
    if not isinstance(password, str):
        return [NOT_TEXT]
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(TOO_SHORT)
    if len(password) > MAX_LENGTH:
        problems.append(TOO_LONG)
    lowered = password.lower()
    if lowered in _common() or lowered.rstrip("0123456789!") in _common():
        problems.append(TOO_COMMON)
    if len(set(password)) < 4:
        problems.append(TOO_FEW_CHARACTERS)
    if username and username.lower() in lowered:
        problems.append(CONTAINS_USERNAME)
    return problems


def policy_errors(password: str, *, username: str = "") -> list[str]:
    """What is wrong with ``password`` as a new password (empty when acceptable)."""
    return [POLICY[problem] for problem in policy_problems(password, username=username)]


def hash_password(password: str) -> str:
    return hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; an unknown user (None) still pays for one check."""
    try:
        return hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher.check_needs_rehash(password_hash)
