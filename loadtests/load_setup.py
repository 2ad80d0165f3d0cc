"""What the load test's users work on, made through the API once at the start of a run.

Credentials (no simulated user signs in; every request carries a bearer token):

- ``LOAD_ADMIN_USER`` and ``LOAD_ADMIN_PASSWORD``: an administrator, signed in once. From
  that session the setup creates the staff it needs (registrar, doctors, cashier, display
  board), each with its role; each of them signs in once and makes his own one-day API
  token (a token is made only by its owner), so every user works with its own role's
  permissions; or
- ``LOAD_TOKEN``: an administrator's API token, used as it is. A token makes no tokens, so
  then every simulated user works with this one.
"""

from __future__ import annotations

import os
import random
import uuid

import requests

PATIENT_WORDS = ["Иван", "Aziz", "Каримов", "Olimova", "Load"]
# Every simulated doctor takes one of these, in turn; more doctor users than doctors share
# rooms (and then meet 409 room_busy, as two doctors in one room would).
DOCTORS = int(os.environ.get("LOAD_DOCTORS", "4"))
PATIENTS = 8
SERVICE_PRICE = 15_000_000  # tiyin: 150,000 UZS
SERVICE_IKPU = "10302001001000000"  # a 17-digit IKPU (MXIK) code, for Payme's fiscal detail
# With its package code: a service lacking either gets no fiscal detail from Payme's
# CheckPerformTransaction, which then would not be measured as production answers it.
SERVICE_PACKAGE = "1545447"


def letters(n: int) -> str:
    return "".join(random.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(n))


class Api:
    """The setup's connection: an administrator's session (signed in, with its CSRF token)
    or his API token."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()
        self.signed_in = False

    def close(self) -> None:
        self.http.close()

    def sign_in(self) -> str:
        """Sign in from the environment's credentials; the administrator's API token."""
        token = os.environ.get("LOAD_TOKEN")
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"
            return token
        user, password = os.environ.get("LOAD_ADMIN_USER"), os.environ.get("LOAD_ADMIN_PASSWORD")
        if not (user and password):
            raise RuntimeError("set LOAD_TOKEN, or LOAD_ADMIN_USER and LOAD_ADMIN_PASSWORD")
        return self.sign_in_as(user, password, "load test")

    def sign_in_as(self, user: str, password: str, token_name: str) -> str:
        """Sign in as ``user`` by session, and make his own API token."""
        # Signing in by session needs the CSRF token of that session, as the pages send it.
        csrf = self.http.get(f"{self.base}/api/v1/session/csrf", timeout=10).json()["csrf_token"]
        self._keep_session_over_http()
        self.http.headers["X-CSRFToken"] = csrf
        answer = self.post("/api/v1/session", {"username": user, "password": password})
        self.http.headers["X-CSRFToken"] = answer["csrf_token"]
        self.signed_in = True
        return self.post("/api/v1/tokens", {"name": token_name, "days": 1})["token"]

    def _keep_session_over_http(self) -> None:
        # Production marks its session cookie Secure, and a load test reaches the stack over
        # plain HTTP (TLS is the reverse proxy's): without the cookie sent back, signing in
        # would fail its CSRF check for want of the session.
        for cookie in self.http.cookies:
            cookie.secure = False

    def post(self, path: str, body: dict) -> dict:
        answer = self.http.post(f"{self.base}{path}", json=body, timeout=30)
        self._keep_session_over_http()
        if answer.status_code >= 400:
            raise RuntimeError(f"POST {path}: {answer.status_code} {answer.text[:300]}")
        return answer.json()

    def staff_token(self, tag: str, role: str, admin_token: str, **extra) -> str:
        """A new user of ``role`` and his token; the administrator's token when the setup
        may not make tokens (it works with ``LOAD_TOKEN``)."""
        if not self.signed_in:
            return admin_token
        username, password = (
            f"load-{role}-{tag}-{uuid.uuid4().hex[:4]}",
            f"Load-{uuid.uuid4().hex}!",
        )
        self.post(
            "/api/v1/users",
            {"username": username, "password": password, "roles": [role], **extra},
        )
        own = Api(self.base)
        try:
            return own.sign_in_as(username, password, f"load test {role}")
        finally:
            own.close()


def prepare(base: str) -> dict:
    """A department with its shared queue, rooms and doctors, a priced service, patients
    with waiting tickets, and a token for each kind of user."""
    api = Api(base)
    try:
        return _make(api, uuid.uuid4().hex[:6])
    finally:
        api.close()


def _make(api: Api, tag: str) -> dict:
    admin = api.sign_in()
    department = api.post(
        "/api/v1/departments",
        {
            "code": f"L{tag}",
            "ticket_prefix": letters(3),
            "name_ru": "Нагрузка",
            "name_uz": "Yuklama",
            "name_en": "Load",
        },
    )
    # The department's shared queue: each doctor calls its next patient to his own room.
    queue = api.post(
        "/api/v1/queues",
        {"code": f"load-{tag}", "department_id": department["id"], "closes_at": "23:59"},
    )
    service = api.post(
        "/api/v1/services",
        {
            "code": f"LOAD-{tag}",
            "name_ru": "Приём (нагрузка)",
            "name_uz": "Qabul (yuklama)",
            "name_en": "Visit (load)",
            "price": SERVICE_PRICE,
            "ikpu_code": SERVICE_IKPU,
            "package_code": SERVICE_PACKAGE,
            "duration_minutes": 20,
        },
    )
    doctors = []
    for i in range(DOCTORS):
        room = api.post(
            "/api/v1/rooms",
            {"number": f"L{tag}-{i}", "name": f"Load {i}", "department_id": department["id"]},
        )
        doctor = api.post(
            "/api/v1/doctors",
            {
                "full_name": f"Doctor Load {tag} {i}",
                "department_id": department["id"],
                "room_id": room["id"],
            },
        )
        token = api.staff_token(tag, "doctor", admin, doctor_id=doctor["id"])
        doctors.append({"token": token, "room_id": room["id"]})
    patients = [
        api.post(
            "/api/v1/patients",
            {"full_name": f"{random.choice(PATIENT_WORDS)} Load {tag} {i}", "sex": "F"},
        )["id"]
        for i in range(PATIENTS)
    ]
    # Waiting from the start: the doctors call at once, and the patients follow these.
    tickets = [
        api.post(f"/api/v1/queues/{queue['id']}/tickets", {"patient_id": patient})
        for patient in patients
    ]
    return {
        "base": api.base,
        "tag": tag,
        "token": admin,
        "registrar_token": api.staff_token(tag, "registrar", admin),
        "cashier_token": api.staff_token(tag, "cashier", admin),
        "board_token": api.staff_token(tag, "display", admin),
        "doctors": doctors,
        "queue_id": queue["id"],
        "service_id": service["id"],
        "patient_ids": patients,
        "ticket_tokens": [t["patient_url"].rsplit("/", 1)[-1] for t in tickets],
    }
