"""An error that no handler of ours answers (one raised by an after-request hook) reaches
Flask's own handler, whose log line names the path: a patient's ticket secret in it is masked
there as in every other line about a failed request (docs/security.md, Secrets in logs)."""

from __future__ import annotations

import logging

import pytest

SECRET = "PatientTicketSecret0123456789abcdefghijklmn"


@pytest.mark.own_app  # adds an after-request hook of its own
def test_an_error_flask_itself_logs_shows_no_ticket_secret(app, caplog):
    app.config["TESTING"] = False  # as in production: the error is answered, not raised

    failed = []

    def failing(response):
        if not failed:  # once: the answer to the error is then made as usual
            failed.append(response)
            raise RuntimeError("the after-request hook failed")
        return response

    app.after_request(failing)
    caplog.set_level(logging.ERROR)

    answer = app.test_client().get(f"/api/v1/public/tickets/{SECRET}")

    assert answer.status_code == 500
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert [r.getMessage() for r in logged] == [
        "Exception on GET /api/v1/public/tickets/[redacted]"
    ]
    assert SECRET not in caplog.text
