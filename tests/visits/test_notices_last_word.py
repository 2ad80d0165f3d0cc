"""The last word a patient gets of his visit. A move's notice the mail server did not take
is not sent after what came later (the clinic's cancellation, another move), nor once he
cancelled the visit himself; a notice sent by its key goes after the earlier ones of its
visit still to go, and waits while one of them is not taken."""

from __future__ import annotations

from sqlalchemy import select

from clinic.base import iso, utcnow
from clinic.visits import bulk, notify, rescheduling
from clinic.visits.models import VisitNotice
from tests.races import wait_for
from tests.visits.conftest import make_clinic, next_week_day
from tests.visits.test_rescheduling import _book, wait_jobs

MOVED = "Ваш приём перенесён"
CANCELLED = "Ваш приём отменён"
WILL_NOT_TAKE_PLACE = "Ваш приём не состоится"


def _subjects(messages) -> list[str]:
    return [m["subject"].split(" / ")[0] for m in messages]


def _move(client, runtime, visit_id, to) -> str:
    """Moved by the desk, through a worker that tells the patient."""
    asked = client.post(
        f"/api/v1/visits/{visit_id}/reschedule", json={"starts_at": iso(to), "reason": "просьба"}
    )
    assert asked.status_code == 202, asked.get_json()
    job = wait_jobs(runtime, [asked.get_json()["id"]])[asked.get_json()["id"]]
    assert job.status == "succeeded", job.error
    return job.id


def _moved_while_the_mail_server_was_away(runtime, client, mailbox):
    """A visit booked at 09:00 and moved by the desk to 10:00; the mail server answers the
    move's notice "451 try again later", and it is left for a later try. Returns the clinic,
    the day, the visit and the move's job id."""
    clinic = make_clinic(runtime, hours=("09:00", "13:00"), slot=20)
    day = next_week_day(runtime.settings.tz)
    visit = _book(runtime, clinic, clinic.at(day, 9))
    mailbox.stall_first.set()
    mailbox.release.set()
    job_id = _move(client, runtime, visit.id, clinic.at(day, 10))
    assert mailbox.messages == []
    return clinic, day, visit, job_id


def _sweep(runtime) -> int:
    """Beat's run: every unsent notice."""
    return notify.send_notices(
        runtime.db.sessionmaker,
        notify.EmailNotifier(runtime.settings),
        lease_seconds=5,
        tz=runtime.settings.tz,
    )


def _unclaimed(runtime, visit_id) -> bool:
    """Whether no sender's claim holds a notice of the visit any more."""
    with runtime.db.session() as s:
        claims = select(VisitNotice.claimed_until).where(VisitNotice.visit_id == visit_id)
        return all(until is None or until < utcnow() for until in s.scalars(claims))


def _notice_keys(runtime, visit_id) -> list[str]:
    with runtime.db.session() as s:
        notices = select(VisitNotice.key).where(VisitNotice.visit_id == visit_id)
        return list(s.scalars(notices.order_by(VisitNotice.id)))


def test_the_clinics_cancellation_after_a_move_not_yet_told_is_the_only_word(
    runtime, client, worker, mailbox
):
    _, _, visit, job_id = _moved_while_the_mail_server_was_away(runtime, client, mailbox)
    cancel = {"by": "clinic", "reason": "врач болен"}
    assert client.post(f"/api/v1/visits/{visit.id}/cancel", json=cancel).status_code == 200
    # The worker sends the cancellation by its key; the move's notice, which would tell of
    # a time the visit no longer has, goes nowhere: not before it, nor after it with beat.
    assert _subjects(mailbox.wait_for(1, timeout=20)) == [CANCELLED]
    assert _sweep(runtime) == 0
    assert _subjects(mailbox.messages) == [CANCELLED]
    assert _notice_keys(runtime, visit.id) == [f"cancelled:{visit.id}"]
    assert rescheduling.notice_key(job_id) not in _notice_keys(runtime, visit.id)


def test_a_visit_moved_again_while_its_first_move_was_not_told_is_told_its_last_time(
    runtime, client, worker, mailbox
):
    clinic, day, visit, _ = _moved_while_the_mail_server_was_away(runtime, client, mailbox)
    last = _move(client, runtime, visit.id, clinic.at(day, 11))
    _sweep(runtime)
    got = mailbox.wait_for(1, timeout=5)
    assert _subjects(got) == [MOVED]
    assert "11:00" in got[0]["raw"].get_content() and "10:00" not in got[0]["raw"].get_content()
    assert _notice_keys(runtime, visit.id) == [rescheduling.notice_key(last)]


def test_a_move_not_yet_told_is_not_mailed_once_the_patient_cancelled_himself(
    runtime, client, worker, mailbox
):
    _, _, visit, _ = _moved_while_the_mail_server_was_away(runtime, client, mailbox)
    cancel = {"by": "patient", "reason": "передумал"}
    assert client.post(f"/api/v1/visits/{visit.id}/cancel", json=cancel).status_code == 200
    # Beat's next run, once the claim of the worker's try has run out.
    wait_for(lambda: _unclaimed(runtime, visit.id), timeout=10, what="the claim to run out")
    assert _sweep(runtime) == 0
    assert mailbox.wait_for(1, timeout=1) == []
    assert _notice_keys(runtime, visit.id) == []


def _moved_then_left_unplaced(runtime):
    """A visit moved to 09:40 whose notice the mail server did not take; then its doctor
    falls sick that day, and a bulk move finds it no other slot. Returns the clinic and the
    bulk move's job id."""
    clinic = make_clinic(runtime, hours=("09:00", "10:00"), slot=20)
    day = next_week_day(runtime.settings.tz)
    visit = _book(runtime, clinic, clinic.at(day, 9))
    with runtime.db.transaction() as s:
        job_id = rescheduling.request_move(
            s, visit.id, starts_at=clinic.at(day, 9, 40), reason="просьба", actor="desk"
        ).id
    with runtime.db.transaction() as s:
        rescheduling.carry_out(s, job_id, tz=clinic.tz, max_moves=3)
    notify.send_notices(runtime.db.sessionmaker, _Refusing(MOVED), lease_seconds=0, tz=clinic.tz)
    with runtime.db.transaction() as s:
        _, job = bulk.start_bulk_move(
            s, clinic.doctor_ids[0], kind="sick", first_day=day, last_day=day, search_days=0
        )
    return clinic, job.id


class _Refusing:
    """A mail server that does not take, for now, the messages whose subject begins so."""

    def __init__(self, refused: str) -> None:
        self.refused = refused
        self.sent: list[str] = []

    def send(self, to: str, subject: str, body: str) -> None:
        if subject.startswith(self.refused):
            raise ConnectionRefusedError(111, "Connection refused")
        self.sent.append(subject.split(" / ")[0])


def test_a_notice_sent_by_its_key_goes_after_the_earlier_one_of_its_visit(runtime, mailbox):
    clinic, job_id = _moved_then_left_unplaced(runtime)
    bulk.run_bulk_move(
        runtime.db.sessionmaker,
        job_id,
        tz=clinic.tz,
        notifier=notify.EmailNotifier(runtime.settings),
        lease_seconds=5,
    )
    # The move still stands (the visit is where it was moved): it is told, then that the
    # visit will not take place, which is the last word; beat has nothing left to send.
    assert _subjects(mailbox.wait_for(2, timeout=5)) == [MOVED, WILL_NOT_TAKE_PLACE]
    assert _sweep(runtime) == 0
    assert _subjects(mailbox.messages) == [MOVED, WILL_NOT_TAKE_PLACE]


def test_a_notice_sent_by_its_key_waits_while_the_earlier_one_of_its_visit_is_not_taken(
    runtime, mailbox
):
    clinic, job_id = _moved_then_left_unplaced(runtime)
    refusing = _Refusing(MOVED)
    bulk.run_bulk_move(
        runtime.db.sessionmaker, job_id, tz=clinic.tz, notifier=refusing, lease_seconds=0
    )
    assert refusing.sent == []
    # Beat's next run, the mail server back: in the order they were written.
    assert _sweep(runtime) == 2
    assert _subjects(mailbox.wait_for(2, timeout=5)) == [MOVED, WILL_NOT_TAKE_PLACE]
