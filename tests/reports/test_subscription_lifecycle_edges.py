"""Report subscriptions over their lives: the link of an e-mail received before the
subscription was taken over or subscribed again, an address the mail server refuses for good,
and a filter's department or doctor deactivated."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import update

from clinic.accounts import users
from clinic.base import utcnow
from clinic.reference import directory as reference
from clinic.reports import subscriptions as subs
from clinic.reports.models import DeliveryState, ReportDelivery
from tests.conftest import ONE_BACKEND, PASSWORD
from tests.reports.fixtures import DAY, NEXT, local
from tests.reports.test_report_page_script import PAGE, _config
from tests.reports.test_subscriptions import (
    DAILY,
    MANAGER,
    beat,
    change_owner,
    deliveries,
    subscribe,
)
from tests.visits.conftest import mailbox, settings, smtp_port  # noqa: F401 - fixtures
from tests.web.page_scripts import run, script

# --- the unsubscribe link of an e-mail received before ------------------------------------


def _link(message) -> str:
    """The unsubscribe page an e-mail links to, as the application's path."""
    return "/reports/unsubscribe/" + message["raw"]["List-Unsubscribe"].strip("<>").rsplit("/")[-1]


def _active(runtime, sub_id: int) -> bool:
    with runtime.db.session() as s:
        return subs.get_subscription(s, sub_id).active


def _stopped_at(runtime, sub_id: int):
    with runtime.db.session() as s:
        return subs.get_subscription(s, sub_id).unsubscribed_at


def test_the_link_of_a_subscription_taken_over_stops_the_one_that_mails_it_now(
    runtime, app, anon_client, mailbox  # noqa: F811 - the fixture
):
    """This morning's e-mail came from the manager who has since left; his successor took the
    report over. Its link still offers the button, the button stops the successor's
    subscription, and tomorrow nothing arrives."""
    first = subscribe(runtime, formats=["csv"])
    morning = local(NEXT, 6)
    assert beat(runtime, morning) == 1
    [message] = mailbox.wait_for(1)
    change_owner(runtime, active=False)
    with runtime.db.transaction() as s:
        users.create_user(s, username="successor", password=PASSWORD, roles=["manager"])
        # In another language: the same report to the same address.
        second = subs.subscribe(
            s, {**DAILY, "formats": ["csv"], "language": "uz"}, MANAGER, created_by="successor"
        ).id
    assert not _active(runtime, first)
    page = anon_client.get(_link(message))
    assert page.status_code == 200
    assert b'id="unsubscribed"' not in page.data and b"<form" in page.data
    assert _active(runtime, second)  # opening the link stops nothing
    done = anon_client.post(_link(message))
    assert done.status_code == 200 and b'id="unsubscribed"' in done.data
    assert not _active(runtime, second)
    stopped = _stopped_at(runtime, second)
    # Pressed again: it says so, and changes nothing.
    again = anon_client.post(_link(message))
    assert again.status_code == 200 and b'id="unsubscribed"' in again.data
    assert _stopped_at(runtime, second) == stopped
    assert beat(runtime, morning + timedelta(days=1)) == 0
    assert len(mailbox.messages) == 1


def test_the_link_of_a_subscription_stopped_and_subscribed_again_stops_the_new_one(
    runtime, app, anon_client  # noqa: F811 - the fixture
):
    """Stopped, then subscribed again (the address written in other capitals): the old
    e-mails' link stops the new subscription, and only it. The address's other
    subscriptions, one of the same report in other files made while the first ran among
    them, are not the link's to stop."""
    first = subscribe(runtime, formats=["csv"])
    beside = subscribe(runtime, formats=["pdf"])
    by_doctor = subscribe(runtime, by="doctor")
    weekly = subscribe(runtime, frequency="weekly")
    with runtime.db.transaction() as s:
        subs.unsubscribe(s, first)
    again = subscribe(runtime, formats=["csv"], email="Boss@Example.TEST")
    token = subs.unsubscribe_token(runtime.settings.secret_key, first)
    forged = f"{again}.{token.split('.')[1]}"
    assert anon_client.get(f"/reports/unsubscribe/{forged}").status_code == 404
    assert anon_client.post(f"/reports/unsubscribe/{forged}").status_code == 404
    assert b'id="unsubscribed"' not in anon_client.get(f"/reports/unsubscribe/{token}").data
    done = anon_client.post(f"/reports/unsubscribe/{token}")
    assert done.status_code == 200 and b'id="unsubscribed"' in done.data
    assert [_active(runtime, i) for i in (again, beside, by_doctor, weekly)] == [
        False, True, True, True,
    ]  # fmt: skip
    # Nothing carries it on now: the link says so at once.
    assert b'id="unsubscribed"' in anon_client.get(f"/reports/unsubscribe/{token}").data


# --- an address no mailbox has --------------------------------------------------------------


def _due_now(runtime) -> None:
    with runtime.db.transaction() as s:
        s.execute(update(ReportDelivery).values(next_attempt_at=utcnow()))


def test_an_address_the_server_refuses_for_good_is_given_up_at_once(
    runtime, mailbox  # noqa: F811 - the fixture
):
    """550 5.1.1 user unknown: no try will ever deliver it, so the report is not built and
    offered a dozen times over a day and a half; its log says what the server said. The
    other addresses' e-mails of the round go."""
    mailbox.unknown_reply = "550 5.1.1 user unknown"
    nobody = subscribe(runtime, formats=["csv"], email="nobody@example.test")
    subscribe(runtime, formats=["csv"])
    now = local(NEXT, 6)
    assert beat(runtime, now) == 1
    for _ in range(3):
        _due_now(runtime)
        beat(runtime, now)
    assert mailbox.refused == 1
    [refused] = [d for d in deliveries(runtime) if d.subscription_id == nobody]
    assert (refused.state, refused.attempts) == (DeliveryState.FAILED, 1)
    assert refused.error == "nobody@example.test: 550 5.1.1 user unknown"
    assert [m["to"] for m in mailbox.wait_for(1)] == [["boss@example.test"]]
    # The next period is offered once again: a mailbox made meanwhile gets it.
    mailbox.unknown_reply = None
    assert beat(runtime, now + timedelta(days=1)) == 2


def test_an_address_refused_for_now_is_tried_again_after_its_wait(
    runtime, mailbox  # noqa: F811 - the fixture
):
    """450 (greylisting, a full mailbox): another try may pass, so it waits and is tried
    again, its log saying what the server said rather than a Python structure."""
    mailbox.unknown_reply = "450 4.2.2 mailbox full"
    subscribe(runtime, formats=["csv"], email="nobody@example.test")
    now = local(NEXT, 6)
    assert beat(runtime, now) == 0
    [waiting] = deliveries(runtime)
    assert (waiting.state, waiting.attempts) == (DeliveryState.PENDING, 1)
    assert waiting.error == "nobody@example.test: 450 4.2.2 mailbox full"
    assert waiting.next_attempt_at >= utcnow() + timedelta(seconds=50)
    mailbox.unknown_reply = None
    _due_now(runtime)
    assert beat(runtime, now) == 1
    assert deliveries(runtime)[0].state == DeliveryState.SENT


# --- a filter's department or doctor deactivated -------------------------------------------


def _closed_department_and_doctor(runtime, *, deactivated: bool = True) -> tuple[int, int]:
    with runtime.db.transaction() as s:
        department = reference.create_department(
            s,
            {
                "code": "closed",
                "ticket_prefix": "ZQ",
                "name_ru": "Закрытое",
                "name_uz": "Yopiq",
                "name_en": "Closed",
            },
        )
        doctor = reference.create_doctor(
            s, {"full_name": "Уволенный Врач", "department_id": department.id}
        )
        ids = department.id, doctor.id
    if deactivated:
        _deactivate(runtime, *ids)
    return ids


def _deactivate(runtime, department_id: int, doctor_id: int) -> None:
    with runtime.db.transaction() as s:
        reference.deactivate_doctor(s, doctor_id)
        reference.deactivate_department(s, department_id)


def test_a_subscription_to_a_deactivated_department_or_doctor_is_refused_naming_the_field(
    runtime, client_as
):
    """It would mail a report of zeros every period (docs/reference-data.md: a reference to an
    inactive department is refused when it is set). A report of past periods still takes
    them: the department worked then."""
    department, doctor = _closed_department_and_doctor(runtime)
    manager = client_as("manager")
    refused = manager.post(
        "/api/v1/reports/subscriptions",
        json={**DAILY, "department_id": department, "doctor_id": doctor, "email": "x"},
    )
    assert refused.status_code == 422
    assert refused.get_json()["reasons"] == {
        "department_id": ["inactive_department"],
        "doctor_id": ["inactive_doctor"],
        "email": ["email_format"],
    }
    assert manager.get("/api/v1/reports/subscriptions").get_json() == []
    built = manager.post(
        "/api/v1/reports",
        json={
            "report": "revenue",
            "by": "day",
            "department_id": department,
            "doctor_id": doctor,
            "start": DAY.isoformat(),
            "end": DAY.isoformat(),
        },
    )
    assert built.status_code == 202, built.get_json()


def test_a_subscription_lists_its_filters_by_name_after_they_were_deactivated(runtime, client_as):
    """The page's lists offer the active departments and doctors only: the subscription's
    answer names its filters itself, in every language, deactivated since or not."""
    department, doctor = _closed_department_and_doctor(runtime, deactivated=False)
    manager = client_as("manager")
    made = manager.post(
        "/api/v1/reports/subscriptions",
        json={**DAILY, "department_id": department, "doctor_id": doctor},
    )
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["doctor_name"] == "Уволенный Врач"
    _deactivate(runtime, department, doctor)
    [listed] = manager.get("/api/v1/reports/subscriptions").get_json()
    assert listed["department_names"] == {"ru": "Закрытое", "uz": "Yopiq", "en": "Closed"}
    assert listed["doctor_name"] == "Уволенный Врач"
    unfiltered = subscribe(runtime, email="other@example.test")
    named = {s["id"]: s for s in manager.get("/api/v1/reports/subscriptions").get_json()}
    assert (named[unfiltered]["department_names"], named[unfiltered]["doctor_name"]) == (
        None,
        None,
    )


@pytest.mark.parametrize("backend", [ONE_BACKEND])
@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_page_lists_a_subscription_by_its_filters_names_not_the_forms_lists(
    client_as, language
):
    """A department deactivated after it was subscribed is in none of the form's lists: the
    page names it as the answer does, in the page's language, not "#<id>"."""
    config = _config(client_as("manager"), language)
    sub = {
        "id": 1,
        "params": {"report": "revenue", "by": "day", "department_id": 900, "doctor_id": 901},
        "department_names": {"ru": "Закрытое", "uz": "Yopiq", "en": "Closed"},
        "doctor_name": "Уволенный Врач",
        "formats": ["csv"],
        "frequency": "daily",
        "email": "boss@example.test",
        "language": "ru",
        "active": True,
    }
    program = (
        f"var CONFIG = {json.dumps(config)};"
        f"var ANSWER = {json.dumps({'status': 200, 'body': [sub]})};\n"
        + PAGE
        + 'var listed = []; node("subscriptions").appendChild = function (item) {'
        + " listed.push(String(item.textContent)); };\n"
        + script("reports.js")
        + "\nsetTimeout(function () { process.stdout.write(JSON.stringify(listed)); }, 20);"
    )
    [line] = run(program)
    name = {"ru": "Закрытое", "en": "Closed"}[language]
    assert f" — {name}, Уволенный Врач — " in line, line
    assert "#900" not in line and "#901" not in line
