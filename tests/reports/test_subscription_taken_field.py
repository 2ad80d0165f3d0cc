"""Report subscriptions: the same report to an address that already receives it as often is
refused at the address, the field the manager typed, naming the first subscription."""

from __future__ import annotations

import pytest

from clinic.errors import Conflict
from clinic.reports import subscriptions as subs
from tests.reports.test_subscriptions import DAILY, MANAGER, subscribe


def test_an_address_that_already_receives_the_report_is_refused_at_its_field(runtime):
    first = subscribe(runtime)
    with runtime.db.transaction() as s:
        with pytest.raises(Conflict) as refused:
            subs.subscribe(s, dict(DAILY), MANAGER, created_by="manager")
    assert refused.value.code == "already_subscribed"
    assert set(refused.value.errors) == {"email"}
    assert str(first) in refused.value.errors["email"][0]
