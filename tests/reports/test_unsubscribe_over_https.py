"""The unsubscribe button of a report e-mail's link works over HTTPS (docs/security.md, CSRF).

Its page sends no Referer (``Referrer-Policy: no-referrer``: its address is a secret), so a
browser posts the button without one; the CSRF check's HTTPS Referer rule must not refuse it.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from clinic.accounts import users
from clinic.accounts.permissions import Staff, permissions_of
from clinic.models import AuditEntry
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


def test_the_unsubscribe_is_audited_with_the_page_it_was_answered(runtime, app):
    """The button is answered with the page saying it is done (200), not a redirect: its
    audit row says so, as every row carries the status its request was answered with."""
    with runtime.db.transaction() as s:
        users.create_user(s, username="chief", password=PASSWORD, roles=["manager"])
        sub = subs.subscribe(
            s,
            {"report": "visits", "by": "day", "frequency": "weekly", "email": "c@example.test"},
            Staff(permissions_of(["manager"])),
            created_by="chief",
        )
    token = subs.unsubscribe_token(runtime.settings.secret_key, sub.id)
    browser = app.test_client()
    page = browser.get(f"/reports/unsubscribe/{token}")
    form = dict(re.findall(r'name="(\w+)" value="([^"]*)"', page.get_data(as_text=True)))
    done = browser.post(f"/reports/unsubscribe/{token}", data=form)
    assert done.status_code == 200, done.get_data(as_text=True)[-600:]
    with runtime.db.session() as s:
        rows = s.scalars(
            select(AuditEntry).where(AuditEntry.request_id == done.headers["X-Request-ID"])
        ).all()
    assert [(row.status, row.object_type, row.object_id) for row in rows] == [
        (200, "report_subscriptions", str(sub.id))
    ]
