"""Passwords (argon2id, policy) and the sign-in rules of the users service."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from clinic.accounts import passwords, users
from clinic.errors import Conflict, ValidationFailed
from clinic.models import utcnow

GOOD = "Yashil-olma-42"


def test_hashes_are_argon2id_and_verify():
    digest = passwords.hash_password(GOOD)
    assert digest.startswith("$argon2id$")
    assert passwords.verify_password(digest, GOOD)
    assert not passwords.verify_password(digest, GOOD + "x")
    assert not passwords.verify_password(None, GOOD)


def test_an_unknown_user_costs_one_check_at_the_costs_in_force():
    """The stand-in hash an unknown user is checked against carries the configured costs, so
    an unknown name takes as long to refuse as a wrong password."""
    before = (passwords.hasher.time_cost, passwords.hasher.memory_cost)
    try:
        for time_cost, memory_kib in ((1, 8192), (2, 16384)):
            passwords.configure(time_cost=time_cost, memory_kib=memory_kib)
            assert not passwords.verify_password(None, GOOD)
            assert not passwords.needs_rehash(passwords._dummy_hash())
    finally:
        passwords.configure(time_cost=before[0], memory_kib=before[1])


@pytest.mark.parametrize(
    "password, complaint",
    [
        ("short1!", "at least 10"),
        ("password123", "too common"),
        ("Qwerty123456", "too common"),
        ("aaaaaaaaaaaa", "four different"),
        ("x" * 129, "at most 128"),
        ("my-aziz-password", "username"),
    ],
)
def test_policy_refuses_weak_passwords(password, complaint):
    assert any(complaint in p for p in passwords.policy_errors(password, username="aziz"))


def test_a_good_password_passes_the_policy():
    assert passwords.policy_errors(GOOD, username="aziz") == []


def test_users_need_known_roles_a_free_name_and_a_good_password(db):
    with pytest.raises(ValidationFailed) as bad_role:
        users.create_user(db, username="aziz", password=GOOD, roles=["janitor"])
    assert "roles" in bad_role.value.errors
    with pytest.raises(ValidationFailed) as weak:
        users.create_user(db, username="aziz", password="password1", roles=["cashier"])
    assert "password" in weak.value.errors
    users.create_user(db, username="aziz", password=GOOD, roles=["cashier"])
    with pytest.raises(Conflict):
        users.create_user(db, username="AZIZ", password=GOOD, roles=["cashier"])


def test_five_wrong_passwords_lock_the_account_and_locks_grow(db):
    user = users.create_user(db, username="nodira", password=GOOD, roles=["registrar"])
    for _ in range(users.LOCK_AFTER_FAILURES):
        assert not users.sign_in(db, "nodira", "wrong-password-1").ok
    assert users.is_locked(user)
    first_lock = user.locked_until - utcnow()
    assert users.sign_in(db, "nodira", GOOD).reason == "locked"
    users.unlock(db, user)
    assert users.sign_in(db, "nodira", GOOD).ok
    user.lock_count = 1  # a second lock in a row lasts twice as long
    for _ in range(users.LOCK_AFTER_FAILURES):
        users.sign_in(db, "nodira", "wrong-password-1")
    assert user.locked_until - utcnow() > first_lock + timedelta(minutes=10)


def test_a_new_password_starts_the_count_of_wrong_ones_again(db):
    user = users.create_user(db, username="farida", password=GOOD, roles=["cashier"])
    for _ in range(users.LOCK_AFTER_FAILURES - 1):
        assert not users.sign_in(db, "farida", "wrong-password-1").ok
    users.set_password(db, user, "Yangi-parol-77")
    for _ in range(users.LOCK_AFTER_FAILURES - 1):
        assert not users.sign_in(db, "farida", "wrong-password-1").ok
    assert not users.is_locked(user)
    assert users.sign_in(db, "farida", "Yangi-parol-77").ok


def test_an_account_locked_again_and_again_locks_for_a_day_at_most(db):
    user = users.create_user(db, username="sevara", password=GOOD, roles=["registrar"])
    user.lock_count = 40  # weeks of someone guessing, lock after lock
    for _ in range(users.LOCK_AFTER_FAILURES):
        assert not users.sign_in(db, "sevara", "wrong-password-1").ok
    assert users.is_locked(user)
    assert user.locked_until - utcnow() <= users.LONGEST_LOCK


def test_usernames_are_found_whatever_their_case_and_spaces_around(db):
    users.create_user(db, username="  Gulnora ", password=GOOD, roles=["cashier"])
    for typed in ("gulnora", "GULNORA", " Gulnora", "gulnora\t"):
        assert users.sign_in(db, typed, GOOD).ok, typed
    assert not users.sign_in(db, "gul nora", GOOD).ok


def test_a_full_name_longer_than_kept_is_refused_not_stored_cut(db):
    with pytest.raises(ValidationFailed) as long_name:
        users.create_user(
            db, username="oybek", password=GOOD, roles=["cashier"], full_name="Oʻgʻiloy " * 30
        )
    assert "full_name" in long_name.value.errors
    made = users.create_user(
        db, username="oybek", password=GOOD, roles=["cashier"], full_name=" Oʻgʻiloy Gʻofurova "
    )
    assert made.full_name == "Oʻgʻiloy Gʻofurova"


def test_rehash_when_parameters_change(db):
    user = users.create_user(db, username="rustam", password=GOOD, roles=["cashier"])
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    user.password_hash = weak.hash(GOOD)
    db.flush()
    assert passwords.needs_rehash(user.password_hash)
    assert users.sign_in(db, "rustam", GOOD).ok
    assert not passwords.needs_rehash(user.password_hash)


def test_a_password_change_ends_older_sessions(db):
    user = users.create_user(db, username="malika", password=GOOD, roles=["manager"])
    version = user.session_version
    users.set_password(db, user, "Yangi-parol-2026")
    assert user.session_version == version + 1


def test_refunds_above_the_limit_need_a_manager_or_an_administrator():
    from clinic.accounts.permissions import ROLES, permission_to_refund, roles_with

    limit = 50_000_000
    assert permission_to_refund(limit, limit) == "payments.refund"
    large = permission_to_refund(limit + 1, limit)
    assert large == "payments.refund_large"
    assert roles_with(large) == ["admin", "manager"]
    assert "payments.refund" in ROLES["cashier"] and large not in ROLES["cashier"]
    with pytest.raises(ValueError):
        permission_to_refund(0, limit)
