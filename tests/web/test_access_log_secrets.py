"""Access logs never show a token or a ticket secret, under gunicorn or the development
server."""

from __future__ import annotations

import logging
from datetime import timedelta
from types import SimpleNamespace

import requests
from gunicorn.config import Config

from web.gunicorn_conf import RedactingLogger, logger_class

SECRET = "clk_SeCrEt-token-value_123"
TICKET = "PatientTicketSecret0123456789"


def test_gunicorn_access_lines_hide_tokens_ticket_secrets_and_credential_headers(tmp_path):
    assert logger_class is RedactingLogger
    log_file = tmp_path / "access.log"
    cfg = Config()
    cfg.set("accesslog", str(log_file))
    cfg.set(
        "access_log_format",
        '%(h)s "%(r)s" %(s)s "%(f)s" %(U)s %(q)s {%({authorization}i)s} {%({raw_uri}e)s}',
    )
    logger = RedactingLogger(cfg)
    for uri, referer in (
        (f"/ws?token={SECRET}&x=1", "-"),
        (f"/board/3?token={SECRET}", "-"),
        ("/static/js/board.js", f"https://clinic.uz/board/3?token={SECRET}"),
        (f"/t/{TICKET}", "-"),
        (f"/ws?ticket={TICKET}", "-"),
        (f"/reports/unsubscribe/{TICKET}", "-"),
        # The patient's page asks for its ticket's state every few seconds, by the same secret.
        (f"/api/v1/public/tickets/{TICKET}?lang=uz", "-"),
        # ... and the Payme and Click links of its open invoice, by the same secret.
        (f"/payments/checkout/{TICKET}?lang=ru", "-"),
    ):
        path, _, query = uri.partition("?")
        environ = {
            "REQUEST_METHOD": "GET",
            "RAW_URI": uri,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "10.0.0.5",
            "HTTP_REFERER": referer,
        }
        request = SimpleNamespace(headers=[("AUTHORIZATION", f"Bearer {SECRET}")])
        response = SimpleNamespace(status="200 OK", headers=[], sent=10)
        logger.access(response, request, environ, timedelta(milliseconds=3))
    for handler in logger.access_log.handlers:
        handler.flush()
    written = log_file.read_text()
    assert written.count("\n") == 8
    assert SECRET not in written and TICKET not in written
    assert "token=[redacted]" in written and "/t/[redacted]" in written
    assert "/reports/unsubscribe/[redacted]" in written
    assert "/api/v1/public/tickets/[redacted]?lang=uz" in written
    assert "/payments/checkout/[redacted]?lang=ru" in written


def test_the_development_servers_access_lines_hide_tokens(live_server, admin_token, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    requests.get(f"{live_server}/api/v1/me?token={admin_token}", timeout=5)
    requests.get(f"{live_server}/t/{TICKET}", timeout=5)
    requests.get(f"{live_server}/payments/checkout/{TICKET}", timeout=5)
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("token=[redacted]" in line for line in lines), lines
    assert any("/t/[redacted]" in line for line in lines), lines
    assert any("/payments/checkout/[redacted]" in line for line in lines), lines
    assert admin_token not in caplog.text and TICKET not in caplog.text
