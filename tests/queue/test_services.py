"""The queue's rules: numbering, calling order under concurrency, transitions, online joining."""

from __future__ import annotations

import threading
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from clinic.errors import Conflict
from clinic.models import OutboxEvent, Priority, Ticket
from clinic.queue import admin as queue_admin
from clinic.queue import calls
from clinic.queue import days as queue_days
from clinic.queue import history as ticket_history
from clinic.queue import joining
from clinic.queue import tickets as q
from clinic.queue.joining import AlreadyJoined
from clinic.queue.tickets import QueueRefused
from clinic.reference import directory as reference

TZ = ZoneInfo("Asia/Tashkent")
# 10:00 in Tashkent (UTC+5) on a Monday.
MORNING = datetime(2026, 3, 2, 5, 0, tzinfo=timezone.utc)


def make_queue(runtime, code="therapy", prefix="K", **extra) -> int:
    with runtime.db.transaction() as s:
        department = reference.create_department(
            s,
            {
                "code": f"d-{code}",
                "ticket_prefix": prefix,
                "name_ru": "Терапия",
                "name_uz": "Terapiya",
                "name_en": "Therapy",
            },
        )
        room = reference.create_room(s, {"number": f"1{len(code)}{prefix}", "name": "Кабинет"})
        queue = queue_admin.create_queue(
            s, {"code": code, "department_id": department.id, "room_id": room.id, **extra}
        )
        return queue.id


def issue(runtime, queue_id, now=MORNING, **kwargs) -> Ticket:
    with runtime.db.transaction() as s:
        return q.issue_ticket(s, queue_id, tz=TZ, now=now, **kwargs)


def test_numbers_carry_the_prefix_and_count_from_the_start_number(runtime):
    queue_id = make_queue(runtime, start_number=14)
    codes = [issue(runtime, queue_id).code for _ in range(3)]
    assert codes == ["K-014", "K-015", "K-016"]


def test_fifty_concurrent_issues_get_fifty_consecutive_numbers(runtime):
    queue_id = make_queue(runtime)
    numbers, errors = [], []
    barrier = threading.Barrier(50)

    def desk():
        try:
            barrier.wait(10)
            numbers.append(issue(runtime, queue_id).number)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=desk) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(numbers) == list(range(1, 51))


def test_numbering_restarts_at_midnight_in_tashkent_not_utc(runtime):
    # Open to the day's very last instant, so that 23:59:59 is still before closing.
    queue_id = make_queue(runtime, start_number=5, closes_at=time(23, 59, 59, 999999))
    before_midnight = datetime(2026, 3, 2, 18, 59, 59, tzinfo=timezone.utc)  # 23:59:59 local
    after_midnight = datetime(2026, 3, 2, 19, 0, 0, tzinfo=timezone.utc)  # 00:00 local, next day
    assert issue(runtime, queue_id, now=before_midnight).number == 5
    assert issue(runtime, queue_id, now=before_midnight).number == 6
    # Still 2 March by the UTC calendar, already 3 March in the clinic: a new day, a new count.
    assert issue(runtime, queue_id, now=after_midnight).number == 5
    assert issue(runtime, queue_id, now=after_midnight + timedelta(hours=4)).number == 6


def test_ten_concurrent_callers_call_each_of_thirty_tickets_once_in_order(runtime):
    queue_id = make_queue(runtime)
    expected = []
    for i in range(30):
        priority = Priority.URGENT if i % 7 == 3 else Priority.NORMAL
        ticket = issue(runtime, queue_id, now=MORNING + timedelta(seconds=i), priority=priority)
        expected.append((-priority, i, ticket.id))
    expected_order = [tid for _, _, tid in sorted(expected)]
    with runtime.db.transaction() as s:
        rooms = [reference.create_room(s, {"number": f"c{i}", "name": ""}).id for i in range(10)]
    called, errors = [], []
    barrier = threading.Barrier(10)

    def doctor(room_id):
        try:
            barrier.wait(10)
            while True:
                with runtime.db.transaction() as s:
                    now = MORNING + timedelta(minutes=5)
                    ticket = calls.call_next(s, queue_id, tz=TZ, room_id=room_id, now=now)
                    if ticket is None:
                        return
                    called.append(ticket.id)
                    # Each doctor's room holds one patient: seen, it is free for the next.
                    calls.finish_service(s, ticket, tz=TZ, now=now)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=doctor, args=(room,)) for room in rooms]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(called) == sorted(expected_order)  # every ticket, none twice
    # Recorded while each caller held the day's lock: the order they were handed out.
    assert called == expected_order
    with runtime.db.session() as s:
        statuses = s.scalars(select(Ticket.status).where(Ticket.queue_id == queue_id)).all()
    assert statuses == ["served"] * 30


def test_a_transition_happens_only_from_the_expected_status(runtime):
    queue_id = make_queue(runtime)
    ticket_id = issue(runtime, queue_id).id
    with runtime.db.transaction() as s:
        with pytest.raises(Conflict):
            calls.start_service(s, q.get_ticket(s, ticket_id))
    with runtime.db.transaction() as s:
        calls.call_next(s, queue_id, tz=TZ, now=MORNING)
        ticket = q.get_ticket(s, ticket_id)
        calls.recall(s, ticket, actor="dr")
        calls.start_service(s, ticket, actor="dr")
        calls.finish_service(s, ticket, tz=TZ, actor="dr")
    with runtime.db.session() as s:
        actions = [h["action"] for h in ticket_history.history(s, q.get_ticket(s, ticket_id))]
    assert actions == ["issued", "called", "recalled", "started", "served"]


def test_a_patient_sent_on_from_where_he_was_to_return_from_still_comes_back(runtime):
    """Therapy sends him to the laboratory to come back; the laboratory sends him on to the
    X-ray: once seen there he returns to therapy. Sent back to therapy itself, he stays."""
    first = make_queue(runtime, "therapy", "T")
    lab = make_queue(runtime, "lab", "L")
    xray = make_queue(runtime, "xray", "X")
    original = issue(runtime, first, now=MORNING)
    with runtime.db.transaction() as s:
        in_lab = calls.transfer(
            s, q.get_ticket(s, original.id), lab, tz=TZ, return_after=True, now=MORNING
        )
        in_xray = calls.transfer(s, in_lab, xray, tz=TZ, now=MORNING)
        assert in_xray.return_to_queue_id == first
        called = calls.call_next(s, xray, tz=TZ, now=MORNING)
        back = calls.finish_service(s, called, tz=TZ, now=MORNING)
        assert (back.queue_id, back.priority) == (first, Priority.RETURNED)
    second = issue(runtime, first, now=MORNING)
    with runtime.db.transaction() as s:
        in_lab = calls.transfer(
            s, q.get_ticket(s, second.id), lab, tz=TZ, return_after=True, now=MORNING
        )
        home = calls.transfer(s, in_lab, first, tz=TZ, now=MORNING)
        assert home.return_to_queue_id is None


def test_a_patient_the_laboratory_sends_on_to_come_back_still_returns_to_therapy_after(runtime):
    """Therapy sends him to the laboratory to come back; the laboratory sends him to the
    X-ray to come back as well: seen at the X-ray he goes back to the laboratory, and seen
    there again, on to therapy, whose doctor is still waiting for him. A laboratory that
    sends him to therapy itself to come back gets him back once, and that is the end."""
    first = make_queue(runtime, "therapy", "T")
    lab = make_queue(runtime, "lab", "L")
    xray = make_queue(runtime, "xray", "X")

    def serve_next(s, queue_id):
        called = calls.call_next(s, queue_id, tz=TZ, now=MORNING)
        return calls.finish_service(s, called, tz=TZ, now=MORNING)

    def to_come_back(s, ticket, queue_id):
        return calls.transfer(s, ticket, queue_id, tz=TZ, return_after=True, now=MORNING)

    original = issue(runtime, first, now=MORNING)
    with runtime.db.transaction() as s:
        to_come_back(s, to_come_back(s, q.get_ticket(s, original.id), lab), xray)
        assert serve_next(s, xray).queue_id == lab
        back = serve_next(s, lab)
        assert (back.queue_id, back.priority) == (first, Priority.RETURNED)
        assert back.return_to_queue_id is None
        assert serve_next(s, first) is None
    second = issue(runtime, first, now=MORNING)
    with runtime.db.transaction() as s:
        to_come_back(s, to_come_back(s, q.get_ticket(s, second.id), lab), first)
        assert serve_next(s, first).queue_id == lab
        assert serve_next(s, lab) is None


def test_a_returned_patient_sent_on_to_a_third_queue_waits_there_as_its_own_patients_do(runtime):
    """Back in therapy from the laboratory he goes ahead of therapy's walk-ins; sent on from
    there to cardiology for good, he is nobody's return: cardiology calls its own patient who
    came before him first. An urgent patient stays urgent wherever he is sent."""
    first = make_queue(runtime, "therapy", "T")
    lab = make_queue(runtime, "lab", "L")
    cardio = make_queue(runtime, "cardio", "C")
    before = issue(runtime, cardio, now=MORNING - timedelta(minutes=10))
    original = issue(runtime, first, now=MORNING)
    urgent = issue(runtime, first, now=MORNING, priority=Priority.URGENT)
    with runtime.db.transaction() as s:
        in_lab = calls.transfer(
            s, q.get_ticket(s, original.id), lab, tz=TZ, return_after=True, now=MORNING
        )
        calls.call_next(s, lab, tz=TZ, now=MORNING)
        back = calls.finish_service(s, in_lab, tz=TZ, now=MORNING)
        assert back.priority == Priority.RETURNED
        on = calls.transfer(s, back, cardio, tz=TZ, now=MORNING)
        assert on.priority == Priority.NORMAL
        assert calls.call_next(s, cardio, tz=TZ, now=MORNING).id == before.id
        still = calls.transfer(s, q.get_ticket(s, urgent.id), cardio, tz=TZ, now=MORNING)
        assert still.priority == Priority.URGENT


def test_a_transfer_keeps_queue_time_and_history_and_can_return(runtime):
    first = make_queue(runtime, "therapy", "T")
    lab = make_queue(runtime, "lab", "L")
    original = issue(runtime, first, now=MORNING)
    later = MORNING + timedelta(minutes=30)
    issue(runtime, lab, now=MORNING + timedelta(minutes=10))  # someone already in the lab
    with runtime.db.transaction() as s:
        moved = calls.transfer(
            s,
            q.get_ticket(s, original.id),
            lab,
            tz=TZ,
            comment="blood test",
            return_after=True,
            actor="dr",
            now=later,
        )
        assert moved.queued_at == original.queued_at
        moved_id = moved.id
    with runtime.db.transaction() as s:
        # Queue time is kept: the transferred patient is called before the one who came later.
        assert calls.call_next(s, lab, tz=TZ, now=later).id == moved_id
        ticket = q.get_ticket(s, moved_id)
        calls.start_service(s, ticket, now=later + timedelta(minutes=1))
        back = calls.finish_service(s, ticket, tz=TZ, now=later + timedelta(minutes=5))
        assert back.queue_id == first and back.priority == Priority.RETURNED
        assert back.queued_at == original.queued_at
        steps = [(h["ticket_id"], h["action"]) for h in ticket_history.history(s, back)]
    assert steps == [
        (original.id, "issued"),
        (original.id, "transferred"),
        (moved_id, "issued"),
        (moved_id, "called"),
        (moved_id, "started"),
        (moved_id, "served"),
        (back.id, "issued"),
    ]


def test_a_returning_patient_is_served_even_after_his_first_queue_has_closed(runtime):
    local = lambda h, m=0: datetime(2026, 3, 2, h - 5, m, tzinfo=timezone.utc)  # noqa: E731
    first = make_queue(runtime, "therapy", "T", closes_at=time(17, 0))
    lab = make_queue(runtime, "lab", "L", closes_at=time(19, 0))
    original = issue(runtime, first, now=local(16, 0))
    with runtime.db.transaction() as s:
        ticket = q.get_ticket(s, original.id)
        moved_id = calls.transfer(s, ticket, lab, tz=TZ, return_after=True, now=local(16, 30)).id
    with runtime.db.transaction() as s:
        assert calls.call_next(s, lab, tz=TZ, now=local(17, 10)).id == moved_id
        ticket = q.get_ticket(s, moved_id)
        calls.start_service(s, ticket, now=local(17, 11))
        # The therapy queue closed at 17:00: nothing to return to, but the lab finishes.
        assert calls.finish_service(s, ticket, tz=TZ, now=local(17, 20)) is None
    with runtime.db.session() as s:
        assert q.get_ticket(s, moved_id).status == "served"
        assert s.query(Ticket).filter(Ticket.queue_id == first).count() == 1


def test_two_recalls_at_once_are_both_counted(runtime):
    queue_id = make_queue(runtime)
    ticket_id = issue(runtime, queue_id).id
    with runtime.db.transaction() as s:
        calls.call_next(s, queue_id, tz=TZ, now=MORNING)
    with runtime.db.session() as s:
        # What the first doctor's request read, before the second one's recall.
        seen_by_first = q.get_ticket(s, ticket_id)
        assert seen_by_first.recalls == 0
        s.expunge(seen_by_first)
    with runtime.db.transaction() as s:
        calls.recall(s, q.get_ticket(s, ticket_id))
    with runtime.db.transaction() as s:
        calls.recall(s, s.merge(seen_by_first, load=False))
    with runtime.db.session() as s:
        assert q.get_ticket(s, ticket_id).recalls == 2


def test_a_refused_transition_says_what_was_tried(runtime):
    queue_id = make_queue(runtime)
    ticket_id = issue(runtime, queue_id).id
    with runtime.db.transaction() as s:
        with pytest.raises(Conflict) as refused:
            calls.finish_service(s, q.get_ticket(s, ticket_id), tz=TZ)
    assert refused.value.detail == "ticket K-001 is waiting; cannot finish it"


def test_a_postponed_ticket_can_be_called_back(runtime):
    queue_id = make_queue(runtime)
    first = issue(runtime, queue_id).id
    second = issue(runtime, queue_id).id
    with runtime.db.transaction() as s:
        calls.call_next(s, queue_id, tz=TZ, now=MORNING)
        calls.postpone(s, q.get_ticket(s, first))
        assert calls.call_next(s, queue_id, tz=TZ, now=MORNING).id == second
        calls.finish_service(s, q.get_ticket(s, second), tz=TZ, now=MORNING)
        assert calls.call_next(s, queue_id, tz=TZ, now=MORNING) is None
        back = calls.call_back(s, q.get_ticket(s, first))
        assert back.status == "called"


def test_online_join_window_limit_and_repeat(runtime):
    queue_id = make_queue(
        runtime, online_from=time(7, 0), online_until=time(9, 0), online_daily_limit=2
    )
    local = lambda h, m=0: datetime(2026, 3, 2, h - 5, m, tzinfo=timezone.utc)  # noqa: E731

    def join(phone, at):
        with runtime.db.transaction() as s:
            return joining.join_online(s, queue_id, phone, tz=TZ, now=at).id

    with runtime.db.transaction() as s:
        with pytest.raises(QueueRefused) as early:
            joining.join_online(s, queue_id, "90 111 11 11", tz=TZ, now=local(6, 59))
    assert early.value.code == "window_not_open"
    join("90 111 11 11", local(7, 0))
    with runtime.db.transaction() as s:  # the same phone: refused, told nothing of the ticket
        with pytest.raises(AlreadyJoined):
            joining.join_online(s, queue_id, "+998 (90) 111-11-11", tz=TZ, now=local(7, 5))
    join("90 222 22 22", local(7, 10))
    with runtime.db.transaction() as s:
        with pytest.raises(QueueRefused) as full:
            joining.join_online(s, queue_id, "90 333 33 33", tz=TZ, now=local(7, 20))
    assert full.value.code == "online_limit_reached"
    with runtime.db.transaction() as s:
        with pytest.raises(QueueRefused) as late:
            joining.join_online(s, queue_id, "90 444 44 44", tz=TZ, now=local(9, 0))
    assert late.value.code == "window_closed"
    # Over the limit and after the window: a repeat is still told why it gets no place.
    with runtime.db.transaction() as s:
        with pytest.raises(AlreadyJoined):
            joining.join_online(s, queue_id, "90 111 11 11", tz=TZ, now=local(10, 0))


def test_no_ticket_is_issued_or_joined_after_the_queue_closes_in_clinic_time(runtime):
    queue_id = make_queue(
        runtime, closes_at=time(18, 0), online_from=time(8, 0), online_until=time(18, 0)
    )
    local = lambda h, m=0: datetime(2026, 3, 2, h - 5, m, tzinfo=timezone.utc)  # noqa: E731
    assert issue(runtime, queue_id, now=local(17, 59)).code == "K-001"
    with runtime.db.transaction() as s:
        with pytest.raises(QueueRefused) as desk:
            q.issue_ticket(s, queue_id, tz=TZ, now=local(18, 0))
    assert desk.value.code == "queue_closed"
    # A window configured before the rule existed, ending after closing: closing wins.
    with runtime.db.transaction() as s:
        q.get_queue(s, queue_id).online_until = time(21, 0)
    with runtime.db.transaction() as s:
        with pytest.raises(QueueRefused) as online:
            joining.join_online(s, queue_id, "90 111 11 11", tz=TZ, now=local(19, 0))
    assert online.value.code == "queue_closed"


@pytest.mark.parametrize("places", [100, 1], ids=["places to spare", "the last place"])
def test_concurrent_joins_by_one_phone_get_one_ticket(runtime, places):
    """The repeats wait for the first join and are told the phone has its ticket, also when
    it took the day's last online place: a repeat is never told that the places are taken."""
    queue_id = make_queue(
        runtime,
        online_from=time(0, 0),
        online_until=time(23, 59, 59, 999999),
        online_daily_limit=places,
        closes_at=time(23, 59, 59, 999999),
    )
    got, barrier = [], threading.Barrier(8)

    def join():
        barrier.wait(10)
        try:
            with runtime.db.transaction() as s:
                got.append(joining.join_online(s, queue_id, "901234567", tz=TZ, now=MORNING).id)
        except Conflict as refused:
            got.append(refused.code)

    threads = [threading.Thread(target=join) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    tickets = [one for one in got if one != "already_joined"]
    assert len(got) == 8 and len(tickets) == 1 and isinstance(tickets[0], int)


def test_position_and_estimate_follow_recent_service_times(runtime):
    queue_id = make_queue(runtime, default_service_minutes=12)
    tickets = [issue(runtime, queue_id, now=MORNING + timedelta(seconds=i)).id for i in range(4)]
    with runtime.db.session() as s:
        assert queue_days.position(s, q.get_ticket(s, tickets[3])) == {
            "ahead": 3,
            "estimated_minutes": 36,
        }
    with runtime.db.transaction() as s:
        t = calls.call_next(s, queue_id, tz=TZ, now=MORNING)
        calls.start_service(s, t, now=MORNING + timedelta(minutes=1))
        calls.finish_service(s, t, tz=TZ, now=MORNING + timedelta(minutes=5))  # took 4 minutes
    with runtime.db.session() as s:
        assert queue_days.position(s, q.get_ticket(s, tickets[3])) == {
            "ahead": 2,
            "estimated_minutes": 8,
        }


def test_end_of_day_closes_the_queue_and_keeps_statistics(runtime):
    queue_id = make_queue(runtime, closes_at=time(18, 0))
    served, waiting = issue(runtime, queue_id).id, issue(runtime, queue_id).id
    with runtime.db.transaction() as s:
        t = calls.call_next(s, queue_id, tz=TZ, now=MORNING + timedelta(minutes=6))
        calls.start_service(s, t, now=MORNING + timedelta(minutes=7))
        calls.finish_service(s, t, tz=TZ, now=MORNING + timedelta(minutes=17))
    evening = datetime(2026, 3, 2, 13, 0, tzinfo=timezone.utc)  # 18:00 local
    with runtime.db.transaction() as s:
        assert queue_days.close_due_days(s, tz=TZ, now=evening - timedelta(minutes=1)) == []
        closed = queue_days.close_due_days(s, tz=TZ, now=evening)
    assert len(closed) == 1
    with runtime.db.session() as s:
        assert q.get_ticket(s, waiting).status == "no_show"
        assert q.get_ticket(s, served).status == "served"
        day = q.find_day(s, queue_id, MORNING.date())
        assert day.stats["issued"] == 2 and day.stats["no_shows"] == 1
        assert day.stats["average_service_seconds"] == 600
        assert day.stats["average_wait_seconds"] == 360
    with runtime.db.transaction() as s:
        with pytest.raises(QueueRefused):
            q.issue_ticket(s, queue_id, tz=TZ, now=evening + timedelta(minutes=1))


def test_closing_the_day_tells_each_closed_tickets_own_channel(runtime):
    queue_id = make_queue(runtime, closes_at=time(18, 0))
    called, waiting = issue(runtime, queue_id).id, issue(runtime, queue_id).id
    with runtime.db.transaction() as s:
        calls.call_next(s, queue_id, tz=TZ, now=MORNING)
    # The day over with a patient still called: he is closed with it.
    next_night = datetime(2026, 3, 2, 19, 5, tzinfo=timezone.utc)  # 00:05 local
    with runtime.db.transaction() as s:
        assert len(queue_days.close_due_days(s, tz=TZ, now=next_night)) == 1
    with runtime.db.session() as s:
        heard = {
            (e.channel, e.data["status"])
            for e in s.scalars(
                select(OutboxEvent).where(OutboxEvent.type == "ticket.day_closed")
            ).all()
        }
    for ticket_id in (called, waiting):
        assert (f"ticket:{ticket_id}", "no_show") in heard
        assert (f"queue:{queue_id}", "no_show") in heard
        assert (f"board:{queue_id}", "no_show") in heard


def test_board_events_carry_no_names_or_phones(runtime):
    queue_id = make_queue(
        runtime,
        online_from=time(0, 0),
        online_until=time(23, 59, 59, 999999),
        online_daily_limit=5,
        closes_at=time(23, 59, 59, 999999),
    )
    with runtime.db.transaction() as s:
        patient = reference_patient(s)
        q.issue_ticket(s, queue_id, tz=TZ, now=MORNING, patient_id=patient.id, comment="Каримов")
        joining.join_online(s, queue_id, "90 765 43 21", tz=TZ, now=MORNING)
        calls.call_next(s, queue_id, tz=TZ, now=MORNING)
    with runtime.db.session() as s:
        board = s.scalars(
            select(OutboxEvent.data).where(OutboxEvent.channel.startswith("board:"))
        ).all()
        staff = s.scalars(
            select(OutboxEvent.data).where(OutboxEvent.channel.startswith("queue:"))
        ).all()
    assert board and staff
    text = repr(board)
    for secret in ("Каримов", "Karimov", "765", "+998", "patient", "phone", "comment"):
        assert secret not in text
    assert "+998907654321" in repr(staff)


def reference_patient(session):
    from clinic.reference import patients

    return patients.create_patient(
        session,
        {
            "full_name": "Каримов Шерзод",
            "sex": "M",
            "phone": "90 000 00 01",
            "birth_date": "1990-01-01",
        },
    )


def test_a_ticket_is_not_issued_for_a_deactivated_patient(runtime):
    """A deactivated record (a duplicate, a mistake) is offered for nothing new: the desk
    gets a 422 naming the field, as attaching him or booking him does."""
    from clinic.errors import ValidationFailed
    from clinic.reference import patients

    queue_id = make_queue(runtime)
    with runtime.db.transaction() as s:
        old = reference_patient(s)
        patients.deactivate_patient(s, old.id)
        old_id = old.id
    with runtime.db.transaction() as s, pytest.raises(ValidationFailed) as refused:
        q.issue_ticket(s, queue_id, tz=TZ, now=MORNING, patient_id=old_id)
    assert list(refused.value.errors) == ["patient_id"]
    with runtime.db.session() as s:
        assert s.query(Ticket).filter(Ticket.queue_id == queue_id).count() == 0


def test_a_paid_patient_sent_back_to_a_pay_first_queue_is_called_without_paying_again(runtime):
    """Therapy calls only paid tickets. A patient who paid, was seen and was sent to the
    laboratory to come back returns with his therapy ticket's payment: the returned ticket
    is called, not passed over for an invoice that is already paid."""
    first = make_queue(runtime, "therapy", "T", pay_before_doctor=True)
    lab = make_queue(runtime, "lab", "L")
    original = issue(runtime, first, now=MORNING)
    with runtime.db.transaction() as s:
        q.set_paid(s, original.id, MORNING, actor="cashier", now=MORNING, data={})
        called = calls.call_next(s, first, tz=TZ, now=MORNING)
        assert called.id == original.id
        in_lab = calls.transfer(s, called, lab, tz=TZ, return_after=True, now=MORNING)
        seen = calls.call_next(s, lab, tz=TZ, now=MORNING)
        back = calls.finish_service(s, seen, tz=TZ, now=MORNING)
        assert back.paid_at is not None
        assert calls.call_next(s, first, tz=TZ, now=MORNING).id == back.id
    # A patient who never paid in therapy comes back as unpaid as he left.
    unpaid = issue(runtime, first, now=MORNING)
    with runtime.db.transaction() as s:
        in_lab = calls.transfer(
            s, q.get_ticket(s, unpaid.id), lab, tz=TZ, return_after=True, now=MORNING
        )
        assert calls.call_next(s, lab, tz=TZ, now=MORNING).id == in_lab.id
        assert calls.finish_service(s, in_lab, tz=TZ, now=MORNING).paid_at is None


def test_a_patient_the_laboratory_sends_back_by_hand_comes_back_as_on_a_return(runtime):
    """The laboratory "transfers" the patient back to therapy instead of finishing him: he
    comes back as a return would bring him, paid and ahead of the walk-ins."""
    first = make_queue(runtime, "therapy", "T", pay_before_doctor=True)
    lab = make_queue(runtime, "lab", "L")
    original = issue(runtime, first, now=MORNING)
    with runtime.db.transaction() as s:
        q.set_paid(s, original.id, MORNING, actor="cashier", now=MORNING, data={})
        called = calls.call_next(s, first, tz=TZ, now=MORNING)
        in_lab = calls.transfer(s, called, lab, tz=TZ, return_after=True, now=MORNING)
        back = calls.transfer(s, in_lab, first, tz=TZ, now=MORNING)
        assert back.paid_at is not None and back.priority == Priority.RETURNED
        assert calls.call_next(s, first, tz=TZ, now=MORNING).id == back.id


def _changed_just_before_closing(s, ticket_id: int, **values) -> None:
    """The doctor changes the ticket (``values``) just before the closing task running in
    session ``s`` changes it: the task read it as it was before."""
    execute = s.execute

    def doctor_first(statement, *args, **kwargs):
        if getattr(statement, "is_update", False) and statement.table.name == "tickets":
            s.execute = execute  # once: the doctor's change, committed just before
            execute(update(Ticket).where(Ticket.id == ticket_id).values(**values))
        return execute(statement, *args, **kwargs)

    s.execute = doctor_first


def test_closing_leaves_a_ticket_finished_meanwhile_as_it_is(runtime):
    """The doctor finishes his last patient while the closing task runs after the clinic day:
    the ticket it read as in service is served by the time it is changed. It stays served,
    with no closing in its history and no "closed" event telling the screens otherwise."""
    from clinic.models import TicketEvent

    queue_id = make_queue(runtime, closes_at=time(18, 0))
    ticket_id = issue(runtime, queue_id).id
    with runtime.db.transaction() as s:
        calls.start_service(s, calls.call_next(s, queue_id, tz=TZ, now=MORNING), now=MORNING)
    # The clinic day over: the doctor's patient is closed with it, unless he finishes him.
    night = datetime(2026, 3, 2, 19, 5, tzinfo=timezone.utc)  # 00:05 local, the day after
    with runtime.db.transaction() as s:
        _changed_just_before_closing(s, ticket_id, status="served", finished_at=night)
        assert len(queue_days.close_due_days(s, tz=TZ, now=night)) == 1
    with runtime.db.session() as s:
        assert q.get_ticket(s, ticket_id).status == "served"
        history = s.scalars(select(TicketEvent.action).where(TicketEvent.ticket_id == ticket_id))
        assert "day_closed" not in list(history)
        closed = s.scalars(select(OutboxEvent).where(OutboxEvent.type == "ticket.day_closed"))
        assert list(closed) == []


def test_closing_closes_a_ticket_postponed_meanwhile_too(runtime):
    """The doctor postpones his called patient while the closing task runs after the clinic
    day: the ticket it read as called is postponed by the time it is changed. It is still in
    the queue, so the day closes on it all the same (a no-show, told to its screens), instead
    of staying postponed for good on a closed day."""
    from clinic.models import TicketEvent

    queue_id = make_queue(runtime, closes_at=time(18, 0))
    ticket_id = issue(runtime, queue_id).id
    with runtime.db.transaction() as s:
        calls.call_next(s, queue_id, tz=TZ, now=MORNING)
    night = datetime(2026, 3, 2, 19, 5, tzinfo=timezone.utc)  # 00:05 local, the day after
    with runtime.db.transaction() as s:
        _changed_just_before_closing(s, ticket_id, status="postponed")
        assert len(queue_days.close_due_days(s, tz=TZ, now=night)) == 1
    with runtime.db.session() as s:
        assert q.get_ticket(s, ticket_id).status == "no_show"
        closing = s.scalar(
            select(TicketEvent).where(
                TicketEvent.ticket_id == ticket_id, TicketEvent.action == "day_closed"
            )
        )
        assert (closing.from_status, closing.to_status) == ("postponed", "no_show")
        told = s.scalars(select(OutboxEvent.channel).where(OutboxEvent.type == "ticket.day_closed"))
        assert f"ticket:{ticket_id}" in list(told)


def test_the_days_kept_wait_ends_at_the_first_call_whatever_the_recalls(runtime):
    queue_id = make_queue(runtime, closes_at=time(18, 0))
    issue(runtime, queue_id)
    with runtime.db.transaction() as s:
        t = calls.call_next(s, queue_id, tz=TZ, now=MORNING + timedelta(minutes=6))
        calls.recall(s, t, now=MORNING + timedelta(minutes=9))  # he did not come at once
        calls.start_service(s, t, now=MORNING + timedelta(minutes=10))
        calls.finish_service(s, t, tz=TZ, now=MORNING + timedelta(minutes=20))
    with runtime.db.transaction() as s:
        queue_days.close_due_days(s, tz=TZ, now=datetime(2026, 3, 2, 13, 0, tzinfo=timezone.utc))
    with runtime.db.session() as s:
        day = q.find_day(s, queue_id, MORNING.date())
        assert day.stats["average_wait_seconds"] == day.stats["longest_wait_seconds"] == 360
