"""Smoke test of a running system: ready, a ticket issued through the API is seen on a WebSocket.

    python .ci/smoke.py BASE_URL USERNAME < password

Run by CI/CD inside the freshly built image (``docker compose exec -T web python - ...``), so
it needs nothing the image lacks: the standard library and simple-websocket. USERNAME must
be an administrator (made with ``clinic users create ... --password-stdin``). Exit 0 when
everything was seen, 1 with the reason otherwise.
"""

from __future__ import annotations

import http.cookiejar
import json
import sys
import time
import urllib.request
import uuid

from simple_websocket import Client

TIMEOUT = 10


class Api:
    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        # Production marks its session cookie Secure; this script talks to the web container
        # over plain HTTP from inside it (TLS is the reverse proxy's), so it sends the cookie
        # back over http as well.
        policy = http.cookiejar.DefaultCookiePolicy(secure_protocols=("https", "wss", "http"))
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar(policy))
        )
        self.headers: dict[str, str] = {}

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        headers = {**self.headers, "Content-Type": "application/json"}
        request = urllib.request.Request(self.base + path, data, headers, method=method)
        # Our own base URL, given on the command line by the workflow.
        with self.opener.open(request, timeout=TIMEOUT) as answer:  # nosec B310
            return json.loads(answer.read() or b"{}")


def wait_ready(api: Api, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            api.call("GET", "/health/ready")
            return
        except OSError as exc:  # HTTPError (503) included
            if time.monotonic() > deadline:
                raise SystemExit(f"smoke: /health/ready did not answer 200: {exc}") from None
            time.sleep(2)


def main(base: str, username: str, password: str) -> None:
    api = Api(base)
    wait_ready(api)
    print("smoke: /health/ready 200")
    csrf = api.call("GET", "/api/v1/session/csrf")["csrf_token"]
    api.headers["X-CSRFToken"] = csrf
    signed_in = api.call("POST", "/api/v1/session", {"username": username, "password": password})
    api.headers["X-CSRFToken"] = signed_in["csrf_token"]
    token = api.call("POST", "/api/v1/tokens", {"name": "smoke", "days": 1})["token"]
    api.headers = {"Authorization": f"Bearer {token}"}
    tag = uuid.uuid4().hex[:6]
    department = api.call(
        "POST",
        "/api/v1/departments",
        {"code": f"S{tag}", "ticket_prefix": "SMK", "name_ru": "Проверка", "name_uz": "Sinov",
         "name_en": "Smoke"},
    )  # fmt: skip
    # Open until midnight: a smoke run at any hour must be able to issue its ticket.
    queue = api.call(
        "POST",
        "/api/v1/queues",
        {"code": f"smoke-{tag}", "department_id": department["id"], "closes_at": "23:59"},
    )
    channel = f"board:{queue['id']}"
    ws_url = api.base.replace("http", "ws", 1) + "/ws"
    ws = Client.connect(ws_url, headers={"Authorization": f"Bearer {token}"})
    try:
        ws.send(json.dumps({"op": "subscribe", "channel": channel}))
        deadline = time.monotonic() + TIMEOUT
        subscribed = issued = None
        while time.monotonic() < deadline:
            raw = ws.receive(timeout=max(0.1, deadline - time.monotonic()))
            message = json.loads(raw) if raw else {}
            if message.get("op") == "subscribed" and subscribed is None:
                subscribed = message
                issued = api.call("POST", f"/api/v1/queues/{queue['id']}/tickets", {})
                print(f"smoke: ticket {issued.get('number')} issued")
            elif message.get("op") == "event" and message.get("channel") == channel:
                print(f"smoke: {message['type']} seen on {channel}")
                return
        raise SystemExit(f"smoke: no event on {channel} within {TIMEOUT} s")
    finally:
        ws.close()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.stdin.readline().rstrip("\n"))
