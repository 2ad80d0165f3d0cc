"""One input boundary: text no layer below can store, nesting no parser survives and ids that
name nothing are a 4xx naming the field, over HTTP and on the WebSocket, never a 5xx."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from clinic.demo import load_demo_data
from clinic.models import Job
from clinic.reference.price_list_file import parse_price, parse_whole
from tests.wsclient import WSClient
from web.permissions import public

PROBLEM = "application/problem+json"
DEEP = "[" * 5000 + "]" * 5000


@pytest.fixture
def clinic(runtime, client):
    """The demo clinic (after the administrator ``client``: the demo data has one too)."""
    with runtime.db.session() as session:
        load_demo_data(session)


def _refused(response, status: int, field: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    assert field in response.get_json()["errors"], response.get_json()


def test_a_nul_in_an_anonymous_path_is_a_400_naming_the_path(anon_client):
    _refused(anon_client.get("/t/%00abc"), 400, "path")
    _refused(anon_client.get("/api/v1/public/tickets/a%00b"), 400, "path")


def test_a_nul_in_a_query_parameter_is_a_422_naming_it(client):
    _refused(client.get("/api/v1/patients?q=ab%00"), 422, "q")


def test_a_nul_in_json_is_a_422_naming_the_field_even_when_signing_in(anon_client):
    response = anon_client.post(
        "/api/v1/session", json={"username": "admin\u0000", "password": "x"}
    )
    _refused(response, 422, "username")


def test_a_nul_in_a_nested_json_field_is_named_by_its_path(client):
    response = client.post("/api/v1/patients", json={"full_name": "A", "notes": ["x\u0000"]})
    _refused(response, 422, "notes.0")


def test_a_nul_in_a_form_field_is_a_422_naming_it(app):
    # A plain client: storing the refused attempt's audit row is the audit log's own concern.
    response = FlaskClient(app).post("/login", data={"username": "a\u0000", "password": "x"})
    _refused(response, 422, "username")


def _upload(name: bytes, content_type: bytes) -> bytes:
    return (
        b'--XX\r\nContent-Disposition: form-data; name="file"; filename="' + name + b'"\r\n'
        b"Content-Type: " + content_type + b"\r\n\r\ncode,name,price\r\nA1,X,1000\r\n--XX--\r\n"
    )


def test_a_nul_in_an_uploaded_file_name_or_type_is_a_422_naming_the_file(runtime, client):
    for body in (_upload(b"list\x00.csv", b"text/csv"), _upload(b"list.csv", b"text/csv\x00")):
        response = client.post(
            "/api/v1/services/import", data=body, content_type="multipart/form-data; boundary=XX"
        )
        _refused(response, 422, "file")
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 0


def test_a_lone_surrogate_in_json_is_a_422_naming_the_field(anon_client, client):
    body = '{"username": "\\ud800", "password": "x"}'
    response = anon_client.post("/api/v1/session", data=body, content_type="application/json")
    _refused(response, 422, "username")
    response = client.post(
        "/api/v1/patients",
        data='{"full_name": "A", "sex": "M", "\\udfff": 1}',
        content_type="application/json",
    )
    _refused(response, 422, "\ufffd")  # named, but not with the character refused


def test_deeply_nested_json_is_a_400_not_a_recursion_error(anon_client, client):
    response = anon_client.post("/api/v1/session", data=DEEP, content_type="application/json")
    _refused(response, 400, "_schema")
    response = client.patch(
        "/api/v1/services/1", data='{"price": ' + DEEP + "}", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.mimetype == PROBLEM


def test_the_websocket_answers_bad_text_with_an_error_frame_and_stays_open(
    live_server, admin_token
):
    ws = WSClient(live_server, token=admin_token)
    ws.ws.send("[" * 2000 + "]" * 2000)
    assert ws.next() == {
        "op": "error",
        "code": "bad_message",
        "detail": "_schema: nested deeper than 32 levels",
    }
    ws.ws.send('{"op": "subscribe", "channel": "queue:1\\u0000"}')
    error = ws.next()
    assert error["op"] == "error" and error["detail"].startswith("channel:"), error
    ws.send({"op": "ping"})
    assert ws.next() == {"op": "pong"}
    ws.close()


def test_a_json_number_longer_than_python_reads_is_a_400_not_a_500(anon_client, client):
    number = "9" * 5000
    body = '{"username": "a", "password": "b", "x": %s}' % number
    response = anon_client.post("/api/v1/session", data=body, content_type="application/json")
    _refused(response, 400, "_schema")
    body = '{"full_name": "A", "sex": "M", "notes": [%s]}' % number
    _refused(
        client.post("/api/v1/patients", data=body, content_type="application/json"), 400, "_schema"
    )


def test_a_ticket_for_a_patient_that_does_not_exist_is_a_422(clinic, client_as):
    registrar = client_as("registrar")
    response = registrar.post("/api/v1/queues/1/tickets", json={"patient_id": 999_999})
    _refused(response, 422, "patient_id")


@pytest.mark.own_app  # adds a route of its own
def test_an_integrity_error_that_slips_past_the_services_is_a_409(app, anon_client):
    @public
    def clash():
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    app.add_url_rule("/api/v1/test-clash", "test_clash", clash)
    response = anon_client.get("/api/v1/test-clash")
    assert response.status_code == 409
    assert response.mimetype == PROBLEM


def test_a_queue_time_with_a_utc_offset_is_a_422_naming_the_field(clinic, client):
    body = {"code": "tz", "department_id": 1, "online_from": "08:00+05:00", "online_until": "10:00"}
    _refused(client.post("/api/v1/queues", json=body), 422, "online_from")
    _refused(client.patch("/api/v1/queues/1", json={"closes_at": "20:00:00Z"}), 422, "closes_at")


def test_full_width_digits_are_not_numbers(client):
    _refused(client.patch("/api/v1/services/1", json={"price": "１２３"}), 422, "price")
    _refused(client.get("/api/v1/services?page=１"), 422, "page")
    _refused(client.get("/api/v1/doctors?department_id=１"), 422, "department_id")
    assert client.get("/api/v1/services/１").status_code == 404
    _refused(client.get("/api/v1/services?page=1_0"), 422, "page")
    _refused(client.get("/api/v1/doctors?department_id=1_0"), 422, "department_id")
    assert client.get("/api/v1/services?page=%2B1%20").status_code == 200
    with pytest.raises(ValueError):
        parse_price("１２３")
    with pytest.raises(ValueError):
        parse_whole("１２")
    assert parse_price("150 000") == 15_000_000


def test_a_chunked_body_over_the_limit_is_a_413(app, live_server):
    limit = app.config["MAX_CONTENT_LENGTH"]
    url = urlsplit(live_server)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    chunk = b"x" * 65536

    def body():
        for _ in range(limit // len(chunk) + 2):
            yield chunk

    connection.request(
        "POST",
        "/api/v1/session",
        body=body(),
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        encode_chunked=True,
    )
    response = connection.getresponse()
    assert response.status == 413
    assert response.getheader("Content-Type") == PROBLEM
    connection.close()


def test_digits_that_are_not_ascii_in_page_addresses_are_no_numbers_not_a_500(client):
    """ "²" is a digit to str.isdigit and no number to int(): read as no number at all."""
    html = {"Accept": "text/html"}
    for path in (
        "/services?page=²",
        "/visits/calendar?doctor=²",
        "/visits/calendar?department=1²",
        "/admin/audit?page=²",
    ):
        assert client.get(path, headers=html).status_code == 200, path
    assert client.get("/queue/doctor?queue=²", headers=html).status_code == 404
