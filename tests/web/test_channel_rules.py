"""Who may read which WebSocket channel: a patient only his own ticket, staff by permission."""

from __future__ import annotations

import logging
import threading
from datetime import time

from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError

from clinic.accounts import users
from clinic.accounts.models import User
from clinic.accounts.permissions import permissions_of
from clinic.queue import admin as queue_admin
from clinic.queue import tickets as q
from clinic.reference import directory as reference
from tests.conftest import PASSWORD
from web.auth.identity import Identity
from web.queue import channels as _queue_rules  # noqa: F401 - registers the queue's rules
from web.reference import channels as _reference_rules  # noqa: F401 - registers its rules
from web.ws.access import Credential, PatientIdentity, may_read, recheck


def staff(*roles: str) -> Identity:
    return Identity(
        user_id=1, username="edge", full_name="", roles=roles,
        permissions=permissions_of(roles), doctor_id=None, session_version=1, via="session",
    )  # fmt: skip


def _ticket(runtime):
    with runtime.db.transaction() as s:
        department = reference.create_department(
            s,
            {"code": "rules", "ticket_prefix": "R", "name_ru": "Терапия", "name_uz": "Terapiya",
             "name_en": "Therapy"},
        )  # fmt: skip
        queue = queue_admin.create_queue(
            s,
            {
                "code": "rules",
                "department_id": department.id,
                "closes_at": time(23, 59, 59, 999999),
            },
        )
        return q.issue_ticket(s, queue.id, tz=runtime.settings.tz)


def test_a_patient_reads_his_own_ticket_and_no_staff_channel(db, runtime):
    ticket = _ticket(runtime)
    patient = PatientIdentity(ticket_id=ticket.id, queue_id=ticket.queue_id)
    assert may_read(patient, q.ticket_channel(ticket.id), db)
    assert not may_read(patient, q.ticket_channel(ticket.id + 1), db)
    assert not may_read(patient, q.staff_channel(ticket.queue_id), db)
    assert not may_read(patient, "printing:desk", db)


def test_staff_read_tickets_and_queues_their_roles_allow(db, runtime):
    ticket = _ticket(runtime)
    for channel in (q.ticket_channel(ticket.id), q.staff_channel(ticket.queue_id)):
        assert may_read(staff("registrar"), channel, db)
        assert not may_read(staff("cashier"), channel, db)
    assert not may_read(staff("registrar"), q.ticket_channel(999999), db)


def test_print_requests_are_read_by_whoever_may_see_their_paper(db):
    """A ticket's print request by the desk; a receipt's (amounts, cash tendered, the
    cashier) by those who read payments, not by the registrar."""
    assert may_read(staff("registrar"), "printing:tickets", db)
    assert not may_read(staff("registrar"), "printing:receipts", db)
    assert may_read(staff("cashier"), "printing:receipts", db)
    assert not may_read(staff("cashier"), "printing:tickets", db)
    assert not may_read(staff("doctor"), "printing:tickets", db)
    assert not may_read(staff("admin"), "printing:desk", db)  # no such channel


def test_the_patients_reference_channel_needs_the_right_to_read_patients(db):
    assert may_read(staff("doctor"), "reference:patients", db)
    assert not may_read(staff("manager"), "reference:patients", db)
    assert may_read(staff("manager"), "reference:services", db)
    assert not may_read(staff("display"), "reference:services", db)


def test_nobody_and_malformed_channels_read_nothing(db):
    assert not may_read(None, "reference:services", db)
    assert not may_read(staff("admin"), "not a channel", db)
    assert not may_read(staff("admin"), "unheard:1", db)


class _RedisAway:
    def exists(self, *_keys):
        raise RedisError("connection refused")


def test_a_session_socket_is_rechecked_by_the_user_row_while_redis_is_away(runtime, caplog):
    with runtime.db.transaction() as s:
        user = users.create_user(s, username="rustam", password=PASSWORD, roles=["registrar"])
    identity = Identity.of(user, "session")
    credential = Credential("session", "clinic:session:abc")
    assert "abc" not in repr(credential)
    with runtime.db.session() as s, caplog.at_level(logging.WARNING, logger="web.ws.access"):
        again = recheck(credential, identity, s, _RedisAway())
    assert again == identity and "could not look the session" in caplog.text
    with runtime.db.transaction() as s:
        users.set_active(s, s.get(User, user.id), False)
    with runtime.db.session() as s:
        assert recheck(credential, identity, s, _RedisAway()) is None


def test_no_credential_or_an_unknown_kind_proves_nothing(db):
    assert recheck(None, staff("admin"), db, None) is None
    assert recheck(Credential("carrier-pigeon", "x"), staff("admin"), db, None) is None
    # A session credential proves a staff identity only.
    assert recheck(Credential("session", "k"), PatientIdentity(1, 1), db, None) is None


class _Socket:
    """A connection as the hub holds it, whose first check meets a locked database."""

    def __init__(self, user_id: int, failures: int) -> None:
        self.holders = {("user", user_id)}
        self.failures, self.checked = failures, threading.Event()

    def recheck(self, _session, _redis) -> bool:
        if self.failures:
            self.failures -= 1
            raise OperationalError("SELECT 1", {}, Exception("database is locked"))
        self.checked.set()
        return False


def test_an_access_change_the_database_could_not_check_is_checked_again_soon(runtime, monkeypatch):
    from web.ws.hub import Hub

    hub = Hub(runtime)
    monkeypatch.setattr(Hub, "RECHECK_RETRIES", (0.05, 0.05))
    stuck = _Socket(user_id=7, failures=2)
    hub.attach(stuck)
    hub.recheck(("user", 7))
    # Not left to the next periodic round (30 s): checked again after the pauses.
    assert stuck.checked.wait(5) and stuck.failures == 0
