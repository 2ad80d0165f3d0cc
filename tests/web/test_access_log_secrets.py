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


def test_gunicorn_lines_are_json_objects_in_production_and_text_elsewhere(tmp_path, monkeypatch):
    """A log collector reads one JSON object a line in production: gunicorn's own lines
    (its start, a worker's timeout) and its access lines too, not only the application's."""
    import json

    for env, json_lines in (({"CLINIC_ENV": "production"}, True), ({}, False),
                            ({"CLINIC_LOG_FORMAT": "json"}, True)):  # fmt: skip
        monkeypatch.delenv("CLINIC_ENV", raising=False)
        monkeypatch.delenv("CLINIC_LOG_FORMAT", raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        cfg, error_file, access_file = Config(), tmp_path / "error.log", tmp_path / "access.log"
        cfg.set("errorlog", str(error_file))
        cfg.set("accesslog", str(access_file))
        logger = RedactingLogger(cfg)
        logger.info("Booting worker with pid: %s", 42)
        environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/", "PATH_INFO": "/", "QUERY_STRING": "",
                   "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.5"}  # fmt: skip
        response = SimpleNamespace(status="200 OK", headers=[], sent=10)
        logger.access(response, SimpleNamespace(headers=[]), environ, timedelta(milliseconds=3))
        for log in (logger.error_log, logger.access_log):
            for handler in log.handlers:
                handler.flush()
        lines = error_file.read_text().splitlines() + access_file.read_text().splitlines()
        assert len(lines) == 2, lines
        if json_lines:
            objects = [json.loads(line) for line in lines]
            assert "Booting worker with pid: 42" in objects[0]["message"], objects
            assert objects[1]["message"].startswith("10.0.0.5"), objects
        else:
            assert all(not line.startswith("{") for line in lines), lines
        error_file.unlink()
        access_file.unlink()
