"""A WebSocket opened with the session cookie must come from our own pages (or an origin in
CLINIC_ALLOWED_ORIGINS); sockets with a token or a ticket secret need no Origin."""

from __future__ import annotations

import dataclasses

import pytest
import websocket

from tests.conftest import ONE_BACKEND
from tests.wsclient import WSClient

# The socket's origin check, not database rules: they run on one backend (see tests/conftest.py).
pytestmark = pytest.mark.parametrize("backend", [ONE_BACKEND])


def _cookie(web_client) -> str:
    return f"clinic_session={web_client.get_cookie('clinic_session').value}"


def test_a_session_socket_from_another_origin_or_none_is_refused(live_server, client):
    for origin in ("http://evil.example", "null", "http://127.0.0.1:1", None):
        options = {"origin": origin} if origin else {"suppress_origin": True}
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            WSClient(live_server, cookie=_cookie(client), **options)
        assert refused.value.status_code == 403, origin


def test_a_session_socket_from_our_own_pages_is_accepted(live_server, client):
    ws = WSClient(live_server, cookie=_cookie(client), origin=live_server)
    assert ws.subscribe("job:own")[-1]["op"] == "subscribed"
    ws.close()


def test_an_origin_listed_in_the_settings_is_accepted(live_server, client, runtime, monkeypatch):
    listed = dataclasses.replace(runtime.settings, allowed_origins=("https://desk.clinic.uz",))
    monkeypatch.setattr(runtime, "settings", listed)
    ws = WSClient(live_server, cookie=_cookie(client), origin="https://desk.clinic.uz")
    assert ws.subscribe("job:listed")[-1]["op"] == "subscribed"
    ws.close()


def test_token_sockets_may_come_from_anywhere_or_nowhere(live_server, admin_token):
    from_elsewhere = WSClient(live_server, token=admin_token, origin="http://screen.local")
    without_origin = WSClient(live_server, query=f"?token={admin_token}", suppress_origin=True)
    for ws in (from_elsewhere, without_origin):
        assert ws.subscribe("job:screen")[-1]["op"] == "subscribed"
        ws.close()


def test_a_patients_page_opened_in_a_staff_browser_reads_as_the_patient(
    live_server, runtime, client_as
):
    from tests.payments.fixtures import issue_ticket, make_queue

    with runtime.db.transaction() as s:
        ticket = issue_ticket(s, make_queue(s))
        secret, ticket_id, queue_id = ticket.token, ticket.id, ticket.queue_id
    # A cashier reads no queue; the page names the ticket, and the socket is the patient's.
    cashier = client_as("cashier")
    ws = WSClient(
        live_server, cookie=_cookie(cashier), origin=live_server, query=f"?ticket={secret}"
    )
    for channel in (f"ticket:{ticket_id}", f"board:{queue_id}"):
        assert ws.subscribe(channel)[-1]["op"] == "subscribed", channel
    ws.send({"op": "subscribe", "channel": f"queue:{queue_id}"})  # and no more than his
    assert ws.wait_closed() == 1008
