"""Sign-in failures count against one budget per address, whichever door they come through
(the /login form or POST /api/v1/session), and the counters live under the installation's
Redis prefix."""

from __future__ import annotations

from tests.conftest import PASSWORD, ClinicClient

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


def test_successful_sign_ins_do_not_spend_the_budget(anon_client, make_user):
    make_user("registrar", username="shahnoza")
    remaining = [
        int(door(anon_client, "shahnoza", password).headers["X-RateLimit-Remaining"])
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
