"""An audit row is written whatever a caller sent: NUL and lone surrogates are stored escaped
(PostgreSQL refuses both in text and jsonb)."""

from __future__ import annotations

import json

from sqlalchemy import select

from clinic.accounts import audit
from clinic.models import AuditEntry

HOSTILE_BODY = '{"username": "a\\u0000b", "full_name": "\\ud800x", "k\\u0000": ["\\udfff"]}'


def _row(runtime, request_id: str) -> AuditEntry:
    with runtime.db.session() as s:
        return s.scalars(select(AuditEntry).where(AuditEntry.request_id == request_id)).one()


def test_refused_requests_with_nul_and_surrogates_are_audited(client_as, anon_client, runtime):
    registrar = client_as("registrar")
    refused = registrar.post("/api/v1/users", data=HOSTILE_BODY, content_type="application/json")
    # The input boundary refuses the body before the permission is asked (422 naming the
    # field); either way the refusal is audited, and nothing raw reaches the row.
    assert refused.status_code == 422
    row = _row(runtime, refused.headers["X-Request-ID"])
    assert row.status == 422 and row.username == registrar.username
    stored = json.dumps(row.summary, ensure_ascii=False)
    assert "\x00" not in stored
    stored.encode("utf-8")  # a lone surrogate would not encode
    # A NUL in the path (an anonymous caller's, refused before any view).
    refused = anon_client.post("/api/v1/users/a%00b/unlock", json={})
    assert 400 <= refused.status_code < 500
    row = _row(runtime, refused.headers["X-Request-ID"])
    assert "\x00" not in row.action and "\x00" not in row.summary["path"]


def test_every_text_column_takes_what_a_caller_sent(runtime):
    nasty = "x\x00y\ud800z"
    with runtime.db.transaction() as s:
        entry = audit.record(
            s,
            actor=audit.Actor(None, nasty),
            action=nasty,
            object_type=nasty,
            object_id=nasty * 20,
            summary={nasty: [nasty]},
            ip=nasty,
            user_agent=nasty,
            request_id=nasty,
        )
        entry_id = entry.id
    with runtime.db.session() as s:
        stored = s.get(AuditEntry, entry_id)
        assert stored.action == stored.user_agent == "x\\u0000y\\ud800z"
        assert stored.summary == {"x\\u0000y\\ud800z": ["x\\u0000y\\ud800z"]}
        assert len(stored.object_id) == 64


def test_a_body_with_nan_or_infinity_is_audited_with_them_as_text(client, runtime):
    # JSON has no NaN or Infinity, but a parser reads them; PostgreSQL's jsonb refuses them.
    for body, kept in (
        ('{"full_name": "A", "sex": "M", "phone": NaN}', {"phone": "NaN"}),
        ('{"full_name": "A", "sex": "M", "notes": [Infinity, -Infinity]}', {}),
        ("1e999999", {"body": "Infinity"}),
    ):
        refused = client.post("/api/v1/patients", data=body, content_type="application/json")
        assert refused.status_code == 422
        row = _row(runtime, refused.headers["X-Request-ID"])
        assert row.status == 422 and row.username == client.username
        assert kept.items() <= row.summary["data"].items()
    with runtime.db.transaction() as s:
        entry = audit.record(
            s,
            actor=None,
            action="x",
            summary={"n": float("nan"), "i": [float("inf"), float("-inf"), 1.5]},
        )
        entry_id = entry.id
    with runtime.db.session() as s:
        assert s.get(AuditEntry, entry_id).summary == {
            "n": "NaN",
            "i": ["Infinity", "-Infinity", 1.5],
        }


def test_a_secret_address_sent_a_method_it_has_not_is_audited_with_the_secret_masked(
    anon_client, runtime
):
    """A patient's ticket secret (his page, its state, its invoice's links) or an API token in
    an address that answers no such method (405) or no such path (404) is no endpoint: the
    row's action is the path, and it is masked as the summary's is. Whoever reads the log
    (a manager) would otherwise hold the secret that opens the patient's page and takes him
    out of the queue."""
    secret = "PatientTicketSecret0123456789"
    for method, path, status in (
        ("POST", f"/t/{secret}", 405),
        ("PUT", f"/payments/checkout/{secret}", 405),
        ("DELETE", f"/api/v1/public/tickets/{secret}", 405),
        ("POST", f"/reports/unsubscribe/{secret}/more", 404),
        ("POST", "/api/v1/clk_SeCrEt-token-value_123", 404),
    ):
        answer = anon_client.open(path, method=method)
        assert answer.status_code == status, path
        row = _row(runtime, answer.headers["X-Request-ID"])
        stored = json.dumps([row.action, row.object_id, row.summary])
        assert secret not in stored and "SeCrEt" not in stored, stored
        assert "[redacted]" in row.action
