"""The queue's rules at their edges: settings refused field by field, calls on
days that have not started, paid-first queues, closed days, and what the screens see of an
empty day."""

from __future__ import annotations

import threading
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from clinic import channels
from clinic.accounts.permissions import Staff, permissions_of
from clinic.base import utcnow
from clinic.errors import Conflict, ValidationFailed
from clinic.models import QueueDay, Ticket
from clinic.queue import snapshots  # noqa: F401 - registers the queue's screens
from clinic.queue import access
from clinic.queue import admin as queue_admin
from clinic.queue import calls
from clinic.queue import days as queue_days
from clinic.queue import joining, position
from clinic.queue import tickets as q
from clinic.queue.models import TicketStatus as S
from clinic.queue.tickets import QueueRefused
from clinic.reference import directory as reference

TZ = ZoneInfo("Asia/Tashkent")
# 10:00 in Tashkent (UTC+5) on a Monday.
MORNING = datetime(2026, 3, 2, 5, 0, tzinfo=timezone.utc)


def department(s, code="edge", prefix="E"):
    return reference.create_department(
        s,
        {
            "code": code,
            "ticket_prefix": prefix,
            "name_ru": "Терапия",
            "name_uz": "Terapiya",
            "name_en": "Therapy",
        },
    )


def make_queue(runtime, code="edge", prefix="E", **extra) -> int:
    with runtime.db.transaction() as s:
        dep = department(s, f"d-{code}", prefix)
        return queue_admin.create_queue(s, {"code": code, "department_id": dep.id, **extra}).id


def issue(runtime, queue_id, now=MORNING, **kwargs) -> Ticket:
    with runtime.db.transaction() as s:
        return q.issue_ticket(s, queue_id, tz=TZ, now=now, **kwargs)


def refused_fields(call) -> dict:
    with pytest.raises(ValidationFailed) as refused:
        call()
    return refused.value.errors


# --- queue settings -------------------------------------------------------------------------


def test_a_new_queue_needs_a_code_and_a_department(db):
    assert refused_fields(lambda: queue_admin.create_queue(db, {})) == {
        "code": ["required"],
        "department_id": ["required"],
    }


def test_queue_settings_are_refused_field_by_field(db):
    dep = department(db)
    errors = refused_fields(
        lambda: queue_admin.create_queue(
            db,
            {
                "code": "Not A Code",
                "department_id": dep.id,
                "prefix": "ab",
                "start_number": 0,
                "online_daily_limit": True,
                "default_service_minutes": "15",
            },
        )
    )
    assert set(errors) == {
        "code",
        "prefix",
        "start_number",
        "online_daily_limit",
        "default_service_minutes",
    }


def test_a_queue_code_belongs_to_one_queue(db):
    dep = department(db)
    first = queue_admin.create_queue(db, {"code": "first", "department_id": dep.id})
    second = queue_admin.create_queue(
        db, {"code": "second", "department_id": dep.id, "prefix": "S"}
    )
    with pytest.raises(Conflict) as taken:
        queue_admin.update_queue(db, second, {"code": "first"})
    assert taken.value.errors == {"code": ["is already used"]}
    # A queue keeps its own code when its other settings change.
    queue_admin.update_queue(db, first, {"code": "first", "start_number": 10})
    assert first.start_number == 10 and second.code == "second"


def test_queues_that_already_share_a_prefix_are_still_edited_until_one_changes_it(db):
    dep = department(db)
    first = queue_admin.create_queue(db, {"code": "first", "department_id": dep.id})
    second = queue_admin.create_queue(
        db, {"code": "second", "department_id": dep.id, "prefix": "S"}
    )
    second.prefix = "E"  # as configured before a prefix belonged to one active queue
    db.flush()
    queue_admin.update_queue(db, second, {"prefix": "E", "default_service_minutes": 12})
    queue_admin.update_queue(db, first, {"start_number": 5})
    with pytest.raises(Conflict) as taken:
        queue_admin.update_queue(db, second, {"prefix": "Е"})  # the Cyrillic letter
    assert list(taken.value.errors) == ["prefix"]
    queue_admin.update_queue(db, second, {"prefix": "S"})
    assert (first.prefix, second.prefix, second.default_service_minutes) == ("E", "S", 12)


def test_the_online_window_needs_both_ends_and_a_known_close_action(db):
    dep = department(db)
    errors = refused_fields(
        lambda: queue_admin.create_queue(
            db,
            {
                "code": "half",
                "department_id": dep.id,
                "online_from": time(8),
                "close_action": "explode",
            },
        )
    )
    assert errors == {
        "online_until": ["give both ends of the online window, or neither"],
        "close_action": ["no_show or cancel"],
    }


def test_inactive_queues_are_listed_only_when_asked_for(db):
    dep = department(db)
    queue_admin.create_queue(db, {"code": "open", "department_id": dep.id})
    queue_admin.create_queue(db, {"code": "shut", "department_id": dep.id, "active": False})
    assert [x.code for x in queue_admin.list_queues(db)] == ["open"]
    assert [x.code for x in queue_admin.list_queues(db, active_only=False)] == ["open", "shut"]


# --- calling --------------------------------------------------------------------------------


def test_calling_a_queue_that_has_no_ticket_today_finds_nobody(runtime):
    queue_id = make_queue(runtime)
    with runtime.db.transaction() as s:
        assert calls.call_next(s, queue_id, tz=TZ, now=MORNING) is None
        assert q.find_day(s, queue_id, q.clinic_day(MORNING, TZ)) is None


def test_a_call_to_an_unknown_room_is_refused(runtime):
    queue_id = make_queue(runtime)
    issue(runtime, queue_id)
    with runtime.db.transaction() as s:
        for room_id in (999999, "3"):
            with pytest.raises(ValidationFailed) as refused:
                calls.call_next(s, queue_id, tz=TZ, room_id=room_id, now=MORNING)
            assert refused.value.errors == {"room_id": ["no such room"]}


def test_a_pay_first_queue_calls_the_first_paid_ticket(runtime):
    queue_id = make_queue(runtime, pay_before_doctor=True)
    unpaid = issue(runtime, queue_id)
    paid = issue(runtime, queue_id)
    with runtime.db.transaction() as s:
        assert calls.call_next(s, queue_id, tz=TZ, now=MORNING) is None
        s.get(Ticket, paid.id).paid_at = MORNING
    with runtime.db.transaction() as s:
        called = calls.call_next(s, queue_id, tz=TZ, now=MORNING + timedelta(minutes=1))
        assert called.id == paid.id
        assert s.get(Ticket, unpaid.id).status == S.WAITING


def test_a_ticket_is_not_transferred_to_its_own_queue(runtime):
    queue_id = make_queue(runtime)
    ticket = issue(runtime, queue_id)
    with runtime.db.transaction() as s:
        ticket = s.get(Ticket, ticket.id)
        with pytest.raises(ValidationFailed) as refused:
            calls.transfer(s, ticket, queue_id, tz=TZ, now=MORNING)
        assert refused.value.errors == {"to_queue_id": ["same queue"]}
        assert ticket.status == S.WAITING


def test_nobody_is_ahead_of_a_ticket_that_no_longer_waits(runtime):
    queue_id = make_queue(runtime)
    first = issue(runtime, queue_id)
    second = issue(runtime, queue_id)
    with runtime.db.transaction() as s:
        assert position.people_ahead(s, s.get(Ticket, second.id)) == 1
        calls.call_next(s, queue_id, tz=TZ, now=MORNING)
        assert position.people_ahead(s, s.get(Ticket, first.id)) == 0
        assert position.people_ahead(s, s.get(Ticket, second.id)) == 0


def test_the_day_list_pages_only_when_a_limit_is_given(runtime):
    queue_id = make_queue(runtime)
    codes = [issue(runtime, queue_id).code for _ in range(3)]
    with runtime.db.session() as s:
        day_id = q.find_day(s, queue_id, q.clinic_day(MORNING, TZ)).id
        assert [t.code for t in queue_days.day_tickets(s, day_id)] == codes
        page = queue_days.day_tickets(s, day_id, limit=1, offset=1)
        assert [t.code for t in page] == codes[1:2]


# --- issuing --------------------------------------------------------------------------------


def test_an_inactive_queue_issues_no_ticket(runtime):
    queue_id = make_queue(runtime, active=False)
    with pytest.raises(QueueRefused) as refused:
        issue(runtime, queue_id)
    assert refused.value.code == "queue_inactive"


def test_a_ticket_of_unknown_source_or_priority_is_refused(runtime):
    queue_id = make_queue(runtime)
    with runtime.db.transaction() as s:
        with pytest.raises(ValidationFailed) as refused:
            q.issue_ticket(s, queue_id, tz=TZ, now=MORNING, source="fax")
        assert set(refused.value.errors) == {"source"}
        with pytest.raises(ValidationFailed) as refused:
            q.issue_ticket(s, queue_id, tz=TZ, now=MORNING, priority=7)
        assert set(refused.value.errors) == {"priority"}


def test_a_day_closed_early_issues_no_more_tickets(runtime):
    queue_id = make_queue(runtime)
    first = issue(runtime, queue_id)
    with runtime.db.transaction() as s:
        s.get(QueueDay, first.queue_day_id).closed_at = MORNING
    with pytest.raises(QueueRefused) as refused:
        issue(runtime, queue_id, now=MORNING + timedelta(minutes=5))
    assert refused.value.code == "queue_closed"


def test_online_joining_is_refused_where_the_queue_takes_none(runtime):
    queue_id = make_queue(runtime)
    with runtime.db.transaction() as s:
        with pytest.raises(QueueRefused) as refused:
            joining.join_online(s, queue_id, "+998901234567", tz=TZ, now=MORNING)
    assert refused.value.code == "online_disabled"
    # Switched off for now, window or not: the patient is told so.
    with runtime.db.transaction() as s:
        queue = q.get_queue(s, queue_id)
        queue.online_from, queue.online_until, queue.active = time(7, 0), time(20, 0), False
    with runtime.db.transaction() as s:
        with pytest.raises(QueueRefused) as refused:
            joining.join_online(s, queue_id, "+998901234567", tz=TZ, now=MORNING)
    assert refused.value.code == "queue_inactive"


# --- access ---------------------------------------------------------------------------------


def test_a_role_that_cannot_call_has_no_queue_to_call(runtime):
    make_queue(runtime)
    cashier = Staff(permissions_of(["cashier"]))
    registrar_who_calls = Staff(permissions_of(["admin"]))
    with runtime.db.session() as s:
        assert access.queues_to_call(s, cashier) == []
        assert [x.code for x in access.queues_to_call(s, registrar_who_calls)] == ["edge"]


def test_a_call_names_an_existing_room(runtime):
    queue_id = make_queue(runtime)
    admin = Staff(permissions_of(["admin"]))
    with runtime.db.transaction() as s:
        room = reference.create_room(s, {"number": "101", "name": "Кабинет"})
        queue = q.get_queue(s, queue_id)
        assert access.calling_room(s, admin, queue, room.id) == room.id
        with pytest.raises(ValidationFailed) as refused:
            access.calling_room(s, admin, queue, 999999)
        assert refused.value.errors == {"room_id": ["no such room"]}


# --- snapshots ------------------------------------------------------------------------------


def test_screens_of_a_queue_without_tickets_today_show_an_empty_day(runtime):
    queue_id = make_queue(runtime)
    with runtime.db.session() as s:
        staff, _ = channels.snapshot(s, q.staff_channel(queue_id), TZ)
        board, _ = channels.snapshot(s, q.board_channel(queue_id), TZ)
    assert staff["tickets"] == [] and staff["waiting"] == 0
    assert set(staff["counts"].values()) == {0} and set(staff["counts"]) == set(S.ALL)
    assert board is not None


def test_channels_naming_no_queue_or_ticket_have_no_snapshot(runtime):
    with runtime.db.session() as s:
        for channel in ("queue:abc", "board:abc", "ticket:abc", "ticket:999999"):
            assert channels.snapshot(s, channel, TZ)[0] is None


def test_a_ticket_snapshot_shows_its_place(runtime):
    queue_id = make_queue(runtime, closes_at=time(23, 59, 59, 999999))
    ticket = issue(runtime, queue_id, now=utcnow())
    with runtime.db.session() as s:
        shown, last = channels.snapshot(s, q.ticket_channel(ticket.id), TZ)
    assert shown["code"] == ticket.code and last >= 1


def test_the_staff_view_keeps_the_latest_no_shows_however_many_finished_since(runtime, monkeypatch):
    monkeypatch.setattr(snapshots, "RECENT_FINISHED", 2)
    queue_id = make_queue(runtime, closes_at=time(23, 59, 59, 999999))
    tickets = [issue(runtime, queue_id, now=utcnow()) for _ in range(4)]
    with runtime.db.transaction() as s:
        calls.mark_no_show(s, calls.call_next(s, queue_id, tz=TZ), actor="doctor")
        for _ in range(3):  # more served since than the latest finished the view holds
            calls.finish_service(s, calls.call_next(s, queue_id, tz=TZ), tz=TZ, actor="doctor")
    with runtime.db.session() as s:
        staff, _ = channels.snapshot(s, q.staff_channel(queue_id), TZ)
    shown = {t["id"]: t["status"] for t in staff["tickets"]}
    # The doctor's screen still offers him "came after all", as it did live.
    assert shown[tickets[0].id] == S.NO_SHOW
    assert len(shown) == 3 and staff["counts"][S.SERVED] == 3


def test_a_queue_without_a_room_or_a_day_has_nobody_in_its_room(runtime):
    queue_id = make_queue(runtime)
    with runtime.db.session() as s:
        queue = q.get_queue(s, queue_id)
        assert queue.room_id is None
        assert calls.holder_now(s, queue, None, tz=TZ, now=MORNING) is None
    issue(runtime, queue_id)
    with runtime.db.transaction() as s:
        called = calls.call_next(s, queue_id, tz=TZ, now=MORNING)
    with runtime.db.session() as s:
        holder = calls.holder_now(s, q.get_queue(s, queue_id), None, tz=TZ, now=MORNING)
        assert holder.id == called.id


def test_what_was_asked_is_checked_before_the_hour_a_bad_patient_is_a_422_after_closing(
    runtime,
):
    queue_id = make_queue(runtime, closes_at=time(9, 0))
    after_closing = MORNING  # 10:00 in Tashkent
    with pytest.raises(ValidationFailed) as refused:
        issue(runtime, queue_id, now=after_closing, patient_id=999_999)
    assert refused.value.errors == {"patient_id": ["no such patient"]}
    with pytest.raises(QueueRefused) as closed:
        issue(runtime, queue_id, now=after_closing)
    assert closed.value.code == "queue_closed"


@pytest.mark.parametrize("backend", ["postgresql"])
def test_two_transfers_crossing_between_two_queues_wait_for_each_other_without_a_deadlock(
    runtime,
):
    """Therapy sends a patient to the laboratory while the laboratory sends one to therapy.
    Each transfer locks both days' counters, always in the same order: the second waits for
    the first instead of each holding one counter and waiting for the other's."""
    first_queue = make_queue(runtime, "cross-a", "A")
    second_queue = make_queue(runtime, "cross-b", "B")
    to_second = issue(runtime, first_queue)
    to_first = issue(runtime, second_queue)
    assert to_second.queue_day_id < to_first.queue_day_id  # the first locked of the two
    errors, done = [], threading.Event()

    def transfer_to_first():
        try:
            with runtime.db.transaction() as s:
                calls.transfer(s, s.get(Ticket, to_first.id), first_queue, tz=TZ, now=MORNING)
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)
        finally:
            done.set()

    with runtime.db.transaction() as s:
        # This transfer has taken the first day's counter when the other one starts.
        calls._lock_day_by_id(s, to_second.queue_day_id)
        other = threading.Thread(target=transfer_to_first)
        other.start()
        assert not done.wait(0.5), errors  # it waits for the first day's counter
        calls.transfer(s, s.get(Ticket, to_second.id), second_queue, tz=TZ, now=MORNING)
    other.join(30)
    assert errors == []
    with runtime.db.session() as s:
        sent = s.scalars(select(Ticket).where(Ticket.transferred_from_id.is_not(None)))
        moved = {t.queue_id: t.status for t in sent}
        assert moved == {first_queue: S.WAITING, second_queue: S.WAITING}
        for ticket in (to_second, to_first):
            assert s.get(Ticket, ticket.id).status == S.TRANSFERRED


def test_a_board_opened_after_the_day_closed_shows_it_empty_as_a_live_board_does(
    runtime, monkeypatch
):
    # The live board clears its calls at queue.day_closed; a board that loads after the
    # closing (a reload, a reconnect whose history is gone) starts from the snapshot, which
    # must not bring the closed day's calls back to the hall.
    queue_id = make_queue(runtime, closes_at=time(18, 0))
    issue(runtime, queue_id), issue(runtime, queue_id), issue(runtime, queue_id)
    with runtime.db.transaction() as s:
        served = calls.call_next(s, queue_id, tz=TZ, now=MORNING)
        calls.finish_service(s, served, tz=TZ, now=MORNING + timedelta(minutes=5))
        missed = calls.call_next(s, queue_id, tz=TZ, now=MORNING + timedelta(minutes=6))
        calls.mark_no_show(s, missed, now=MORNING + timedelta(minutes=8))
    evening = datetime(2026, 3, 2, 13, 0, tzinfo=timezone.utc)  # 18:00 in Tashkent
    monkeypatch.setattr(snapshots, "utcnow", lambda: evening - timedelta(minutes=1))
    with runtime.db.session() as s:
        open_day, _ = channels.snapshot(s, q.board_channel(queue_id), TZ)
    assert len(open_day["last_calls"]) == 2 and open_day["waiting"] == 1
    with runtime.db.transaction() as s:
        assert len(queue_days.close_due_days(s, tz=TZ, now=evening)) == 1
    monkeypatch.setattr(snapshots, "utcnow", lambda: evening + timedelta(minutes=5))
    with runtime.db.session() as s:
        board, _ = channels.snapshot(s, q.board_channel(queue_id), TZ)
    assert board == {
        "queue_id": queue_id,
        "day": "2026-03-02",
        "calling": [],
        "last_calls": [],
        "waiting": 0,
        "active": True,
    }
    with runtime.db.session() as s:
        staff, _ = channels.snapshot(s, q.staff_channel(queue_id), TZ)
    assert (staff["day"], staff["tickets"], staff["waiting"]) == ("2026-03-02", [], 0)


def test_a_staff_screen_opened_after_the_day_closed_shows_it_empty_as_a_live_one_does(
    runtime, monkeypatch
):
    # The desk's and the doctor's screens clear the day at queue.day_closed (queue.js); one
    # opened after the closing starts from the snapshot, which must not list the closed day's
    # no-shows with a "came after all" the queue now refuses.
    queue_id = make_queue(runtime, closes_at=time(18, 0))
    issue(runtime, queue_id), issue(runtime, queue_id)
    with runtime.db.transaction() as s:
        missed = calls.call_next(s, queue_id, tz=TZ, now=MORNING)
        calls.mark_no_show(s, missed, now=MORNING + timedelta(minutes=2))
    evening = datetime(2026, 3, 2, 13, 0, tzinfo=timezone.utc)  # 18:00 in Tashkent
    monkeypatch.setattr(snapshots, "utcnow", lambda: evening - timedelta(minutes=1))
    with runtime.db.session() as s:
        open_day, _ = channels.snapshot(s, q.staff_channel(queue_id), TZ)
    assert len(open_day["tickets"]) == 2 and open_day["counts"][S.NO_SHOW] == 1
    with runtime.db.transaction() as s:
        assert len(queue_days.close_due_days(s, tz=TZ, now=evening)) == 1
    monkeypatch.setattr(snapshots, "utcnow", lambda: evening + timedelta(minutes=5))
    with runtime.db.session() as s:
        staff, _ = channels.snapshot(s, q.staff_channel(queue_id), TZ)
    assert staff["tickets"] == [] and staff["waiting"] == 0
    assert set(staff["counts"].values()) == {0}


def test_a_boards_snapshot_keeps_its_six_earlier_calls_while_rooms_are_calling(
    runtime, monkeypatch
):
    """A board loaded again (a reload, a reconnect whose history is gone) shows what a live
    board shows: the calls being made now, and beside them the six earlier ones, not fewer for
    each room calling."""
    queue_id = make_queue(runtime)
    for _ in range(10):
        issue(runtime, queue_id)
    with runtime.db.transaction() as s:
        rooms = [reference.create_room(s, {"number": f"4{n}", "name": ""}).id for n in range(3)]
        for minute in range(7):
            served = calls.call_next(s, queue_id, tz=TZ, now=MORNING + timedelta(minutes=minute))
            calls.finish_service(
                s, served, tz=TZ, now=MORNING + timedelta(minutes=minute, seconds=30)
            )
        for n, room_id in enumerate(rooms):
            calls.call_next(
                s, queue_id, tz=TZ, room_id=room_id, now=MORNING + timedelta(minutes=10 + n)
            )
    monkeypatch.setattr(snapshots, "utcnow", lambda: MORNING + timedelta(minutes=15))
    with runtime.db.session() as s:
        board, _ = channels.snapshot(s, q.board_channel(queue_id), TZ)
    assert [t["status"] for t in board["calling"]] == ["called"] * 3
    assert [t["status"] for t in board["last_calls"]] == ["served"] * 6
    assert [t["code"] for t in board["last_calls"]] == [
        f"E-{n:03d}" for n in range(7, 1, -1)
    ], board["last_calls"]
