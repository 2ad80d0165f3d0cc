"""Report subscriptions: an address pasted with an invisible character (a zero-width space
from a chat, a byte-order mark, a direction mark) is no address the e-mail can go to."""

from __future__ import annotations

import pytest

from clinic.errors import ValidationFailed
from clinic.reports import subscriptions as subs
from tests.reports.test_subscriptions import DAILY, MANAGER, subscribe


@pytest.mark.parametrize(
    "email",
    [
        "boss@example.test\u200b",  # a zero-width space after it, pasted from a messenger
        "\ufeffboss@example.test",  # a byte-order mark before it
        "\u200eboss@example.test",  # a left-to-right mark
        "boss\u2060@example.test",  # a word joiner
        "boss@exam\u00adple.test",  # a soft hyphen
    ],
)
def test_an_address_with_an_invisible_character_is_refused(runtime, email):
    subscribe(runtime, email="first@example.test")  # the manager, and a subscription
    with runtime.db.transaction() as s:
        with pytest.raises(ValidationFailed) as refused:
            subs.subscribe(s, {**DAILY, "email": email}, MANAGER, created_by="manager")
    assert refused.value.reasons == {"email": ["email_format"]}
    with runtime.db.session() as s:
        assert [sub.email for sub in subs.all_subscriptions(s)] == ["first@example.test"]


def test_an_address_in_other_letters_is_still_taken(runtime):
    """An internationalised address (its letters Cyrillic) is an address: not refused."""
    subscribe(runtime, email="first@example.test")
    subscribe(runtime, email="начальник@клиника.uz")
    with runtime.db.session() as s:
        assert "начальник@клиника.uz" in [sub.email for sub in subs.all_subscriptions(s)]
