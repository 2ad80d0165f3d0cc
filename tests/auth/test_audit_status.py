"""Every audit row says how its request was answered, changes included; the audit page shows
its times in the clinic's time, and says so."""

from __future__ import annotations

import json
import re
from datetime import datetime, time, timezone
from html import unescape

from sqlalchemy import insert, select

from clinic.accounts.models import AuditEntry
from clinic.queue import admin as queue_admin
from clinic.reference import directory as reference


def _status_of(runtime, response) -> int | None:
    with runtime.db.session() as s:
        rows = s.scalars(
            select(AuditEntry.status).where(
                AuditEntry.request_id == response.headers["X-Request-ID"]
            )
        ).all()
    assert len(rows) == 1
    return rows[0]


def _queue(runtime) -> int:
    with runtime.db.transaction() as s:
        department = reference.create_department(
            s,
            {
                "code": "aud",
                "ticket_prefix": "A",
                "name_ru": "Отделение",
                "name_uz": "Bo'lim",
                "name_en": "Department",
            },
        )
        return queue_admin.create_queue(
            s,
            {
                "code": "aud",
                "department_id": department.id,
                "online_from": time(0, 0),
                "online_until": time(23, 59, 59, 999999),
                "online_daily_limit": 5,
                "closes_at": time(23, 59, 59, 999999),
            },
        ).id


def test_audit_rows_of_successful_changes_carry_the_status_answered(client, anon_client, runtime):
    queue_id = _queue(runtime)
    answers = [
        client.post(f"/api/v1/queues/{queue_id}/tickets", json={}),  # 201
        client.patch(f"/api/v1/queues/{queue_id}", json={"default_service_minutes": 12}),  # 200
        client.post(f"/api/v1/queues/{queue_id}/call-next", json={}),  # 200
    ]
    ticket_id = answers[-1].get_json()["id"]
    answers.append(client.post(f"/api/v1/tickets/{ticket_id}/finish"))  # 200
    answers.append(client.post(f"/api/v1/queues/{queue_id}/call-next", json={}))  # 204
    join = f"/api/v1/public/queues/{queue_id}/join"
    answers.append(anon_client.post(join, json={"phone": "90 555 44 33"}))  # 201
    answers.append(anon_client.post(join, json={"phone": "90 555 44 33"}))  # 409: the same
    answers.append(client.post("/api/v1/tokens", json={"name": "till"}))  # 201
    assert [a.status_code for a in answers] == [201, 200, 200, 200, 204, 201, 409, 201]
    for answer in answers:
        assert _status_of(runtime, answer) == answer.status_code


def test_a_form_that_changes_something_is_audited_with_its_redirect(client, runtime):
    page = client.get("/account/tokens", headers={"Accept": "text/html"}).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    created = client.post(
        "/account/tokens", data={"csrf_token": csrf, "name": "desk", "days": "30"}
    )
    assert created.status_code == 303
    assert _status_of(runtime, created) == 303


def test_the_audit_page_shows_clinic_time_and_names_the_zone(client, runtime):
    # 07:15 UTC is 12:15 in Tashkent.
    with runtime.db.transaction() as s:
        s.execute(
            insert(AuditEntry).values(
                at=datetime(2026, 3, 2, 7, 15, 0, tzinfo=timezone.utc),
                username="zoned",
                roles="",
                action="test.zone",
                object_type="",
                object_id="",
                status=200,
                ip="",
                user_agent="",
                request_id="zone-check",
            )
        )
    html = client.get("/admin/audit?username=zoned", headers={"Accept": "text/html"})
    text = html.get_data(as_text=True)
    assert "2026-03-02 12:15:00" in text and "2026-03-02 07:15:00" not in text
    assert "Asia/Tashkent" in text


def test_the_audit_filters_take_days_in_clinic_time_and_dates_at_the_calendars_ends(
    client, runtime
):
    # 20:30 UTC on 1 March is 01:30 on 2 March in Tashkent: a row of the clinic's 2 March.
    with runtime.db.transaction() as s:
        s.execute(
            insert(AuditEntry).values(
                at=datetime(2026, 3, 1, 20, 30, 0, tzinfo=timezone.utc),
                username="night",
                roles="",
                action="test.night",
                object_type="",
                object_id="",
                status=200,
                ip="",
                user_agent="",
                request_id="night-check",
            )
        )
    html = {"Accept": "text/html"}
    on_the_2nd = client.get("/admin/audit?username=night&since=2026-03-02", headers=html)
    assert "test.night" in on_the_2nd.get_data(as_text=True)
    to_the_1st = client.get("/admin/audit?username=night&until=2026-03-01", headers=html)
    assert "test.night" not in to_the_1st.get_data(as_text=True)
    # The page's CSV link exports what the page shows, its days included.
    link = re.search(r'href="([^"]*export\.csv[^"]*)"', to_the_1st.get_data(as_text=True))
    exported = client.get(unescape(link.group(1)))
    assert exported.status_code == 200 and "test.night" not in exported.get_data(as_text=True)
    # The first day of the calendar in Tashkent is still the year 0 in UTC, and the last
    # day west of UTC is the year 10000: bounds past every row, not a server error.
    assert client.get("/admin/audit?since=0001-01-01", headers=html).status_code == 200
    assert client.get("/admin/audit?until=9999-12-31", headers=html).status_code == 200
    # Before 1924 Tashkent kept its local mean time (+04:37:11): the page's CSV link of such a
    # day still exports what the page shows.
    for typed in ("since=1900-01-01", "since=1900-1-1"):
        page = client.get(f"/admin/audit?username=night&{typed}", headers=html)
        link = re.search(r'href="([^"]*export\.csv[^"]*)"', page.get_data(as_text=True))
        exported = client.get(unescape(link.group(1)))
        assert exported.status_code == 200, (typed, exported.get_json())
        assert "test.night" in exported.get_data(as_text=True)
    for query, total in (
        ("since=0001-01-01T00:00:00%2B05:00", 1),
        ("until=9999-12-31T23:59:59-05:00", 1),
        ("since=9999-12-31T23:59:59-05:00", 0),
        ("until=0001-01-01T00:00:00%2B05:00", 0),
    ):
        found = client.get(f"/api/v1/audit?username=night&{query}")
        assert found.status_code == 200 and found.get_json()["total"] == total, query
        csv = client.get(f"/api/v1/audit/export.csv?username=night&{query}")
        assert csv.status_code == 200
        assert ("test.night" in csv.get_data(as_text=True)) is bool(total)


def test_a_reader_who_may_not_read_patients_sees_their_personal_data_masked(client, client_as):
    """A manager reads the audit log, not patients: the rows say what changed, not to what."""
    made = client.post(
        "/api/v1/patients",
        json={"full_name": "Каримова Дилноза", "sex": "F", "phone": "+998901234567",
              "document_number": "AB1234567", "notes": "аллергия на пенициллин"},
    )  # fmt: skip
    assert made.status_code == 201, made.get_json()
    query = "/api/v1/audit?object_type=patients"
    manager = client_as("manager")
    assert manager.get(f"/api/v1/patients/{made.get_json()['id']}").status_code == 403
    for reader, shown in ((client, True), (manager, False)):
        [row] = reader.get(query).get_json()["items"]
        text = json.dumps(row, ensure_ascii=False)
        for value in ("Каримова Дилноза", "+998901234567", "AB1234567", "пенициллин"):
            assert (value in text) is shown, (value, shown)
        export = reader.get("/api/v1/audit/export.csv?object_type=patients")
        assert ("+998901234567" in export.get_data(as_text=True)) is shown
    assert '"phone": "***"' in json.dumps(manager.get(query).get_json(), ensure_ascii=False)


def test_the_audit_page_links_to_its_other_pages_keeping_the_filter(client, runtime):
    with runtime.db.transaction() as s:
        s.execute(
            insert(AuditEntry),
            [
                dict(
                    at=datetime(2026, 3, 2, 9, 0, n % 60, tzinfo=timezone.utc),
                    username="busy",
                    roles="",
                    action=f"test.row{n:03d}",
                    object_type="",
                    object_id="",
                    status=200,
                    ip="",
                    user_agent="",
                    request_id="paging",
                )
                for n in range(130)
            ],
        )
    html = {"Accept": "text/html"}
    first = client.get("/admin/audit?username=busy&since=2026-03-02", headers=html)
    text = first.get_data(as_text=True)
    assert "test.row129" in text and "test.row029" not in text  # newest first, 100 a page
    links = {
        rel: unescape(url) for url, rel in re.findall(r'href="([^"]*)" rel="(prev|next)"', text)
    }
    assert set(links) == {"next"}
    older = client.get(links["next"], headers=html).get_data(as_text=True)
    assert "test.row029" in older and "test.row129" not in older
    back = {
        rel: unescape(url) for url, rel in re.findall(r'href="([^"]*)" rel="(prev|next)"', older)
    }
    assert set(back) == {"prev"}
    assert "test.row129" in client.get(back["prev"], headers=html).get_data(as_text=True)


def _page_links(html: str) -> dict[str, str]:
    return {
        rel: unescape(url) for url, rel in re.findall(r'href="([^"]*)" rel="(prev|next)"', html)
    }


def test_the_api_and_its_csv_take_days_as_typed_in_clinic_time(client, runtime):
    # 20:30 UTC on 1 March is 01:30 on 2 March in Tashkent: a row of the clinic's 2 March.
    with runtime.db.transaction() as s:
        s.execute(
            insert(AuditEntry).values(
                at=datetime(2026, 3, 1, 20, 30, 0, tzinfo=timezone.utc),
                username="typed",
                roles="",
                action="test.typed",
                object_type="",
                object_id="",
                status=200,
                ip="",
                user_agent="",
                request_id="typed-days",
            )
        )
    for url in ("/api/v1/audit", "/api/v1/audit/export.csv"):
        for query, found in (
            ("since=2026-03-02&until=2026-03-02", True),
            ("until=2026-03-01", False),
            ("since=2026-03-02T01:00:00%2B05:00", True),  # a moment with its offset, as before
        ):
            answer = client.get(f"{url}?username=typed&{query}")
            assert answer.status_code == 200, (url, query, answer.get_data(as_text=True))
            assert ("test.typed" in answer.get_data(as_text=True)) is found, (url, query)
        for wrong in ("2026-02-30", "2026-3-2", "2026-03-02T10:00", "２０２６-03-02"):
            refused = client.get(url, query_string={"since": wrong})
            assert refused.status_code == 422, (url, wrong)
            assert "since" in refused.get_json()["errors"], (url, wrong)


def test_a_period_that_ends_before_it_starts_is_refused_naming_until(client):
    for url in ("/api/v1/audit", "/api/v1/audit/export.csv"):
        for query in (
            {"since": "2026-03-02", "until": "2026-03-01"},
            {"since": "2026-03-02T12:00:00+05:00", "until": "2026-03-02T11:59:59+05:00"},
        ):
            refused = client.get(url, query_string=query)
            assert refused.status_code == 422, (url, query, refused.get_data(as_text=True))
            assert refused.get_json()["reasons"] == {"until": ["period_reversed"]}
        # One day, its start and its end, is a period.
        same_day = client.get(url, query_string={"since": "2026-03-02", "until": "2026-03-02"})
        assert same_day.status_code == 200
