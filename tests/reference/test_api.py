"""The reference-data API: create, list, filter, page, change, deactivate; errors as problems."""

from __future__ import annotations

import pytest

from clinic.demo import load_demo_data
from tests.wsclient import WSClient

PROBLEM = "application/problem+json"
THERAPY = {"code": "THER", "ticket_prefix": "T", "name_ru": "Терапия", "name_uz": "Terapiya"}
THERAPY["name_en"] = "Therapy"


def _service(code, department_id=None, **extra):
    body = {
        "code": code,
        "name_ru": f"Услуга {code}",
        "name_uz": f"Xizmat {code}",
        "name_en": f"Service {code}",
        "price": 15_000_000,
        "ikpu_code": "08601001000000001",
        "vat_percent": 0,
        **extra,
    }
    if department_id is not None:
        body["department_id"] = department_id
    return body


def _created(response):
    assert response.status_code == 201, response.json
    return response.json


def test_a_created_department_is_found_at_its_location(client):
    response = client.post("/api/v1/departments", json=THERAPY)
    created = _created(response)
    assert response.headers["Location"].endswith(f"/api/v1/departments/{created['id']}")
    fetched = client.get(response.headers["Location"])
    assert fetched.status_code == 200
    assert fetched.json == created
    assert created["active"] is True and created["ticket_prefix"] == "T"


def test_services_are_listed_in_pages_filtered_by_department_and_words(client):
    therapy = _created(client.post("/api/v1/departments", json=THERAPY))["id"]
    lab = {**THERAPY, "code": "LAB", "ticket_prefix": "L", "name_ru": "Лаборатория"}
    lab = _created(client.post("/api/v1/departments", json=lab))["id"]
    for code in ("T-3", "T-1", "T-2"):
        _created(client.post("/api/v1/services", json=_service(code, therapy)))
    blood = _service("L-1", lab, name_ru="Общий анализ крови", name_uz="Umumiy qon tahlili")
    _created(client.post("/api/v1/services", json=blood))

    page = client.get("/api/v1/services?page=1&page_size=2").json
    assert (page["total"], page["page"], page["page_size"]) == (4, 1, 2)
    assert [s["code"] for s in page["items"]] == ["L-1", "T-1"]
    rest = client.get("/api/v1/services?page=2&page_size=2").json
    assert [s["code"] for s in rest["items"]] == ["T-2", "T-3"]

    only_therapy = client.get(f"/api/v1/services?department_id={therapy}").json
    assert [s["code"] for s in only_therapy["items"]] == ["T-1", "T-2", "T-3"]
    for words in ("анализ крови", "АНАЛИЗ", "qon tahlili", "analiz"):
        found = client.get("/api/v1/services", query_string={"q": words}).json
        assert [s["code"] for s in found["items"]] == ["L-1"], words
    assert isinstance(found["items"][0]["price"], int)


def test_a_patch_changes_only_the_fields_sent(client):
    department = _created(client.post("/api/v1/departments", json=THERAPY))["id"]
    service = _created(client.post("/api/v1/services", json=_service("T-1", department)))
    response = client.patch(f"/api/v1/services/{service['id']}", json={"price": 17_500_000})
    assert response.status_code == 200
    assert response.json["price"] == 17_500_000
    assert {k: v for k, v in response.json.items() if k not in ("price", "updated_at")} == {
        k: v for k, v in service.items() if k not in ("price", "updated_at")
    }
    assert client.patch(f"/api/v1/services/{service['id']}", json={}).json["price"] == 17_500_000


def test_deactivated_entities_leave_the_active_list_and_come_back(client):
    department = _created(client.post("/api/v1/departments", json=THERAPY))["id"]
    doctor = {"full_name": "Каримов Шерзод", "department_id": department, "specialty": "Терапевт"}
    doctor_id = _created(client.post("/api/v1/doctors", json=doctor))["id"]

    response = client.post(f"/api/v1/doctors/{doctor_id}/deactivate")
    assert response.status_code == 200 and response.json["active"] is False
    assert client.get("/api/v1/doctors?active=true").json["total"] == 0
    assert client.get("/api/v1/doctors?active=false").json["items"][0]["id"] == doctor_id
    assert client.post(f"/api/v1/doctors/{doctor_id}/deactivate").json["active"] is False

    assert client.post(f"/api/v1/doctors/{doctor_id}/activate").json["active"] is True
    assert client.get("/api/v1/doctors", query_string={"q": "KARIMOV"}).json["total"] == 1


def _queue(client, code, department_id, room_id, prefix):
    body = {"code": code, "department_id": department_id, "room_id": room_id, "prefix": prefix}
    response = client.post("/api/v1/queues", json=body)
    assert response.status_code == 201, response.json
    return response.json["id"]


def test_a_room_an_active_queue_calls_into_is_neither_closed_nor_moved_away(client):
    """An active queue calls patients into a room of its department or a shared one: the
    room is not deactivated, nor moved to another department, under it (409 naming the
    field and the queues); the admin moves the queue first."""
    therapy = _created(client.post("/api/v1/departments", json=THERAPY))["id"]
    lab = {**THERAPY, "code": "LAB", "ticket_prefix": "L", "name_ru": "Лаборатория"}
    lab = _created(client.post("/api/v1/departments", json=lab))["id"]
    room = _created(client.post("/api/v1/rooms", json={"number": "12"}))["id"]
    _queue(client, "therapy-b", therapy, room, "TB")
    _queue(client, "therapy-a", therapy, room, "TA")
    blood = _queue(client, "blood", lab, room, "LB")
    path = f"/api/v1/rooms/{room}"

    def refused(response, field, queues):
        body = response.json
        assert response.status_code == 409, body
        assert body["code"] == "room_in_use" and list(body["errors"]) == [field]
        assert body["reasons"] == {field: ["room_in_use"]}
        assert queues in body["errors"][field][0], body
        assert client.get(path).json == before

    before = client.get(path).json
    refused(client.patch(path, json={"department_id": therapy}), "department_id", ": blood")
    refused(client.post(f"{path}/deactivate"), "active", "blood, therapy-a, therapy-b")

    assert client.patch(f"/api/v1/queues/{blood}", json={"active": False}).status_code == 200
    moved = client.patch(path, json={"department_id": therapy})
    assert moved.status_code == 200 and moved.json["department_id"] == therapy, moved.json
    before = client.get(path).json
    refused(client.patch(path, json={"department_id": lab}), "department_id", "therapy-a")
    assert client.patch(path, json={"department_id": None}).status_code == 200
    before = client.get(path).json
    refused(client.post(f"{path}/deactivate"), "active", "therapy-a, therapy-b")

    spare = _created(client.post("/api/v1/rooms", json={"number": "14"}))["id"]
    for queue in client.get("/api/v1/queues").json:
        if queue["active"]:
            moved = client.patch(f"/api/v1/queues/{queue['id']}", json={"room_id": spare})
            assert moved.status_code == 200, moved.json
    closed = client.post(f"{path}/deactivate")
    assert closed.status_code == 200 and closed.json["active"] is False
    documented = client.get("/api/openapi.json").json["paths"]["/api/v1/rooms/{room_id}/deactivate"]
    assert "409" in documented["post"]["responses"]


def test_a_department_with_active_queues_is_not_switched_off_under_them(client):
    """Switched off, a department's active queues would go on issuing its tickets: 409
    naming ``active`` and the queues, nothing changed; with its queues off it goes."""
    therapy = _created(client.post("/api/v1/departments", json=THERAPY))["id"]
    room = _created(client.post("/api/v1/rooms", json={"number": "12"}))["id"]
    second = _queue(client, "therapy-b", therapy, room, "TB")
    first = _queue(client, "therapy-a", therapy, room, "TA")
    path = f"/api/v1/departments/{therapy}"
    before = client.get(path).json

    refused = client.post(f"{path}/deactivate")
    body = refused.json
    assert refused.status_code == 409, body
    assert body["code"] == "department_in_use" and body["reasons"] == {
        "active": ["department_in_use"]
    }
    assert "therapy-a, therapy-b" in body["errors"]["active"][0], body
    assert client.get(path).json == before

    for queue in (first, second):
        off = client.patch(f"/api/v1/queues/{queue}", json={"active": False})
        assert off.status_code == 200, off.json
    closed = client.post(f"{path}/deactivate")
    assert closed.status_code == 200 and closed.json["active"] is False
    on_again = client.patch(f"/api/v1/queues/{first}", json={"active": True})
    assert on_again.status_code == 422 and "department_id" in on_again.json["errors"]
    documented = client.get("/api/openapi.json").json["paths"]
    assert (
        "409" in documented["/api/v1/departments/{department_id}/deactivate"]["post"]["responses"]
    )


def test_a_doctor_with_an_active_queue_of_his_own_is_not_switched_off_under_it(client):
    """Switched off, a doctor's own active queue would go on issuing him tickets: 409 naming
    ``active`` and the queue, nothing changed; with the queue off he goes."""
    therapy = _created(client.post("/api/v1/departments", json=THERAPY))["id"]
    room = _created(client.post("/api/v1/rooms", json={"number": "12"}))["id"]
    doctor = {"full_name": "Каримов Анвар", "department_id": therapy}
    doctor = _created(client.post("/api/v1/doctors", json=doctor))["id"]
    queue = _queue(client, "karimov", therapy, room, "KA")
    assert client.patch(f"/api/v1/queues/{queue}", json={"doctor_id": doctor}).status_code == 200
    path = f"/api/v1/doctors/{doctor}"
    before = client.get(path).json

    refused = client.post(f"{path}/deactivate")
    body = refused.json
    assert refused.status_code == 409, body
    assert body["code"] == "doctor_in_use" and body["reasons"] == {"active": ["doctor_in_use"]}
    assert "karimov" in body["errors"]["active"][0], body
    assert client.get(path).json == before

    assert client.patch(f"/api/v1/queues/{queue}", json={"active": False}).status_code == 200
    closed = client.post(f"{path}/deactivate")
    assert closed.status_code == 200 and closed.json["active"] is False
    documented = client.get("/api/openapi.json").json["paths"]
    assert "409" in documented["/api/v1/doctors/{doctor_id}/deactivate"]["post"]["responses"]


def test_patients_are_registered_with_a_normalised_phone_and_found_in_either_script(client):
    body = {
        "full_name": "Ғулом Каримов",
        "sex": "M",
        "birth_date": "1984-02-29",
        "phone": "90 123 45 67",
        "document_number": "AA1234567",
    }
    patient = _created(client.post("/api/v1/patients", json=body))
    assert patient["phone"] == "+998901234567" and patient["birth_date"] == "1984-02-29"
    for q in ("karimov", "КАРИМОВ", "g'ulom", "Гулом", "123 45", "+998 90"):
        found = client.get("/api/v1/patients", query_string={"q": q}).json
        assert [p["id"] for p in found["items"]] == [patient["id"]], q
    assert client.get("/api/v1/patients?sex=F").json["total"] == 0


def test_a_patients_e_mail_with_an_empty_part_of_its_domain_is_refused(client):
    """His paid receipts are e-mailed there: a doubled dot or one at the end (a typing slip)
    is refused naming the field, as the visits' and the subscriptions' addresses are."""
    body = {"full_name": "Ғулом Каримов", "sex": "M"}
    for address in ("boss@clinic..uz", "boss@clinic.uz.", "boss@.clinic.uz", "boss@uz"):
        refused = client.post("/api/v1/patients", json={**body, "email": address})
        assert refused.status_code == 422 and "email" in refused.json["errors"], address
    assert client.get("/api/v1/patients").json["total"] == 0
    kept = _created(client.post("/api/v1/patients", json={**body, "email": "boss@mail.clinic.uz"}))
    assert kept["email"] == "boss@mail.clinic.uz"


def test_registering_a_patient_again_names_the_earlier_record_but_twins_are_not_warned(client):
    """At the desk the same patient is registered twice (typed in the other script, with a
    new phone): the answer names the earlier record, without refusing. Twins sharing a phone
    and a birth day, and a namesake born on another day, are no one's duplicates."""
    first = {"full_name": "Ўткир Қодиров", "sex": "M", "birth_date": "1990-05-04"}
    first = _created(client.post("/api/v1/patients", json={**first, "phone": "90 123 45 67"}))
    assert first["possible_duplicates"] == []
    twin = {"full_name": "Ўктам Қодиров", "sex": "M", "birth_date": "1990-05-04"}
    twin = _created(client.post("/api/v1/patients", json={**twin, "phone": "90 123 45 67"}))
    assert twin["possible_duplicates"] == []
    namesake = {"full_name": "Qodirov O'tkir", "sex": "M", "birth_date": "1961-01-30"}
    assert _created(client.post("/api/v1/patients", json=namesake))["possible_duplicates"] == []

    again = {"full_name": "Qodirov Oʻtkir", "sex": "M", "phone": "93 555 44 33"}
    again = client.post("/api/v1/patients", json={**again, "birth_date": "1990-05-04"})
    assert again.status_code == 201, again.json
    assert [p["id"] for p in again.json["possible_duplicates"]] == [first["id"]]
    assert again.json["possible_duplicates"][0]["phone"] == "+998901234567"
    assert "possible_duplicates" not in client.get(again.headers["Location"]).json
    documented = client.get("/api/openapi.json").json["components"]["schemas"]
    assert "possible_duplicates" in documented["PatientCreated"]["properties"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/departments/999999",
        "/api/v1/rooms/999999",
        "/api/v1/doctors/999999",
        "/api/v1/services/999999",
        "/api/v1/patients/999999",
        "/api/v1/services/99999999999999999999999",
    ],
)
def test_unknown_ids_are_404_problems(client, path):
    for method, suffix in (
        ("get", ""),
        ("patch", ""),
        ("post", "/deactivate"),
        ("post", "/activate"),
    ):
        kwargs = {"json": {}} if method == "patch" else {}
        response = getattr(client, method)(path + suffix, **kwargs)
        assert response.status_code == 404, (method, path + suffix)
        assert response.content_type == PROBLEM


def test_a_taken_code_is_a_409_naming_the_field(client):
    department = _created(client.post("/api/v1/departments", json=THERAPY))["id"]
    _created(client.post("/api/v1/services", json=_service("T-1", department)))
    other = _created(client.post("/api/v1/services", json=_service("T-2", department)))

    response = client.post("/api/v1/services", json=_service("T-1", department))
    assert response.status_code == 409 and response.content_type == PROBLEM
    assert "code" in response.json["errors"]
    response = client.patch(f"/api/v1/services/{other['id']}", json={"code": "T-1"})
    assert response.status_code == 409 and "code" in response.json["errors"]
    response = client.post("/api/v1/departments", json={**THERAPY, "code": "NEW"})
    assert response.status_code == 409 and list(response.json["errors"]) == ["ticket_prefix"]
    assert client.get("/api/v1/services").json["total"] == 2


@pytest.mark.parametrize(
    "change, field",
    [
        ({"ikpu_code": "123"}, "ikpu_code"),
        ({"price": 1500.5}, "price"),
        ({"price": -100}, "price"),
        ({"vat_percent": 150}, "vat_percent"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"department_id": 424242}, "department_id"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_broken_rule_is_a_422_naming_the_field_and_writes_nothing(client, change, field):
    response = client.post("/api/v1/services", json={**_service("T-1"), **change})
    assert response.status_code == 422 and response.content_type == PROBLEM
    assert field in response.json["errors"]
    assert client.get("/api/v1/services").json["total"] == 0


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/api/v1/patients", {"full_name": "A", "sex": "M", "phone": "12345"}, "phone"),
        (
            "/api/v1/patients",
            {"full_name": "A", "sex": "M", "birth_date": "2999-01-01"},
            "birth_date",
        ),
        ("/api/v1/patients", {"full_name": "A", "sex": "X"}, "sex"),
        ("/api/v1/doctors", {"full_name": "A", "department_id": 77}, "department_id"),
        ("/api/v1/rooms", {"number": "1 2"}, "number"),
        ("/api/v1/departments", {**THERAPY, "ticket_prefix": "T1"}, "ticket_prefix"),
        ("/api/v1/clinic", {"legal_name": "OOO", "taxpayer_number": "1234"}, "taxpayer_number"),
    ],
)
def test_domain_rules_answer_422_naming_the_field(client, path, body, field):
    send = client.put if path.endswith("/clinic") else client.post
    response = send(path, json=body)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]


def test_the_clinic_profile_is_404_until_saved_then_read_back(client):
    assert client.get("/api/v1/clinic").status_code == 404
    body = {"legal_name": "OOO Shifo", "taxpayer_number": "305123456", "phone": "71 200 45 45"}
    saved = client.put("/api/v1/clinic", json=body)
    assert saved.status_code == 200 and saved.json["phone"] == "+998712004545"
    assert client.get("/api/v1/clinic").json == saved.json


def test_lists_answer_pages_of_demo_data(client, runtime):
    with runtime.db.session() as session:
        assert load_demo_data(session)
    page = client.get("/api/v1/patients?page_size=7&page=3").json
    assert page["total"] == 20 and len(page["items"]) == 6
    rooms = client.get("/api/v1/rooms?page_size=200").json["items"]
    departments = {d["code"]: d["id"] for d in client.get("/api/v1/departments").json["items"]}
    lab_rooms = client.get(f"/api/v1/rooms?department_id={departments['LAB']}").json["items"]
    assert [r["id"] for r in lab_rooms] == [r["id"] for r in rooms if r["number"] == "110"]
    assert client.get("/api/v1/services?page_size=201").status_code == 422


def test_every_reference_operation_is_documented_with_its_problems(client):
    spec = client.get("/api/openapi.json").json
    operations = [
        (path, method, op)
        for path, item in spec["paths"].items()
        if path.startswith("/api/v1/")
        and path.split("/")[3]
        in ("clinic", "departments", "rooms", "doctors", "services", "patients")
        and not path.endswith("/import")
        for method, op in item.items()
        if method in ("get", "post", "put", "patch") and op.get("tags") == ["reference"]
    ]
    assert len(operations) == 5 * 6 + 2
    for path, method, op in operations:
        assert op.get("summary"), (path, method)
        problems = [s for s in op["responses"] if s.startswith("4")]
        assert problems, (path, method)
        for status in problems:
            response = op["responses"][status]
            if "$ref" in response:  # a shared response (401, 403, 413...) of components
                response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
            content = response["content"]
            assert content[PROBLEM]["schema"]["$ref"].endswith("/Problem"), (path, method, status)


@pytest.mark.slow
def test_a_change_reaches_subscribers_of_the_reference_channel(client, live_server, admin_token):
    ws = WSClient(live_server, token=admin_token)
    ws.subscribe("reference:departments")
    created = _created(client.post("/api/v1/departments", json=THERAPY))
    event = ws.events("reference:departments", 1)[0]
    assert event["type"] == "department.created" and event["data"]["id"] == created["id"]
    ws.close()
