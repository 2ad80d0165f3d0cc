"""Reminders reach the patient once, also when beat runs twice; no-shows after the grace; a
reminder of a time the visit no longer has (cancelled or moved) is never sent."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import time as dt_time
from datetime import timedelta

import pytest
from sqlalchemy import select

from clinic.base import iso
from clinic.reference import directory as reference
from clinic.visits import cancelling, notify, reminders, rescheduling, schedules
from clinic.visits import visits as v
from clinic.visits.models import Visit, VisitNotice
from tests.visits.conftest import ALL_DAY, make_clinic, slot_near
from tests.visits.test_rescheduling import _book


class Runs:
    """Tasks sent to the worker and which of them it has finished: Celery's
    ``task_postrun``, sent in this process, where the worker runs in a thread. A task that
    sends mail has handed every message to the SMTP server before it finishes, so what the
    mailbox holds then is all it will hold."""

    def __init__(self, celery_app) -> None:
        self.celery_app = celery_app
        self.sent: list[str] = []
        self.finished: set[str] = set()
        self._changed = threading.Condition()

    def task_finished(self, sender=None, task_id=None, **_) -> None:
        with self._changed:
            self.finished.add(task_id)
            self._changed.notify_all()

    def send(self, name: str) -> None:
        task_id = uuid.uuid4().hex
        self.sent.append(task_id)
        self.celery_app.send_task(name, task_id=task_id)

    def wait_all(self, timeout: float = 10) -> None:
        with self._changed:
            done = self._changed.wait_for(lambda: self.finished >= set(self.sent), timeout)
        assert done, f"{len(set(self.sent) - self.finished)} of the tasks sent did not finish"


@pytest.fixture
def runs(celery_app, worker):
    from celery.signals import task_postrun

    kept = Runs(celery_app)
    task_postrun.connect(kept.task_finished, weak=False)
    yield kept
    task_postrun.disconnect(kept.task_finished)


def test_reminders_arrive_once_even_when_beat_sends_the_task_twice_at_once(runtime, runs, mailbox):
    clinic = make_clinic(runtime, patients=4, **ALL_DAY)
    _book(
        runtime, clinic, slot_near(runtime, timedelta(hours=2)), patient=0, email="a@example.test"
    )
    _book(
        runtime, clinic, slot_near(runtime, timedelta(hours=3)), patient=1, email="b@example.test"
    )
    _book(runtime, clinic, slot_near(runtime, timedelta(hours=4)), patient=2, email=None)
    _book(
        runtime, clinic, slot_near(runtime, timedelta(hours=30)), patient=3, email="d@example.test"
    )

    runs.send("visits.send_reminders")
    runs.send("visits.send_reminders")
    mail = mailbox.wait_for(2)
    assert sorted(m["to"][0] for m in mail) == ["a@example.test", "b@example.test"]
    deadline = time.monotonic() + 10
    while True:  # both deliveries have run when every notice is marked sent
        with runtime.db.session() as s:
            notices = s.scalars(select(VisitNotice)).all()
        if len(notices) == 2 and all(n.sent_at for n in notices):
            break
        assert time.monotonic() < deadline, [(n.key, n.sent_at) for n in notices]
        time.sleep(0.05)
    runs.send("visits.send_reminders")  # a third run finds nothing new
    runs.wait_all()  # and neither of the first two sent anything more
    assert len(mailbox.messages) == 2
    assert all("Напоминание" in m["subject"] for m in mail)
    # Each of the clinic's three languages, since the patient's own is not known.
    assert all("Qabul haqida eslatma" in m["subject"] for m in mail)
    body = mail[0]["raw"].get_content()
    assert "напоминаем о приёме" in body and "qabulingizni eslatamiz" in body
    assert "A reminder of your visit" in body


def test_a_scheduled_visit_becomes_a_no_show_after_the_grace_period_and_not_before(runtime):
    clinic = make_clinic(runtime, patients=2, **ALL_DAY)
    earlier = slot_near(runtime, timedelta(hours=-1))
    recent = slot_near(runtime, timedelta(minutes=0))
    past = _book(runtime, clinic, earlier, patient=0, email=None, now=earlier - timedelta(days=1))
    fresh = _book(runtime, clinic, recent, patient=1, email=None, now=recent - timedelta(days=1))
    with runtime.db.transaction() as s:
        marked = cancelling.mark_no_shows(
            s, grace_minutes=30, now=recent + timedelta(minutes=10), tz=clinic.tz
        )
    assert marked == [past.id]
    with runtime.db.session() as s:
        assert s.get(Visit, past.id).status == "no_show"
        assert s.get(Visit, fresh.id).status == "scheduled"
        assert v.history(s, s.get(Visit, past.id))[-1]["actor"] == "system"


@pytest.mark.parametrize("kind", ["sick", "holiday"])
def test_no_reminder_sends_a_patient_to_a_day_the_doctor_is_away_or_the_clinic_closed(
    runtime, kind
):
    clinic = make_clinic(runtime, patients=2, **ALL_DAY)
    tz = runtime.settings.tz
    starts = slot_near(runtime, timedelta(hours=2))
    day = starts.astimezone(tz).date()
    visit = _book(runtime, clinic, starts, patient=0, email="a@example.test")
    with runtime.db.transaction() as s:
        # Declared over the booked visit: it waits for the registrar to move or cancel it.
        doctor_id = None if kind == "holiday" else clinic.doctor_ids[0]
        away = schedules.add_exception(
            s, kind=kind, first_day=day, last_day=day, doctor_id=doctor_id
        )
    with runtime.db.transaction() as s:
        assert reminders.write_reminders(s, hours=24, tz=tz) == 0
    with runtime.db.transaction() as s:
        schedules.remove_exception(s, away.id)  # taken back: the visit stands, and is reminded
    with runtime.db.transaction() as s:
        assert reminders.write_reminders(s, hours=24, tz=tz) == 1
        keys = list(s.scalars(select(VisitNotice.key)))
    assert keys == [reminders.reminder_key(visit)]


class _Outbox:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append(to)


@pytest.mark.parametrize("then", ["no_show", "arrived", "began"])
def test_a_reminder_the_mail_server_held_back_is_not_sent_once_its_visit_has_begun(runtime, then):
    clinic = make_clinic(runtime, patients=2, **ALL_DAY)
    tz = runtime.settings.tz
    starts = slot_near(runtime, timedelta(hours=1))
    visit = _book(runtime, clinic, starts, patient=0, email="a@example.test")
    with runtime.db.transaction() as s:
        # Written while the mail server is down: it waits, unsent.
        assert reminders.write_reminders(s, hours=24, tz=tz) == 1
    with runtime.db.transaction() as s:
        held = s.get(Visit, visit.id)
        if then == "no_show":
            v.set_status(s, held, "no_show", "system", starts + timedelta(minutes=40), "no_show")
        elif then == "arrived":
            v.set_status(s, held, "arrived", "desk", starts - timedelta(minutes=10), "arrived")
        else:  # still scheduled, but its time has come
            held.starts_at -= timedelta(hours=2)
            held.ends_at -= timedelta(hours=2)
    # Another patient's visit beside it, in the same day's grid (its last slot is 23:50).
    beside = timedelta(minutes=-5 if starts.astimezone(tz).time() >= dt_time(23, 50) else 5)
    _book(runtime, clinic, starts + beside, patient=1, email="b@example.test")
    with runtime.db.transaction() as s:
        assert reminders.write_reminders(s, hours=24, tz=tz) == 1
    outbox = _Outbox()
    # The mail server is back: only the reminder of a visit still to come goes out.
    notify.send_notices(runtime.db.sessionmaker, outbox, lease_seconds=5, tz=tz)
    assert outbox.sent == ["b@example.test"]


def test_a_corrected_address_gets_the_reminders_not_yet_sent_and_none_drops_them(runtime):
    """A reminder written before the registrar corrected the patient's address goes to the
    address as it is now (not to a stranger's mistyped one); one whose patient wants no
    e-mail any more is not sent."""
    clinic = make_clinic(runtime, doctors=2, patients=2, **ALL_DAY)
    tz = runtime.settings.tz
    starts = slot_near(runtime, timedelta(hours=2))
    typo = _book(runtime, clinic, starts, patient=0, email="a@exmaple.test")
    gone = _book(runtime, clinic, starts, patient=1, doctor=1, email="b@example.test")
    with runtime.db.transaction() as s:
        # Written while the mail server was down: both wait, unsent.
        assert reminders.write_reminders(s, hours=24, tz=tz) == 2
    with runtime.db.transaction() as s:
        v.edit_details(s, s.get(Visit, typo.id), {"notify_email": "a@example.test"}, actor="desk")
        v.edit_details(s, s.get(Visit, gone.id), {"notify_email": None}, actor="desk")
    outbox = _Outbox()
    notify.send_notices(runtime.db.sessionmaker, outbox, lease_seconds=5, tz=tz)
    assert outbox.sent == ["a@example.test"]


def test_a_reminder_to_an_address_no_mailbox_has_is_given_up_and_the_visit_says_so(
    runtime, mailbox, client_as
):
    """550 user unknown: the notice is not tried again at every run for ever; the visit's
    history tells the registrar the patient was not told (he phones), and the address he
    corrects gets it. A refusal for now (450) is tried again, and given up only once the
    notice is two days old."""
    clinic = make_clinic(runtime, patients=3, **ALL_DAY)
    tz, notifier = runtime.settings.tz, notify.EmailNotifier(runtime.settings)
    starts = slot_near(runtime, timedelta(hours=2))
    unknown = _book(runtime, clinic, starts, patient=0, email="nobody@example.test")
    _book(runtime, clinic, starts + timedelta(minutes=20), patient=1, email="b@x.test")
    with runtime.db.transaction() as s:
        assert reminders.write_reminders(s, hours=24, tz=tz) == 2
    mailbox.unknown_reply = "550 5.1.1 <nobody@example.test>: user unknown"
    assert notify.send_notices(runtime.db.sessionmaker, notifier, lease_seconds=5, tz=tz) == 1
    for _ in range(3):  # the next runs of beat
        assert notify.send_notices(runtime.db.sessionmaker, notifier, lease_seconds=0, tz=tz) == 0
    assert mailbox.refused == 1
    told = client_as("registrar").get(f"/api/v1/visits/{unknown.id}").get_json()["history"]
    assert told[-1]["action"] == "notice_undelivered"
    assert told[-1]["data"]["to"] == "nobody@example.test"
    assert "550 5.1.1" in told[-1]["data"]["error"]
    with runtime.db.transaction() as s:
        v.edit_details(s, s.get(Visit, unknown.id), {"notify_email": "a@x.test"}, actor="desk")
    assert notify.send_notices(runtime.db.sessionmaker, notifier, lease_seconds=5, tz=tz) == 1
    assert [m["to"] for m in mailbox.messages] == [["b@x.test"], ["a@x.test"]]

    mailbox.unknown_reply = "450 4.2.2 mailbox full"
    full = _book(runtime, clinic, starts + timedelta(minutes=40), patient=2, email="nobody@x.test")
    with runtime.db.transaction() as s:
        assert reminders.write_reminders(s, hours=24, tz=tz) == 1
    notify.send_notices(runtime.db.sessionmaker, notifier, lease_seconds=0, tz=tz)
    with runtime.db.session() as s:
        waiting = s.scalar(select(VisitNotice).where(VisitNotice.visit_id == full.id))
        assert waiting.failed_at is None and "450 4.2.2" in waiting.error
    with runtime.db.transaction() as s:  # two days on, the mailbox still full
        waiting = s.scalar(select(VisitNotice).where(VisitNotice.visit_id == full.id))
        waiting.created_at -= timedelta(days=2)
    notify.send_notices(runtime.db.sessionmaker, notifier, lease_seconds=0, tz=tz)
    refused = mailbox.refused
    notify.send_notices(runtime.db.sessionmaker, notifier, lease_seconds=0, tz=tz)
    assert mailbox.refused == refused
    with runtime.db.session() as s:
        assert s.scalar(select(VisitNotice.failed_at).where(VisitNotice.visit_id == full.id))


@pytest.mark.parametrize("then", ["away", "moved", "cancelled"])
def test_a_held_back_reminder_is_dropped_once_its_doctor_is_away_or_its_visit_changed(
    runtime, runs, mailbox, then
):
    """A reminder the mail server held back is checked when it is finally sent: a patient is
    not sent to a doctor declared away since, nor to a time his visit no longer has."""
    clinic = make_clinic(runtime, doctors=2, patients=2, **ALL_DAY)
    tz = runtime.settings.tz
    starts = slot_near(runtime, timedelta(hours=2))
    held = _book(runtime, clinic, starts, patient=0, email="a@example.test")
    _book(runtime, clinic, starts, patient=1, doctor=1, email="b@example.test")
    with runtime.db.transaction() as s:
        # Written while the mail server was down: both wait, unsent.
        assert reminders.write_reminders(s, hours=24, tz=tz) == 2
        stale = reminders.reminder_key(s.get(Visit, held.id))
    with runtime.db.transaction() as s:
        visit = s.get(Visit, held.id)
        if then == "away":  # declared without moving the visit: it waits for the registrar
            day = starts.astimezone(tz).date()
            schedules.add_exception(
                s, kind="sick", first_day=day, last_day=day, doctor_id=visit.doctor_id
            )
        elif then == "moved":  # changed without its reminder being dropped with it
            visit.starts_at += timedelta(hours=1)
            visit.ends_at += timedelta(hours=1)
        else:
            visit.status = "cancelled"
    moved_to = (starts + timedelta(hours=1)).astimezone(tz).strftime("%d.%m.%Y %H:%M")
    expected = ["a@example.test", "b@example.test"] if then == "moved" else ["b@example.test"]

    runs.send("visits.send_reminders")
    mail = mailbox.wait_for(len(expected))
    deadline = time.monotonic() + 10
    while True:  # the run is over when no notice waits any more
        with runtime.db.session() as s:
            notices = s.scalars(select(VisitNotice)).all()
        if all(n.sent_at for n in notices):
            break
        assert time.monotonic() < deadline, [(n.key, n.sent_at) for n in notices]
        time.sleep(0.05)
    assert stale not in {n.key for n in notices}  # dropped, not left to wait
    runs.wait_all()
    assert len(mailbox.messages) == len(expected)
    assert sorted(m["to"][0] for m in mail) == expected
    if then == "moved":  # the patient hears of the new time only
        told = next(m for m in mail if m["to"] == ["a@example.test"])["raw"].get_content()
        assert moved_to in told


def test_a_doctor_who_left_sends_no_patient_a_reminder_and_makes_none_a_no_show(runtime):
    """His booked visits wait for the registrar to move them to a colleague, as a day he is
    away does: a reminder would send the patient to a doctor who is not there."""
    clinic = make_clinic(runtime, doctors=2, patients=3, **ALL_DAY)
    tz = runtime.settings.tz
    starts = slot_near(runtime, timedelta(hours=2))
    held = _book(runtime, clinic, starts, patient=0, email="a@example.test")
    with runtime.db.transaction() as s:
        # Written while the mail server was down: it waits, unsent.
        assert reminders.write_reminders(s, hours=24, tz=tz) == 1
    # Another patient of his beside it, in the same day's grid (its last slot is 23:50).
    beside = timedelta(minutes=-5 if starts.astimezone(tz).time() >= dt_time(23, 50) else 5)
    _book(runtime, clinic, starts + beside, patient=1, email="b@example.test")
    _book(runtime, clinic, starts, patient=2, doctor=1, email="c@example.test")
    with runtime.db.transaction() as s:
        reference.deactivate_doctor(s, clinic.doctor_ids[0])
    with runtime.db.transaction() as s:
        assert reminders.write_reminders(s, hours=24, tz=tz) == 1  # his colleague's patient
    outbox = _Outbox()
    notify.send_notices(runtime.db.sessionmaker, outbox, lease_seconds=5, tz=tz)
    assert outbox.sent == ["c@example.test"]
    # Nobody moved the visit: its patient is no no-show, the clinic cancels it.
    with runtime.db.transaction() as s:
        cancelling.mark_no_shows(s, grace_minutes=30, tz=tz, now=starts + timedelta(hours=1))
    with runtime.db.session() as s:
        visit = s.get(Visit, held.id)
        assert (visit.status, visit.cancelled_by) == ("cancelled", "clinic")
        assert visit.cancel_reason.startswith("the doctor has left")


@pytest.mark.parametrize("change", ["cancel", "move"])
def test_a_reminder_waiting_to_be_sent_is_dropped_when_its_visit_is_cancelled_or_moved(
    runtime, change
):
    clinic = make_clinic(runtime, **ALL_DAY)
    tz = runtime.settings.tz
    starts = slot_near(runtime, timedelta(hours=2))
    visit = _book(runtime, clinic, starts, email="patient@example.test")
    with runtime.db.transaction() as s:
        assert reminders.write_reminders(s, hours=24, tz=tz) == 1
    with runtime.db.transaction() as s:
        if change == "cancel":
            cancelling.cancel(
                s, s.get(Visit, visit.id), by="patient", reason="заболел", late_window_hours=2
            )
        else:
            job = rescheduling.request_move(
                s, visit.id, starts_at=starts + timedelta(minutes=30), reason="позже"
            )
    if change == "move":
        with runtime.db.transaction() as s:
            rescheduling.carry_out(s, job.id, tz=tz, max_moves=3)
    sent = []

    class Outbox:
        def send(self, to, subject, body):
            sent.append(subject)

    notify.send_notices(runtime.db.sessionmaker, Outbox(), lease_seconds=5, tz=tz)
    assert not any("Напоминание" in subject for subject in sent), sent
    if change == "move":  # the moved visit is reminded of its new time
        with runtime.db.transaction() as s:
            assert reminders.write_reminders(s, hours=24, tz=tz) == 1
            keys = list(s.scalars(select(VisitNotice.key).where(VisitNotice.kind == "reminder")))
        assert keys == [f"reminder:{visit.id}:{iso(starts + timedelta(minutes=30))}"]
