"""Every report's figures against a day whose totals are known, on both databases; the day
is the Tashkent day (00:00-24:00 UTC+5), not the UTC one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from clinic.accounts.permissions import Staff, permissions_of
from clinic.errors import Forbidden, ValidationFailed
from clinic.payments.models import Payment
from clinic.queue.models import QueueDay
from clinic.reports.definitions import build
from clinic.reports.params import parse_params
from tests.reports.fixtures import (
    DAY,
    NEXT,
    TZ,
    _paid_invoice,
    _ticket,
    local,
    make_day,
    make_reference,
    params,
)


@pytest.fixture
def day(runtime, make_user):
    return make_day(runtime, make_user)


def rows(runtime, p) -> list[tuple]:
    with runtime.db.session() as s:
        built = build(s, p, TZ)
        return list(built.rows)


def by_key(found: list[tuple]) -> dict:
    return {row[0]: row[1:] for row in found}


def test_revenue_counts_the_clinic_day_from_tashkent_midnight_not_utc(runtime, day):
    # p1 (00:30 local, the 9th in UTC) is in; p3 (00:01 on the 11th, the 10th in UTC) and
    # p4 (23:59 on the 9th) are out. The card payment's 20 000 sum refund is in.
    assert by_key(rows(runtime, params("revenue", "method"))) == {
        "наличные": (1, 5_000_000, 0, 5_000_000),
        "карта": (1, 7_000_000, 2_000_000, 5_000_000),
    }
    assert rows(runtime, params("revenue", "day", DAY, NEXT)) == [
        ("2026-03-10", 2, 12_000_000, 2_000_000, 10_000_000),
        ("2026-03-11", 1, 11_000_000, 0, 11_000_000),
    ]


def test_revenue_by_department_doctor_provider_cashier_and_service(runtime, day):
    assert by_key(rows(runtime, params("revenue", "department", language="en"))) == {
        "Department A": (1, 5_000_000, 0, 5_000_000),
        "Department B": (1, 7_000_000, 2_000_000, 5_000_000),
    }
    # The Payme payment of the 11th is D1's through his queue's ticket.
    assert by_key(rows(runtime, params("revenue", "doctor", DAY, NEXT))) == {
        "Доктор D1": (2, 16_000_000, 0, 16_000_000),
        "Доктор D2": (1, 7_000_000, 2_000_000, 5_000_000),
    }
    assert by_key(rows(runtime, params("revenue", "provider", DAY, NEXT, language="en"))) == {
        "desk": (2, 12_000_000, 2_000_000, 10_000_000),
        "Payme": (1, 11_000_000, 0, 11_000_000),
    }
    # Written as the receipts write it, by method too.
    assert by_key(rows(runtime, params("revenue", "method", NEXT, NEXT)))["Payme"] == (
        1, 11_000_000, 0, 11_000_000,
    )  # fmt: skip
    assert by_key(rows(runtime, params("revenue", "cashier"))) == {
        "kassir1": (1, 5_000_000, 0, 5_000_000),
        "kassir2": (1, 7_000_000, 2_000_000, 5_000_000),
    }
    services = by_key(rows(runtime, params("revenue", "service", DAY, NEXT)))
    assert sorted(services.values()) == [(1, 7_000_000), (2, 16_000_000)]
    only_d2 = params("revenue", "service", DAY, NEXT, doctor_id=day.doctors["D2"])
    assert [r[1:] for r in rows(runtime, only_d2)] == [(1, 7_000_000)]


def test_by_cashier_a_refund_goes_the_way_its_payment_came(runtime, day):
    """Click reports no refunds: one given back in Click's cabinet is recorded at the desk by
    a cashier, but the money goes back through Click, not from her drawer. By cashier it
    nets under Click, as by method; a desk payment's refund (taken with the page's key or
    not) is the cashier's who gave it back."""
    from clinic.payments.models import Payment, Refund
    from tests.reports.fixtures import _paid_invoice

    with runtime.db.transaction() as s:
        at = local(DAY, 14)
        invoice = _paid_invoice(s, day, patient=0, service="S1", amount=3_000_000, at=at)
        ref = f"click-{day.queue_id}"
        paid = Payment(invoice_id=invoice.id, method="click", amount=3_000_000, actor="click",
                       provider="click", provider_ref=ref, created_at=at)  # fmt: skip
        s.add(paid)
        s.flush()
        given = {"reason": "через Click", "actor": "kassir1", "created_at": local(DAY, 15)}
        s.add(Refund(payment_id=paid.id, invoice_id=invoice.id, amount=3_000_000, **given))
        # Cash kassir1 took with her page's key ("desk"), given back by kassir2 from her
        # drawer: the refund is kassir2's, as her shift slip says.
        invoice = _paid_invoice(s, day, patient=0, service="S1", amount=1_000_000, at=at)
        cash = Payment(invoice_id=invoice.id, method="cash", amount=1_000_000, actor="kassir1",
                       provider="desk", provider_ref=f"desk:{ref}", created_at=at)  # fmt: skip
        s.add(cash)
        s.flush()
        given = {"reason": "ошибка", "actor": "kassir2", "created_at": local(DAY, 16)}
        s.add(Refund(payment_id=cash.id, invoice_id=invoice.id, amount=1_000_000, **given))
    by_cashier = by_key(rows(runtime, params("revenue", "cashier", language="en")))
    assert by_cashier == {
        "Click": (1, 3_000_000, 3_000_000, 0),
        "kassir1": (2, 6_000_000, 0, 6_000_000),
        "kassir2": (1, 7_000_000, 3_000_000, 4_000_000),
    }
    by_method = by_key(rows(runtime, params("revenue", "method", language="en")))
    assert by_method["Click"] == by_cashier["Click"]


def test_visit_figures_new_against_follow_up_and_the_rates(runtime, day):
    found = rows(runtime, params("visits", "doctor"))
    assert by_key(found) == {
        "Доктор D1": (2, 1, 1, 0, 0, 1, 1, 50.0, 0.0),
        "Доктор D2": (2, 0, 0, 1, 1, 1, 1, 0.0, 50.0),
    }
    statuses = by_key(rows(runtime, params("visits", "status", language="en")))
    assert {k: v[0] for k, v in statuses.items()} == {
        "completed": 1,
        "no-show": 1,
        "cancelled": 1,
        "scheduled": 1,
    }
    assert rows(runtime, params("visits", "day", DAY, NEXT)) == [
        ("2026-03-10", 4, 1, 1, 1, 1, 2, 2, 25.0, 25.0),
        ("2026-03-11", 1, 0, 0, 0, 0, 1, 0, 0.0, 0.0),
    ]


def test_a_report_by_day_lists_every_day_of_the_period_with_zeros_where_nothing_happened(
    runtime, day
):
    """Money on the 9th, 10th and 11th only; visits on the 1st, 10th and 11th. A week is
    seven rows, in order, its days without money or visits as zeros (and no rate), whether
    they come before, between or after the days with figures."""
    from datetime import date

    week = params("revenue", "day", date(2026, 3, 8), date(2026, 3, 14))
    assert rows(runtime, week) == [
        ("2026-03-08", 0, 0, 0, 0),
        ("2026-03-09", 1, 13_000_000, 0, 13_000_000),
        ("2026-03-10", 2, 12_000_000, 2_000_000, 10_000_000),
        ("2026-03-11", 1, 11_000_000, 0, 11_000_000),
        ("2026-03-12", 0, 0, 0, 0),
        ("2026-03-13", 0, 0, 0, 0),
        ("2026-03-14", 0, 0, 0, 0),
    ]
    nothing = (0, 0, 0, 0, 0, 0, 0, None, None)
    found = rows(runtime, params("visits", "day", date(2026, 2, 28), date(2026, 3, 12)))
    assert [r[0] for r in found] == ["2026-02-28"] + [f"2026-03-{d:02d}" for d in range(1, 13)]
    assert by_key(found) == {
        "2026-02-28": nothing,
        "2026-03-01": (1, 1, 0, 0, 0, 1, 0, 0.0, 0.0),
        **{f"2026-03-{d:02d}": nothing for d in range(2, 10)},
        "2026-03-10": (4, 1, 1, 1, 1, 2, 2, 25.0, 25.0),
        "2026-03-11": (1, 0, 0, 0, 0, 1, 0, 0.0, 0.0),
        "2026-03-12": nothing,
    }
    # A day's report of a day with nothing in it is that day, with zeros; a filter keeps
    # every day too.
    assert rows(runtime, params("revenue", "day", date(2026, 3, 12), date(2026, 3, 12))) == [
        ("2026-03-12", 0, 0, 0, 0)
    ]
    assert rows(
        runtime, params("visits", "day", NEXT, NEXT, department_id=day.departments["A"])
    ) == [("2026-03-11", *nothing)]
    # Other groupings list what happened only.
    assert len(rows(runtime, params("revenue", "method", date(2026, 3, 8), date(2026, 3, 14)))) == 3


def test_queue_waits_p50_p90_service_time_and_no_shows_per_queue_hour_and_room(runtime, day):
    assert rows(runtime, params("queue", "queue")) == [(day.queue_code, 12, 10, 2, 5.0, 9.0, 4.0)]
    assert rows(runtime, params("queue", "room")) == [(day.room_number, 12, 10, 2, 5.0, 9.0, 4.0)]
    assert rows(runtime, params("queue", "hour")) == [
        ("09:00", 5, 5, 0, 3.0, 5.0, 3.6),
        ("10:00", 5, 5, 0, 8.0, 10.0, 4.4),
        ("11:00", 2, 0, 2, None, None, None),
    ]


def test_a_doctors_queue_figures_count_the_tickets_he_called_from_a_shared_queue(
    runtime, day, make_user
):
    """The day's queue is D1's; D2, standing in, called two of its tickets himself."""
    from sqlalchemy import select

    from clinic.accounts.models import User
    from clinic.queue.models import Ticket, TicketEvent

    username = "dr-d2"
    make_user("doctor", username)
    with runtime.db.transaction() as s:
        s.scalar(select(User).where(User.username == username)).doctor_id = day.doctors["D2"]
        for ticket in s.scalars(select(Ticket).order_by(Ticket.number).limit(2)):
            called = {"action": "called", "from_status": "waiting", "to_status": "called"}
            s.add(TicketEvent(ticket_id=ticket.id, at=ticket.called_at, actor=username, **called))
    d2 = params("queue", "queue", doctor_id=day.doctors["D2"])
    assert [r[:3] for r in rows(runtime, d2)] == [(day.queue_code, 2, 2)]
    d1 = params("queue", "queue", doctor_id=day.doctors["D1"])
    assert [r[:3] for r in rows(runtime, d1)] == [(day.queue_code, 12, 10)]


def test_a_doctors_queue_figures_count_a_ticket_he_called_back_from_a_shared_queue(
    runtime, day, make_user
):
    """A patient who stepped out was postponed; D2, standing in, called him back: he is one
    of the tickets D2 called, as much as one D2 called next."""
    from sqlalchemy import select

    from clinic.accounts.models import User
    from clinic.queue.models import Ticket, TicketEvent

    username = "dr-d2-back"
    make_user("doctor", username)
    with runtime.db.transaction() as s:
        s.scalar(select(User).where(User.username == username)).doctor_id = day.doctors["D2"]
        ticket = s.scalars(select(Ticket).order_by(Ticket.number).limit(1)).one()
        for action, was, now, actor in (
            ("postponed", "waiting", "postponed", "registrar"),
            ("called_back", "postponed", "called", username),
        ):
            s.add(
                TicketEvent(
                    ticket_id=ticket.id, at=ticket.called_at, actor=actor, action=action,
                    from_status=was, to_status=now,
                )
            )  # fmt: skip
    d2 = params("queue", "queue", doctor_id=day.doctors["D2"])
    assert [r[:2] for r in rows(runtime, d2)] == [(day.queue_code, 1)]


def test_the_z_report_of_the_days_cashier_shifts(runtime, day):
    found = rows(runtime, params("shifts", "shift"))
    assert [r[0].split()[0] for r in found] == [
        f"#{day.shifts['kassir1']}",
        f"#{day.shifts['kassir2']}",
    ]
    assert [r[3:] for r in found] == [
        (1_000_000, 5_000_000, 0, 0, 0, 6_000_000, 5_900_000, -100_000),
        # Still open: the expected cash is worked out from its payments.
        (0, 0, 7_000_000, 0, 2_000_000, 0, None, None),
    ]
    # The totals add up what is known: with a shift not yet counted, the counted cash and
    # the discrepancy of the day are unknown (blank), not 0.
    from clinic.reports.output import Totals

    with runtime.db.session() as s:
        built = build(s, params("shifts", "shift"), TZ)
        totals = Totals(built.columns)
        for row in built.rows:
            totals.add(row)
    assert totals.row("ru")[3:] == (
        1_000_000,
        5_000_000,
        7_000_000,
        0,
        2_000_000,
        6_000_000,
        None,
        None,
    )


def test_reconciliation_lists_a_payme_payment_the_provider_does_not_show(runtime, day):
    assert rows(runtime, params("reconciliation", "kind")) == []
    found = rows(runtime, params("reconciliation", "kind", NEXT, NEXT))
    # Said in the report's language, Payme by its name, as the revenue names it.
    assert [(r[0], r[1], r[5]) for r in found] == [
        ("оплачено у нас, у провайдера не оплачено", "Payme", 11_000_000)
    ]
    found = rows(runtime, params("reconciliation", "kind", NEXT, NEXT, language="uz"))
    assert [r[:2] for r in found] == [("bizda to'langan, provayderda to'lanmagan", "Payme")]


def test_services_of_a_day_stay_as_they_were_when_an_invoice_is_refunded_later(runtime, day):
    """A period's report does not change after it: the refund is the next day's money."""
    from sqlalchemy import select

    from clinic.payments.models import Invoice

    before = rows(runtime, params("revenue", "service"))
    with runtime.db.transaction() as s:
        refunded = s.scalars(select(Invoice).where(Invoice.status == "partly_refunded")).one()
        refunded.status, refunded.refunded_amount = "refunded", refunded.paid_amount
    assert rows(runtime, params("revenue", "service")) == before


def test_a_doctor_gets_his_own_figures_only(runtime, day):
    doctor = Staff(permissions_of(["doctor"]), doctor_id=day.doctors["D2"])
    with runtime.db.session() as s:
        mine = parse_params(
            s,
            {"report": "revenue", "by": "doctor", "start": "2026-03-10", "end": "2026-03-11"},
            doctor,
        )
        assert mine.doctor_id == day.doctors["D2"]
        with pytest.raises(Forbidden):
            parse_params(
                s,
                {
                    "report": "revenue",
                    "start": "2026-03-10",
                    "end": "2026-03-10",
                    "doctor_id": day.doctors["D1"],
                },
                doctor,
            )
        with pytest.raises(Forbidden):
            parse_params(
                s, {"report": "shifts", "start": "2026-03-10", "end": "2026-03-10"}, doctor
            )
        with pytest.raises(Forbidden):
            parse_params(
                s,
                {"report": "visits", "start": "2026-03-10", "end": "2026-03-10"},
                Staff(permissions_of(["doctor"])),
            )
    assert by_key(rows(runtime, mine)) == {"Доктор D2": (1, 7_000_000, 2_000_000, 5_000_000)}


def test_bad_parameters_are_refused_field_by_field(runtime, day):
    manager = Staff(permissions_of(["manager"]))
    with runtime.db.session() as s:
        with pytest.raises(ValidationFailed) as refused:
            parse_params(
                s,
                {
                    "report": "visits",
                    "by": "service",
                    "start": "10.03.2026",
                    "end": "2026-03-10",
                    "department_id": 999999,
                    "doctor_id": "x",
                    "language": "de",
                },
                manager,
            )
        # Each reason also by its stable code, for pages that say it in their own language.
        assert refused.value.reasons == {
            "by": ["unknown_grouping"],
            "start": ["start_format"],
            "department_id": ["unknown_department"],
            "doctor_id": ["not_an_id"],
            "language": ["unknown_language"],
        }
        assert set(refused.value.errors) == set(refused.value.reasons)
        with pytest.raises(ValidationFailed) as refused:
            parse_params(
                s,
                {
                    "report": "shifts",
                    "start": "2026-03-10",
                    "end": "2026-03-09",
                    "doctor_id": day.doctors["D1"],
                },
                manager,
            )
        assert refused.value.reasons == {"end": ["period_reversed"], "doctor_id": ["not_filtered"]}
        # Not taken at all: so said, whatever department or doctor the filter names.
        with pytest.raises(ValidationFailed) as refused:
            parse_params(
                s,
                {
                    "report": "reconciliation",
                    "start": "2026-03-10",
                    "end": "2026-03-10",
                    "department_id": 999999,
                    "doctor_id": 999999,
                },
                manager,
            )
        assert refused.value.reasons == {
            "department_id": ["not_filtered"],
            "doctor_id": ["not_filtered"],
        }
        with pytest.raises(ValidationFailed) as refused:
            parse_params(
                s,
                {
                    "report": "queue",
                    "start": "2026-03-10",
                    "end": "2026-03-10",
                    "doctor_id": 999999,
                },
                manager,
            )
        assert refused.value.reasons == {"doctor_id": ["unknown_doctor"]}
        with pytest.raises(ValidationFailed) as refused:
            parse_params(s, {"report": "sales"}, manager)
        assert refused.value.reasons == {"report": ["unknown_report"]}
        with pytest.raises(ValidationFailed) as refused:
            parse_params(
                s, {"report": "queue", "start": "2025-01-01", "end": "2026-03-10"}, manager
            )
        assert refused.value.reasons == {"end": ["period_too_long"]}
        with pytest.raises(ValidationFailed) as refused:
            parse_params(
                s, {"report": "queue", "start": "1899-12-31", "end": "2026-03-10"}, manager
            )
        assert refused.value.reasons == {"start": ["day_out_of_range"]}


def test_filters_by_department_and_doctor_and_unattributed_money(runtime, day):
    dep_b = day.departments["B"]
    assert rows(runtime, params("revenue", "day", department_id=dep_b)) == [
        ("2026-03-10", 1, 7_000_000, 2_000_000, 5_000_000)
    ]
    # The 9th's cash payment belongs to no visit and no ticket.
    assert rows(
        runtime, params("revenue", "department", DAY - (NEXT - DAY), DAY - (NEXT - DAY))
    ) == [("не указано", 1, 13_000_000, 0, 13_000_000)]
    assert by_key(rows(runtime, params("visits", "department", department_id=dep_b))) == {
        "Хирургия": (2, 0, 0, 1, 1, 1, 1, 0.0, 50.0)
    }
    d1 = params("visits", "status", doctor_id=day.doctors["D1"], language="en")
    assert {r[0]: r[1] for r in rows(runtime, d1)} == {"completed": 1, "no-show": 1}
    assert rows(runtime, params("queue", "queue", department_id=dep_b)) == []
    assert len(rows(runtime, params("queue", "queue", doctor_id=day.doctors["D1"]))) == 1


def test_reconciliation_reads_its_records_in_batches(runtime, day, monkeypatch):
    from clinic.reports import common

    monkeypatch.setattr(common, "YIELD_PER", 1)
    assert len(rows(runtime, params("reconciliation", "kind", NEXT, NEXT))) == 1


def test_the_dashboard_shows_todays_revenue_visits_and_queue(runtime, day, client_as):
    from clinic.reports import dashboard

    with runtime.db.session() as s:
        today = dashboard.today(s, TZ, now=local_time(DAY, 20))
        channels = dashboard.live_channels(s)
    assert today["day"] == "2026-03-10"
    assert today["revenue"] == {
        "received": 12_000_000, "refunded": 2_000_000, "net": 10_000_000, "payments": 2,
    }  # fmt: skip
    assert today["visits"] == {
        "total": 4,
        "by_status": {"completed": 1, "no_show": 1, "cancelled": 1, "scheduled": 1},
    }
    assert today["queue"] == {
        "waiting": 0, "queues": [{"queue_id": day.queue_id, "code": day.queue_code, "waiting": 0}]
    }  # fmt: skip
    calendars = [f"visits_department:{d}" for d in sorted(day.departments.values())]
    assert channels == ["payments:desk", f"queue:{day.queue_id}", *calendars]
    answer = client_as("manager").get("/api/v1/reports/dashboard")
    assert answer.status_code == 200 and answer.get_json()["channels"] == channels


def test_the_dashboard_names_only_channels_its_reader_may_follow(runtime, day, app):
    from sqlalchemy import update

    from clinic.accounts.models import User
    from tests.conftest import _create_user

    # A manager who is also doctor D2: his socket reads his own queues and no department's
    # calendar, so the page is not sent channels whose refusal would close it again and again.
    user_id, name = _create_user(runtime, "manager")
    with runtime.db.transaction() as s:
        s.execute(update(User).where(User.id == user_id).values(doctor_id=day.doctors["D2"]))
    manager = app.test_client()
    manager.sign_in(name)
    answer = manager.get("/api/v1/reports/dashboard")
    assert answer.status_code == 200 and answer.get_json()["channels"] == ["payments:desk"]


def local_time(day, hour):
    from tests.reports.fixtures import local

    return local(day, hour)


@pytest.mark.parametrize(
    "start, end",
    [
        ("9999-12-31", "9999-12-31"),  # its end of day is past the calendar
        ("0001-01-01", "0001-01-01"),  # its midnight in UTC is before the calendar
        ("20260310", "2026-03-10"),
        ("2026-03-10", "2026-W11-2"),
        ("2026-02-30", "2026-03-10"),  # written as a day, no such day
    ],
)
def test_a_period_not_written_as_calendar_days_is_refused(runtime, start, end):
    manager = Staff(permissions_of(["manager"]))
    with runtime.db.session() as s:
        with pytest.raises(ValidationFailed) as refused:
            parse_params(s, {"report": "revenue", "start": start, "end": end}, manager)
    # A calendar day outside the years the clinic keeps is told so, not taken for a typo.
    out_of_range = ["A date from 1900-01-01 to 2999-12-31."]
    assert refused.value.errors == {
        field: (
            out_of_range
            if value[:4] in ("9999", "0001")
            else ["A date is required, as YYYY-MM-DD."]
        )
        for field, value in (("start", start), ("end", end))
        if value not in ("2026-03-10",)
    }


def test_the_dashboard_lists_a_queue_nobody_took_a_ticket_in_today(runtime, day):
    from clinic.queue import admin as queue_admin
    from clinic.reports import dashboard

    with runtime.db.transaction() as s:
        quiet = queue_admin.create_queue(
            s, {"code": f"{day.queue_code}q", "department_id": day.departments["B"]}
        )
    with runtime.db.session() as s:
        today = dashboard.today(s, TZ, now=local_time(DAY, 20))
    assert today["queue"] == {
        "waiting": 0,
        "queues": [
            {"queue_id": day.queue_id, "code": day.queue_code, "waiting": 0},
            {"queue_id": quiet.id, "code": quiet.code, "waiting": 0},
        ],
    }


def test_a_recall_does_not_lengthen_the_wait_and_a_transferred_ticket_waits_from_its_queue_time(
    runtime, day
):
    """Queued at 9:00, called at 9:04 and recalled at 9:20, a patient waited 4 minutes (his
    service, finished at 9:25 straight from the recall, took 5). Another, queued at 9:00,
    called at 9:27 (recalled at 9:29) and sent to a second queue that called him at 9:45
    (recalled at 9:50): his new ticket keeps the 9:00 queue time, so it waited 45 minutes,
    the first one 27."""
    from clinic.queue import admin as queue_admin
    from clinic.queue import calls
    from clinic.queue.tickets import issue_ticket

    with runtime.db.transaction() as s:
        first = queue_admin.create_queue(
            s, {"code": f"{day.queue_code}w", "department_id": day.departments["B"]}
        )
        second = queue_admin.create_queue(
            s, {"code": f"{day.queue_code}x", "department_id": day.departments["B"], "prefix": "X"}
        )
    with runtime.db.transaction() as s:
        recalled = issue_ticket(s, first.id, tz=TZ, now=local(DAY, 9))
        calls.call_next(s, first.id, tz=TZ, now=local(DAY, 9, 4))
        calls.recall(s, recalled, now=local(DAY, 9, 20))
        calls.finish_service(s, recalled, tz=TZ, now=local(DAY, 9, 25))
        sent = issue_ticket(s, first.id, tz=TZ, now=local(DAY, 9))
        calls.call_next(s, first.id, tz=TZ, now=local(DAY, 9, 27))
        calls.recall(s, sent, now=local(DAY, 9, 29))
        there = calls.transfer(s, sent, second.id, tz=TZ, now=local(DAY, 9, 30))
        calls.call_next(s, second.id, tz=TZ, now=local(DAY, 9, 45))
        calls.recall(s, there, now=local(DAY, 9, 50))
    found = by_key(rows(runtime, params("queue", "queue", department_id=day.departments["B"])))
    # First queue: waits of 4 and 27 minutes (p50 4, p90 27); the second: 45 minutes.
    assert found == {
        first.code: (2, 1, 0, 4.0, 27.0, 5.0),
        second.code: (1, 0, 0, 45.0, 45.0, None),
    }


def test_queue_minutes_round_halves_up_the_same_on_both_databases(runtime):
    """Waits of 3 s, 12 min 15 s and 24 min 3 s, services of 12 min 15 s, 12 min 33 s and
    15 s: p50 12.25 and p90 24.05 minutes, a mean service of 8.35, each rounded up."""
    data = make_reference(runtime)
    with runtime.db.transaction() as s:
        day = QueueDay(queue_id=data.queue_id, day=DAY, last_number=0, waiting=0)
        s.add(day)
        s.flush()
        for number, (wait, service) in enumerate(
            ((12.25, 12.25), (0.05, 12.55), (24.05, 0.25)), start=1
        ):
            _ticket(s, data, day.id, number, local(DAY, 9, number), wait=wait, service=service)
    [row] = rows(runtime, params("queue", "queue"))
    assert row[1:] == (3, 3, 0, 12.3, 24.1, 8.4)


def test_the_days_last_instant_stays_in_its_day_and_hour_on_both_databases(runtime):
    """A payment and a ticket at 23:59:59.9997 belong to that day's 23rd hour: SQLite's date
    functions, rounding to the millisecond, would take them to 00:00 of the next day."""
    data = make_reference(runtime)
    last = local(DAY, 23, 59) + timedelta(seconds=59, microseconds=999_700)
    with runtime.db.transaction() as s:
        invoice = _paid_invoice(s, data, patient=0, service="S1", amount=300_000, at=last)
        s.add(Payment(invoice_id=invoice.id, method="cash", amount=300_000, actor="desk",
                      created_at=last))  # fmt: skip
        day = QueueDay(queue_id=data.queue_id, day=DAY, last_number=0, waiting=0)
        s.add(day)
        s.flush()
        _ticket(s, data, day.id, 1, last, wait=0.5, service=5)
    assert rows(runtime, params("revenue", "day")) == [("2026-03-10", 1, 300_000, 0, 300_000)]
    assert [row[0] for row in rows(runtime, params("queue", "hour"))] == ["23:00"]


def test_money_of_no_department_is_the_last_row_on_either_database(runtime, day):
    """PostgreSQL sorts an empty key last and SQLite first: the "not given" row stands
    last on both, after the departments it is set apart from."""
    found = rows(runtime, params("revenue", "department", DAY - (NEXT - DAY), DAY))
    assert len(found) > 1
    assert found[-1][0] == "не указано"
    assert "не указано" not in [row[0] for row in found[:-1]]
