"""The shifts report e-mailed for a day whose evening shift is still open after midnight: it
waits for the shift to close (the Z report then carries its whole money and its count), and
past the deadline it goes all the same, naming the shifts still open."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from clinic.accounts import users
from clinic.accounts.models import User
from clinic.accounts.permissions import Staff, permissions_of
from clinic.payments import shifts
from clinic.reports import mailing
from clinic.reports import subscriptions as subs
from clinic.reports.models import DeliveryState, ReportDelivery
from tests.conftest import PASSWORD
from tests.reports.fixtures import NEXT, local, make_day

SHIFTS = {
    "report": "shifts", "by": "shift", "frequency": "daily", "email": "boss@example.test",
    "formats": ["csv"],
}  # fmt: skip


class Outbox:
    """A mail server that keeps what it is given."""

    def __init__(self) -> None:
        self.sent = []

    def send(self, message) -> None:
        self.sent.append(message)


def _subscribed(runtime) -> None:
    with runtime.db.transaction() as s:
        users.create_user(s, username="manager", password=PASSWORD, roles=["manager"])
        subs.subscribe(s, SHIFTS, Staff(permissions_of(["manager"])), created_by="manager")


def _beat(runtime, now, outbox: Outbox) -> int:
    with runtime.db.transaction() as s:
        subs.schedule_deliveries(s, tz=runtime.settings.tz, now=now)
    return mailing.send_due(
        runtime.db.sessionmaker, runtime.settings, outbox, lease_seconds=60,
        retry_base_seconds=60, now=now,
    )  # fmt: skip


def _delivery(runtime) -> ReportDelivery:
    with runtime.db.session() as s:
        return s.scalars(select(ReportDelivery)).one()


def _csv(message) -> str:
    [attachment] = list(message.iter_attachments())
    return attachment.get_payload(decode=True).decode("utf-8-sig")


def test_the_days_shifts_report_waits_for_its_evening_shift_to_close(runtime, make_user):
    """kassir2's shift of the 10th is still open at 00:10 on the 11th: the e-mail waits
    (the delivery log says for which shift), and goes once he has closed it, with its close
    and its counted cash, instead of an open shift's figures mailed once and never again."""
    day = make_day(runtime, make_user)
    _subscribed(runtime)
    outbox = Outbox()
    for minutes in (10, 15, 20):
        assert _beat(runtime, local(NEXT, 0, minutes), outbox) == 0
    assert outbox.sent == []
    waiting = _delivery(runtime)
    assert waiting.state == DeliveryState.PENDING and waiting.attempts == 0
    assert f"#{day.shifts['kassir2']}" in waiting.error
    with runtime.db.transaction() as s:
        shift = shifts.get_shift(s, day.shifts["kassir2"])
        shifts.close_shift(s, shift, counted_cash=0, now=local(NEXT, 1))
    assert _beat(runtime, local(NEXT, 1, 5), outbox) == 1
    [message] = outbox.sent
    row = next(r for r in _csv(message).splitlines() if r.startswith(f"#{day.shifts['kassir2']}"))
    assert "2026-03-11 01:00" in row
    assert _delivery(runtime).state == DeliveryState.SENT


def test_a_shift_left_open_past_the_deadline_is_named_in_the_email(runtime, make_user):
    """A shift nobody closes does not hold the report for good: at noon (the deadline, 12
    hours into the next day) it goes, and says which shift was still open."""
    day = make_day(runtime, make_user)
    _subscribed(runtime)
    outbox = Outbox()
    deadline = local(NEXT, 0) + timedelta(hours=runtime.settings.reports_open_shifts_wait_hours)
    assert _beat(runtime, deadline - timedelta(minutes=5), outbox) == 0
    assert _beat(runtime, deadline, outbox) == 1
    [message] = outbox.sent
    open_one = f"#{day.shifts['kassir2']}"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert open_one in body and "открыт" in body
    row = next(r for r in _csv(message).splitlines() if r.startswith(open_one))
    assert "ещё открыта" in row
    assert _delivery(runtime).state == DeliveryState.SENT


def test_the_email_and_the_delivery_log_name_an_open_shift_as_the_report_does(runtime, make_user):
    """The Z report names a shift by its number and its cashier's full name ("#12 Каримова
    Дилноза"): the e-mail's line of the shifts still open, and the delivery log saying what
    it waits for, name it the same way, so the manager finds that row in the attachment."""
    day = make_day(runtime, make_user)
    with runtime.db.transaction() as s:
        shift = shifts.get_shift(s, day.shifts["kassir2"])
        s.get(User, shift.cashier_id).full_name = "Каримова Дилноза"
    _subscribed(runtime)
    outbox = Outbox()
    deadline = local(NEXT, 0) + timedelta(hours=runtime.settings.reports_open_shifts_wait_hours)
    assert _beat(runtime, deadline - timedelta(minutes=5), outbox) == 0
    named = f"#{day.shifts['kassir2']} Каримова Дилноза"
    assert named in _delivery(runtime).error
    assert _beat(runtime, deadline, outbox) == 1
    [message] = outbox.sent
    assert any(row.startswith(named) for row in _csv(message).splitlines())
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert named in body
