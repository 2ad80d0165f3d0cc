"""API tokens (hashed, revocable, expiring) and the append-only audit log."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from clinic.models import ApiToken, AuditEntry, utcnow


def test_tokens_are_shown_once_and_stored_only_as_hashes(client, runtime):
    created = client.post("/api/v1/tokens", json={"name": "lab import script", "days": 30})
    assert created.status_code == 201
    token = created.get_json()["token"]
    assert token.startswith("clk_")
    assert created.headers["Cache-Control"] == "no-store"
    listed = client.get("/api/v1/tokens").get_json()
    assert all("token" not in t for t in listed)
    with runtime.db.engine.connect() as conn:
        rows = [tuple(map(str, r)) for r in conn.execute(text("SELECT * FROM api_tokens"))]
    assert rows and all(token not in value for row in rows for value in row)


def test_bearer_token_works_until_revoked(client, anon_client, runtime):
    body = client.post("/api/v1/tokens", json={"name": "script"}).get_json()
    auth = {"Authorization": f"Bearer {body['token']}"}
    anon_client.token_owners[body["token"]] = "admin"
    assert anon_client.get("/api/v1/me", headers=auth).status_code == 200
    # What a token does is its owner's, and its row names the token: after a leak, the log
    # tells which of the owner's rows the token made.
    spare = client.post("/api/v1/tokens", json={"name": "spare"}).get_json()
    by_token = anon_client.post(f"/api/v1/tokens/{spare['id']}/revoke", headers=auth)
    assert by_token.status_code == 200
    by_session = client.post(f"/api/v1/tokens/{body['id']}/revoke")
    assert by_session.status_code == 200
    with runtime.db.session() as s:
        rows = {
            r.request_id: r
            for r in s.scalars(select(AuditEntry).where(AuditEntry.action.like("account.%")))
        }
    token_row = rows[by_token.headers["X-Request-ID"]]
    assert token_row.username == "admin" and token_row.summary["token_id"] == body["id"]
    assert "token_id" not in rows[by_session.headers["X-Request-ID"]].summary
    refused = anon_client.get("/api/v1/me", headers=auth)
    assert refused.status_code == 401
    assert refused.mimetype == "application/problem+json"


def test_a_bearer_caller_gets_no_session_and_no_csrf_token(client, anon_client, runtime):
    """A script with a token asks who it is: nothing is written for it in the session store
    and no cookie comes back (it would be a new session at every call). With the session,
    the same answer carries the CSRF token the pages need."""
    token = client.post("/api/v1/tokens", json={"name": "script"}).get_json()["token"]
    sessions = f"{runtime.settings.redis_prefix}:session:*"
    before = set(runtime.redis.scan_iter(sessions))

    answer = anon_client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})

    assert answer.status_code == 200 and answer.get_json()["username"]
    assert "csrf_token" not in answer.get_json()
    assert "Set-Cookie" not in answer.headers
    assert set(runtime.redis.scan_iter(sessions)) == before
    assert client.get("/api/v1/me").get_json()["csrf_token"]


def test_a_token_notes_its_last_use_at_most_once_a_minute(client, anon_client, runtime):
    body = client.post("/api/v1/tokens", json={"name": "script"}).get_json()
    auth = {"Authorization": f"Bearer {body['token']}"}

    def last_used():
        with runtime.db.session() as s:
            return s.scalar(select(ApiToken.last_used_at).where(ApiToken.id == body["id"]))

    assert last_used() is None
    assert anon_client.get("/api/v1/me", headers=auth).status_code == 200
    first = last_used()
    assert first is not None
    assert anon_client.get("/api/v1/me", headers=auth).status_code == 200
    assert last_used() == first  # within the minute: not written again
    with runtime.db.transaction() as s:
        s.execute(
            update(ApiToken)
            .where(ApiToken.id == body["id"])
            .values(last_used_at=utcnow() - timedelta(minutes=2))
        )
    assert anon_client.get("/api/v1/queues", headers=auth).status_code == 200
    assert last_used() > first


def test_expired_token_is_refused(client, anon_client, runtime):
    body = client.post("/api/v1/tokens", json={"name": "short"}).get_json()
    with runtime.db.transaction() as s:
        s.execute(
            update(ApiToken)
            .where(ApiToken.id == body["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    response = anon_client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert response.status_code == 401


def test_users_see_only_their_own_tokens(client_as, make_user, runtime):
    cashier = client_as("cashier")
    mine = cashier.post("/api/v1/tokens", json={"name": "mine"}).get_json()
    admin_token = client_as("admin").post("/api/v1/tokens", json={"name": "admin's"}).get_json()
    assert [t["id"] for t in cashier.get("/api/v1/tokens").get_json()] == [mine["id"]]
    refused = cashier.post(f"/api/v1/tokens/{admin_token['id']}/revoke")
    assert refused.status_code == 404
    # The refused attempt is found under the token it was about.
    with runtime.db.session() as s:
        row = s.scalar(
            select(AuditEntry).where(AuditEntry.request_id == refused.headers["X-Request-ID"])
        )
    assert (row.object_type, row.object_id) == ("api_tokens", str(admin_token["id"]))


def test_audit_log_filters_and_csv(client, runtime):
    client.post(
        "/api/v1/tokens", json={"name": "report"}, headers={"User-Agent": "=cmd|' /C calc'!A0"}
    )
    page = client.get("/api/v1/audit?action=account.create_token").get_json()
    assert page["total"] == 1
    entry = page["items"][0]
    assert entry["username"] == "admin" and entry["roles"] == ["admin"]
    assert entry["object_type"] == "api_tokens" and entry["object_id"]
    exported = client.get("/api/v1/audit/export.csv?action=account.create_token")
    csv_text = exported.get_data(as_text=True)
    assert csv_text.splitlines()[0].startswith("id,at,username")
    assert "'=cmd" in csv_text  # a formula is neutralised for spreadsheets
    # The summary is the API's, as JSON: a script reading the export parses it.
    [row] = list(csv.DictReader(io.StringIO(csv_text)))
    assert json.loads(row["summary"]) == entry["summary"]


def test_the_action_filter_is_a_prefix_as_typed_not_a_like_pattern(client):
    """``%`` and ``_`` are characters of the prefix typed, not SQL wildcards: ``%`` would
    have matched every row, ``auth_`` the sign-ins as well as any other ``auth`` action."""
    client.post("/api/v1/tokens", json={"name": "report"})
    assert client.get("/api/v1/audit?action=account.create_token").get_json()["total"] == 1
    # Copied from the log's own table with a space around: still the same filter.
    spaced = {"action": " account.create_token ", "object_type": "api_tokens "}
    assert client.get("/api/v1/audit", query_string=spaced).get_json()["total"] == 1
    for typed in ("%", "account_create", "%create_token", "account.create%token"):
        assert client.get("/api/v1/audit", query_string={"action": typed}).get_json()["total"] == 0


def test_audit_rows_cannot_be_updated(client, runtime):
    client.post("/api/v1/tokens", json={"name": "x"})
    with pytest.raises(DBAPIError):
        with runtime.db.transaction() as s:
            s.execute(update(AuditEntry).values(username="someone-else"))


# SQLite test databases are emptied with DELETE between tests, so the delete rule is
# PostgreSQL's (the production database) only.
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_audit_rows_cannot_be_deleted_on_postgresql(client, runtime):
    client.post("/api/v1/tokens", json={"name": "x"})
    with pytest.raises(DBAPIError):
        with runtime.db.transaction() as s:
            s.execute(text("DELETE FROM audit_log"))
    with runtime.db.session() as s:
        assert s.scalar(select(AuditEntry.id)) is not None


def test_the_suite_wide_audit_check_notices_a_change_without_its_row(client, runtime):
    from tests.conftest import check_audit

    client.post("/api/v1/tokens", json={"name": "real change"})
    check_audit(runtime, client)  # every change so far has its row
    client.changes.append(("no-such-request-id", "admin", "POST /nowhere"))
    with pytest.raises(AssertionError, match="0 audit rows"):
        check_audit(runtime, client)
    client.changes.pop()


def test_audit_csv_quotes_a_formula_hidden_behind_a_tab(client):
    """Spreadsheets skip a leading tab and run the formula after it."""
    for agent in ("\t=cmd|' /C calc'!A0", "\t@SUM(1+1)*cmd|' /C calc'!A0"):
        client.post("/api/v1/tokens", json={"name": "report"}, headers={"User-Agent": agent})
    rows = list(
        csv.reader(
            io.StringIO(
                client.get("/api/v1/audit/export.csv?action=account.create_token").get_data(
                    as_text=True
                )
            )
        )
    )
    agents = [row[rows[0].index("user_agent")] for row in rows[1:]]
    assert sorted(agents) == ["'\t=cmd|' /C calc'!A0", "'\t@SUM(1+1)*cmd|' /C calc'!A0"]


def test_filtering_the_log_by_a_user_finds_the_failed_sign_ins_naming_him(
    client, anon_client, make_user
):
    make_user("cashier", username="amina")
    make_user("cashier", username="aminajon")
    guessed = anon_client.post(
        "/api/v1/session",
        json={"username": "Amina", "password": "wrong-guess-xyz"},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert guessed.status_code == 401
    other = anon_client.post(
        "/api/v1/session", json={"username": "aminajon", "password": "wrong-guess-xyz"}
    )
    assert other.status_code == 401
    # As an administrator types it, spaces and capitals included.
    for typed in ("amina", " Amina "):
        found = client.get("/api/v1/audit", query_string={"username": typed}).get_json()
        assert [(e["action"], e["ip"]) for e in found["items"]] == [
            ("auth.sign_in_failed", "10.1.2.3")
        ]
    page = client.get("/admin/audit?username=amina", headers={"Accept": "text/html"})
    assert "10.1.2.3" in page.get_data(as_text=True)


def test_an_export_of_more_rows_than_it_holds_is_refused_not_cut_short(client, monkeypatch):
    """Cut at its limit, the oldest-first export passed for the whole period with its newest
    rows missing: now the filter is to be narrowed, and the answer names ``since``."""
    from clinic.accounts import audit

    for name in ("one", "two", "three"):
        client.post("/api/v1/tokens", json={"name": name})
    monkeypatch.setattr(audit, "EXPORT_MOST_ROWS", 2)
    refused = client.get("/api/v1/audit/export.csv")
    assert refused.status_code == 422 and list(refused.get_json()["errors"]) == ["since"]
    narrowed = client.get("/api/v1/audit/export.csv?action=auth.sign_in")
    assert narrowed.status_code == 200 and len(narrowed.get_data(as_text=True).splitlines()) == 2


def test_a_kiosk_account_makes_no_token_while_the_display_s_and_the_staff_s_do(client_as, runtime):
    """The kiosk's session stands open in the hall to whoever walks up: a token made there
    would issue tickets from anywhere for up to a year. Refused by the API and by the page's
    form, and nothing is made; a display account or a registrar still makes one."""
    kiosk = client_as("kiosk")
    by_api = kiosk.post("/api/v1/tokens", json={"name": "mine now", "days": 366})
    assert by_api.status_code == 403
    assert "kiosk" in by_api.get_json()["detail"]
    by_form = kiosk.post("/account/tokens", data={"name": "mine now", "days": "366"})
    assert by_form.status_code == 403
    with runtime.db.session() as s:
        assert s.scalar(select(func.count(ApiToken.id))) == 0
    for role in ("display", "registrar"):
        made = client_as(role).post("/api/v1/tokens", json={"name": "board", "days": 30})
        assert made.status_code == 201, made.get_json()
