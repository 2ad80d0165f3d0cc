"""The unsubscribe button of a report e-mail's link works over HTTPS (docs/security.md, CSRF).

Its page sends no Referer (``Referrer-Policy: no-referrer``: its address is a secret), so a
browser posts the button without one; the CSRF check's HTTPS Referer rule must not refuse it.
"""

from __future__ import annotations

import re

from clinic.accounts import users
from clinic.accounts.permissions import Staff, permissions_of
from clinic.reports import subscriptions as subs
from tests.conftest import PASSWORD

HTTPS = "https://clinic.example"


def test_the_unsubscribe_button_works_over_https_without_a_referer(runtime, app):
    with runtime.db.transaction() as s:
        users.create_user(s, username="boss", password=PASSWORD, roles=["manager"])
        sub = subs.subscribe(
            s,
            {"report": "revenue", "by": "method", "frequency": "daily", "email": "b@example.test"},
            Staff(permissions_of(["manager"])),
            created_by="boss",
        )
    token = subs.unsubscribe_token(runtime.settings.secret_key, sub.id)
    browser = app.test_client()
    page = browser.get(f"/reports/unsubscribe/{token}", base_url=HTTPS)
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer"
    form = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.get_data(as_text=True)))
    done = browser.post(f"/reports/unsubscribe/{token}", data=form, base_url=HTTPS)
    assert done.status_code == 200, done.get_data(as_text=True)[-600:]
    assert b'id="unsubscribed"' in done.data
    with runtime.db.session() as s:
        assert not subs.get_subscription(s, sub.id).active
