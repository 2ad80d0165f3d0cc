"""A failed statement's error, as it is logged, carries no value the statement was given."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError


def test_a_failed_statement_says_what_failed_and_not_the_values_it_was_given(runtime):
    secret = "PatientTicketSecret-9f3a1c"
    with pytest.raises(DBAPIError) as failed:
        with runtime.db.engine.connect() as conn:
            conn.execute(text("SELECT :token FROM no_such_table"), {"token": secret})
    said = str(failed.value)
    assert "no_such_table" in said  # what failed, still said
    assert secret not in said
