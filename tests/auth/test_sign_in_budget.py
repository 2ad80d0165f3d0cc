"""Sign-in failures count against one budget per address, whichever door they come through
(the /login form or POST /api/v1/session), and the counters live under the installation's
Redis prefix."""

from __future__ import annotations

import html
import threading

import pytest

from tests.conftest import ONE_BACKEND, PASSWORD, ClinicClient

ADDRESS = {"REMOTE_ADDR": "10.9.8.7"}


def _form(client, username, password="wrong-guess-xyz"):
    return client.post(
        "/login", data={"username": username, "password": password}, environ_base=ADDRESS
    )


def _json(client, username, password="wrong-guess-xyz"):
    return client.post(
        "/api/v1/session",
        json={"username": username, "password": password},
        environ_base=ADDRESS,
    )


def test_failures_through_both_doors_share_one_budget_per_address(anon_client, runtime):
    for n in range(20):  # the budget: 20 a minute, split between the doors
        door = _form if n % 2 else _json
        assert door(anon_client, f"nobody-{n}").status_code == 401
    assert _json(anon_client, "nobody-else").status_code == 429
    assert _form(anon_client, "nobody-else").status_code == 429
    # Another address still has its whole budget.
    other = anon_client.post(
        "/api/v1/session",
        json={"username": "nobody", "password": "x"},
        environ_base={"REMOTE_ADDR": "10.9.8.8"},
    )
    assert other.status_code == 401


def test_successful_sign_ins_do_not_spend_the_budget(app, make_user):
    make_user("registrar", username="shahnoza")
    # Each from a browser new to her (a known one is not counted at all: see below).
    remaining = [
        int(door(app.test_client(), "shahnoza", password).headers["X-RateLimit-Remaining"])
        for door, password in ((_json, "wrong-guess-xyz"), (_form, PASSWORD), (_json, PASSWORD))
    ]
    assert remaining == [19, 19, 19]


def test_failures_through_both_doors_lock_the_same_account(anon_client, make_user):
    make_user("cashier", username="farrux")
    for n in range(5):
        door = _form if n % 2 else _json
        assert door(anon_client, "farrux").status_code == 401
    assert _form(anon_client, "farrux", PASSWORD).status_code == 401  # locked


def test_rate_limit_counters_sit_under_the_redis_prefix(anon_client, runtime):
    _json(anon_client, "nobody")
    prefix = runtime.settings.redis_prefix
    ours = list(runtime.redis.scan_iter(f"{prefix}:limits:*", count=1000))
    assert ours
    strays = [
        k
        for k in runtime.redis.scan_iter("*10.9.8.7*", count=1000)
        if not k.decode().startswith(f"{prefix}:") and prefix in k.decode()
    ]
    assert strays == []


def test_a_flask_limiter_named_otherwise_inside_still_checks_every_limit(runtime, monkeypatch):
    """Which views carry limits is read from Flask-Limiter's own records, which it keeps
    under private names: a release that renames them costs the shortcut, never a limit."""
    from web import create_app
    from web.auth import limits

    monkeypatch.setattr(limits, "LIMITER_MARKED", "_views_marked_for_limiting")
    application = create_app(runtime=runtime)
    application.test_client_class = ClinicClient
    client = application.test_client()
    for n in range(20):
        assert _json(client, f"nobody-{n}").status_code == 401
    assert _json(client, "nobody-else").status_code == 429


def _spend_the_budget(app) -> None:
    """Someone else behind the clinic's address (a script with an old password, a stranger
    on the guest Wi-Fi) fails until the address has no budget left."""
    script = app.test_client()
    for n in range(20):
        assert _json(script, f"nobody-{n}").status_code == 401
    assert _json(script, "nobody").status_code == 429


def test_staff_who_signed_in_on_this_browser_before_still_sign_in_when_the_address_is_spent(
    app, make_user
):
    make_user("registrar", username="dilfuza")
    desk = app.test_client()
    assert _form(desk, "dilfuza", PASSWORD).status_code == 302  # the morning's sign-in
    cookie = desk.get_cookie("clinic_device")
    assert cookie is not None and cookie.http_only and "dilfuza" not in cookie.value
    assert desk.post("/logout").status_code == 302
    _spend_the_budget(app)
    assert _json(desk, " Dilfuza ", PASSWORD).status_code == 200
    # A browser that never signed in as her is still held back, and so is her browser
    # naming another user: the exemption is the device's and the user's together.
    assert _json(app.test_client(), "dilfuza", PASSWORD).status_code == 429
    assert _json(desk, "nobody-else").status_code == 429


def test_a_known_browser_gets_no_more_guesses_than_the_accounts_lock(app, make_user):
    make_user("cashier", username="gulnora")
    desk = app.test_client()
    assert _json(desk, "gulnora", PASSWORD).status_code == 200
    _spend_the_budget(app)
    for _ in range(5):
        assert _json(desk, "gulnora").status_code == 401
    # Its own five guesses spent, it is a stranger again: the address's budget is spent.
    assert _json(desk, "gulnora", PASSWORD).status_code == 429


def test_a_forged_device_cookie_exempts_nobody(app, make_user):
    make_user("doctor", username="bahodir")
    _spend_the_budget(app)
    forged = app.test_client()
    forged.set_cookie("clinic_device", "eyJ1IjpbImJhaG9kaXIiXX0.forged.signature")
    assert _json(forged, "bahodir", PASSWORD).status_code == 429


def _lock_from_elsewhere(app, username: str) -> None:
    """Someone who knows her name guesses at her password from another computer."""
    stranger = app.test_client()
    for _ in range(5):
        assert _json(stranger, username).status_code == 401
    assert _json(stranger, username, PASSWORD).status_code == 401  # locked for strangers


def test_guesses_from_elsewhere_do_not_lock_a_user_out_of_his_own_browser(app, make_user, runtime):
    from clinic.accounts import users

    make_user("doctor", username="sardor")
    own = app.test_client()
    assert _form(own, "sardor", PASSWORD).status_code == 302
    own.post("/logout")
    _lock_from_elsewhere(app, "sardor")
    assert _form(own, "sardor", PASSWORD).status_code == 302
    # The lock still holds off the stranger, and his sign-in did not lift it.
    assert _json(app.test_client(), "sardor", PASSWORD).status_code == 401
    with runtime.db.session() as s:
        assert users.is_locked(users.find_user(s, "sardor"))


def test_a_known_browser_has_five_guesses_of_its_own_then_is_a_stranger(app, make_user, runtime):
    from clinic.accounts import users

    make_user("cashier", username="malika")
    own = app.test_client()
    assert _json(own, "malika", PASSWORD).status_code == 200
    for _ in range(5):
        assert _json(own, "malika").status_code == 401
    with runtime.db.session() as s:
        user = users.find_user(s, "malika")
        assert user.failed_logins == 0 and not users.is_locked(user)
    # Its own five spent, its failures count towards the account's lock as anyone's do.
    for _ in range(5):
        assert _json(own, "malika").status_code == 401
    assert _json(own, "malika", PASSWORD).status_code == 401
    with runtime.db.session() as s:
        assert users.is_locked(users.find_user(s, "malika"))
    rows = _sign_in_outcomes(runtime)
    assert rows.count("wrong password on a known device") == 5


def _sign_in_outcomes(runtime) -> list[str]:
    from sqlalchemy import select

    from clinic.accounts.models import AuditEntry

    with runtime.db.session() as s:
        rows = s.scalars(select(AuditEntry).where(AuditEntry.action == "auth.sign_in_failed"))
        return [r.summary["outcome"] for r in rows]


@pytest.mark.parametrize("backend", [ONE_BACKEND])
def test_guesses_sent_at_once_from_a_known_browser_get_its_five_and_no_more(
    app, make_user, runtime, monkeypatch
):
    from clinic.accounts import passwords, users

    make_user("registrar", username="nodira")
    own = app.test_client()
    assert _json(own, "nodira", PASSWORD).status_code == 200
    cookie = own.get_cookie("clinic_device").value
    # Every guess has its password checked before any goes on: they then all ask at once
    # whether the browser has guesses left.
    barrier = threading.Barrier(10, timeout=20)
    checked = passwords.verify_password

    def verify_then_wait(password_hash, password):
        matches = checked(password_hash, password)
        barrier.wait()
        return matches

    monkeypatch.setattr(passwords, "verify_password", verify_then_wait)
    answers = []

    def guess() -> None:
        browser = app.test_client()
        browser.set_cookie("clinic_device", cookie)
        answers.append(_json(browser, "nodira").status_code)

    threads = [threading.Thread(target=guess) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [401] * 10
    assert _sign_in_outcomes(runtime).count("wrong password on a known device") == 5
    with runtime.db.session() as s:
        assert users.is_locked(users.find_user(s, "nodira"))  # the other five count for it


@pytest.mark.parametrize("backend", [ONE_BACKEND])
@pytest.mark.parametrize(
    "lang, heading", [("ru", "Слишком много попыток"), ("uz", "Urinishlar juda ko'p")]
)
def test_the_login_page_says_in_its_language_that_the_address_must_wait(anon_client, lang, heading):
    """A registrar whose clinic's address spent its budget reads what happened and what to do,
    in the page's language, not the rate limiter's "20 per 1 minute"."""
    for n in range(20):
        assert _form(anon_client, f"nobody-{n}").status_code == 401
    refused = anon_client.post(
        f"/login?lang={lang}",
        data={"username": "nobody", "password": "x"},
        headers={"Accept": "text/html"},
        environ_base=ADDRESS,
    )
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    page = html.unescape(refused.get_data(as_text=True))
    assert heading in page and "per 1 minute" not in page


def test_a_new_password_makes_every_browser_a_stranger_again(app, make_user, runtime):
    """Whoever knew the old password may have signed in on browsers of his own, as many as
    he liked, before the administrator set a new one: none of them is known any more, so
    their guesses count towards the account's lock, and none signs in through it."""
    from clinic.accounts import users

    make_user("registrar", username="sevara")
    kept = [app.test_client() for _ in range(3)]
    for browser in kept:
        assert _json(browser, "sevara", PASSWORD).status_code == 200
    with runtime.db.transaction() as s:
        users.set_password(s, users.find_user(s, "sevara"), NEW_PASSWORD)
    for _ in range(5):
        assert _json(kept[0], "sevara").status_code == 401
    assert _locked(runtime, "sevara")
    # Locked: the other saved browsers are strangers too, with the new password as well.
    assert _json(kept[1], "sevara", NEW_PASSWORD).status_code == 401
    # Signed in with the new password once the lock is over, a browser is known again.
    with runtime.db.transaction() as s:
        users.unlock(s, users.find_user(s, "sevara"))
    assert _json(kept[2], "sevara", NEW_PASSWORD).status_code == 200
    _lock_from_elsewhere(app, "sevara")
    assert _json(kept[2], "sevara", NEW_PASSWORD).status_code == 200


NEW_PASSWORD = "Another-long-passphrase-2026"


def _locked(runtime, username: str) -> bool:
    from clinic.accounts import users
    from clinic.base import utcnow

    with runtime.db.session() as s:
        user = users.find_user(s, username)
        return user.locked_until is not None and user.locked_until > utcnow()


def test_a_password_hashed_anew_under_new_parameters_keeps_his_browsers_known(
    app, make_user, runtime
):
    """The server's argon2 parameters were raised: the first sign-in hashes the same password
    again under them. His other browsers are still his, not strangers until each signs in
    once more."""
    from argon2 import PasswordHasher

    from clinic.accounts import passwords, users

    make_user("registrar", username="nilufar")
    desk, office = app.test_client(), app.test_client()
    for browser in (desk, office):
        assert _json(browser, "nilufar", PASSWORD).status_code == 200
    with runtime.db.transaction() as s:
        # Her password as the server hashed it under its parameters of before.
        user = users.find_user(s, "nilufar")
        user.password_hash = PasswordHasher(time_cost=2, memory_cost=2048).hash(PASSWORD)
    assert _json(desk, "nilufar", PASSWORD).status_code == 200  # hashed again
    with runtime.db.session() as s:
        assert not passwords.needs_rehash(users.find_user(s, "nilufar").password_hash)
    _lock_from_elsewhere(app, "nilufar")
    assert _json(office, "nilufar", PASSWORD).status_code == 200
