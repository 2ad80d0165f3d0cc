"""deploy/nginx/clinic.conf, run by Debian's nginx in front of the app: HTTPS and a WebSocket
travel through it, plain HTTP is sent to HTTPS, and /metrics stays inside for anyone without
the metrics token."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import socket
import ssl
import subprocess  # nosec B404 - starts nginx and openssl for the test
import time
from pathlib import Path

import pytest
import requests
import websocket

from tests.conftest import ONE_BACKEND, free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "nginx" / "clinic.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@pytest.fixture(params=[ONE_BACKEND])
def backend(request) -> str:
    return request.param


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(  # nosec B603 B607
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def site_config(
    upstream_port: int, http_port: int, https_port: int, cert: Path, key: Path, log: Path
):
    """The example as it is, but for this test's addresses, certificate and log file."""
    text = EXAMPLE.read_text()
    text = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", text)
    replacements = {
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{upstream_port};",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "/etc/letsencrypt/live/clinic.example.uz/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/clinic.example.uz/privkey.pem": str(key),
        "/var/log/nginx/clinic.access.log": str(log),
    }
    for old, new in replacements.items():
        assert old in text, f"the example no longer has {old!r}"
        text = text.replace(old, new)
    return text


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, process.stderr.read().decode()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            assert time.monotonic() < deadline, "nginx did not listen"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def proxy(live_server, tmp_path, certificate):
    if not Path(NGINX).exists():
        pytest.fail("nginx is not installed: bash .ci/run installs nginx-light")
    upstream_port = int(live_server.rsplit(":", 1)[1])
    http_port, https_port = free_port(), free_port()
    cert, key = certificate
    (tmp_path / "clinic.conf").write_text(
        site_config(upstream_port, http_port, https_port, cert, key, tmp_path / "access.log")
    )
    (tmp_path / "nginx.conf").write_text(f"""
worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log warn;
user root;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    include {tmp_path}/clinic.conf;
}}
""")
    process = subprocess.Popen(  # nosec B603
        [NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(https_port, process)
        yield {
            "https": f"https://127.0.0.1:{https_port}",
            "http_port": http_port,
            "ca": cert,
            "log": tmp_path / "access.log",
        }
    finally:
        process.terminate()
        process.wait(10)


def test_https_requests_reach_the_app_through_nginx(proxy):
    answer = requests.get(proxy["https"] + "/health/live", verify=str(proxy["ca"]), timeout=10)
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}
    # nginx names each request; the app answers with that id (and logs it).
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-ID"])
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert answer.headers["Server"] == "nginx"  # no version for a scanner to look up


def test_plain_http_is_sent_to_https(proxy):
    answer = requests.get(
        f"http://127.0.0.1:{proxy['http_port']}/queue/desk", allow_redirects=False, timeout=10
    )
    assert answer.status_code == 301
    assert answer.headers["Location"] == "https://127.0.0.1/queue/desk"
    assert "nginx/" not in answer.text and answer.headers["Server"] == "nginx"


def test_metrics_are_not_served_through_the_public_proxy(proxy):
    answer = requests.get(proxy["https"] + "/metrics", verify=str(proxy["ca"]), timeout=10)
    assert answer.status_code == 404


def test_metrics_through_the_proxy_open_only_with_the_metrics_token(proxy, runtime, monkeypatch):
    def scrape(password):
        return requests.get(
            proxy["https"] + "/metrics",
            auth=("metrics", password),
            verify=str(proxy["ca"]),
            timeout=10,
        )

    # No token set: the app serves only direct calls from its own machine, never the proxy's.
    assert scrape("anything").status_code == 401
    secured = dataclasses.replace(runtime.settings, metrics_token="the-metrics-token")
    monkeypatch.setattr(runtime, "settings", secured)
    assert scrape("wrong").status_code == 401
    answer = scrape("the-metrics-token")
    assert answer.status_code == 200 and "clinic_queue_depth" in answer.text


def test_a_websocket_is_upgraded_and_carried_through_nginx(proxy, admin_token):
    ws = websocket.create_connection(
        proxy["https"].replace("https://", "wss://") + "/ws",
        header=[f"Authorization: Bearer {admin_token}"],
        sslopt={"ca_certs": str(proxy["ca"]), "cert_reqs": ssl.CERT_REQUIRED},
        timeout=10,
    )
    try:
        assert json.loads(ws.recv())["op"] == "hello"
        ws.send(json.dumps({"op": "subscribe", "channel": "job:nginx-test"}))
        ops = [json.loads(ws.recv())["op"] for _ in range(2)]
        assert ops == ["snapshot", "subscribed"]
        ws.send(json.dumps({"op": "ping"}))
        assert json.loads(ws.recv())["op"] == "pong"
    finally:
        ws.close()


def test_nginx_logs_each_request_with_its_id_and_none_of_the_secrets_in_addresses(proxy):
    secret = "PatientTicketSecret0123456789"
    https, ca = proxy["https"], str(proxy["ca"])
    ids = []
    for path in (
        f"/t/{secret}",
        f"/api/v1/public/tickets/{secret}?lang=uz",
        f"/payments/checkout/{secret}?lang=uz",
        "/health/live",
    ):
        ids.append(requests.get(https + path, verify=ca, timeout=10).headers["X-Request-ID"])
    referer = {"Referer": f"https://clinic.uz/board/3?token={secret}"}
    requests.get(https + f"/board/3?token={secret}", headers=referer, verify=ca, timeout=10)
    requests.get(
        f"http://127.0.0.1:{proxy['http_port']}/t/{secret}", allow_redirects=False, timeout=10
    )
    # nginx writes a request's line after it has sent the answer: wait for the last one.
    deadline = time.monotonic() + 10
    written = proxy["log"].read_text()
    while written.count("\n") < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
        written = proxy["log"].read_text()
    assert written.count("\n") == 6, written
    assert secret not in written
    assert "/t/[redacted]" in written and "/api/v1/public/tickets/[redacted]" in written
    assert "/payments/checkout/[redacted]" in written
    for request_id in ids:
        assert f"request_id={request_id}" in written


def test_a_signed_in_pages_websocket_reaches_the_app_as_the_site_through_nginx(
    proxy, app, client, monkeypatch
):
    """The staff pages open their socket with the session cookie, and the app accepts it only
    from the site's own origin, as the request reached the site (CLINIC_PROXY_COUNT=1 reads
    nginx's headers). nginx gives a location with proxy_set_header of its own none of the
    server's: the socket came without Host, X-Forwarded-Proto, -For and X-Request-ID, as
    http://clinic_web, and every signed-in page's socket was refused 403."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    monkeypatch.setattr(app, "wsgi_app", ProxyFix(app.wsgi_app, x_for=1, x_proto=1))
    cookie = f"clinic_session={client.get_cookie('clinic_session').value}"
    ws = websocket.create_connection(
        proxy["https"].replace("https://", "wss://") + "/ws",
        cookie=cookie,
        # The site on its standard port, as nginx's $host names it.
        origin="https://127.0.0.1",
        sslopt={"ca_certs": str(proxy["ca"]), "cert_reqs": ssl.CERT_REQUIRED},
        timeout=10,
    )
    try:
        assert json.loads(ws.recv())["op"] == "hello"
    finally:
        ws.close()
