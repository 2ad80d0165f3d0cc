"""Two moves of one visit asked one after the other, carried out in either order (two
workers, or the first one's worker died and the sweeper sent it again later): the visit ends
where it was asked to go last, and the registrar may ask for it back while a move waits."""

from __future__ import annotations

import pytest

from clinic.base import iso
from clinic.visits import booking, rescheduling
from clinic.visits.models import Visit
from tests.visits.conftest import make_clinic, next_week_day


def _moves(runtime, clinic, visit_id, *targets):
    jobs = []
    for target in targets:
        with runtime.db.transaction() as s:
            jobs.append(
                rescheduling.request_move(s, visit_id, starts_at=target, reason="просьба").id
            )
    return jobs


def _carry_out(runtime, clinic, job_id):
    with runtime.db.transaction() as s:
        return rescheduling.carry_out(s, job_id, tz=clinic.tz, max_moves=5)


def _at(runtime, visit_id):
    with runtime.db.session() as s:
        return s.get(Visit, visit_id).starts_at


@pytest.fixture
def booked(runtime):
    clinic = make_clinic(runtime, hours=("09:00", "13:00"), slot=20)
    day = next_week_day(clinic.tz)
    with runtime.db.transaction() as s:
        visit = booking.book(
            s, patient_id=clinic.patient_ids[0], doctor_id=clinic.doctor_ids[0],
            starts_at=clinic.at(day, 9), tz=clinic.tz,
        )  # fmt: skip
    return clinic, day, visit.id


@pytest.mark.parametrize("order", ["as asked", "last first"])
def test_a_visit_asked_back_while_its_move_waits_stays_where_it_was(runtime, booked, order):
    clinic, day, visit = booked
    # Moved to 10:00, then (the patient called again) back to 9:00 before a worker ran.
    away, back = _moves(runtime, clinic, visit, clinic.at(day, 10), clinic.at(day, 9))
    for job in (away, back) if order == "as asked" else (back, away):
        _carry_out(runtime, clinic, job)
    assert _at(runtime, visit) == clinic.at(day, 9)


def test_a_move_carried_out_after_a_later_one_leaves_the_visit_where_that_one_put_it(
    runtime, booked
):
    clinic, day, visit = booked
    first, second = _moves(runtime, clinic, visit, clinic.at(day, 10), clinic.at(day, 11))
    done = _carry_out(runtime, clinic, second)
    assert done["moved"] is True
    late = _carry_out(runtime, clinic, first)
    # The visit is where it was asked to go last; the late job says where that is.
    assert late["moved"] is False and late["to"]["starts_at"] == iso(clinic.at(day, 11))
    assert _at(runtime, visit) == clinic.at(day, 11)
    with runtime.db.session() as s:
        assert s.get(Visit, visit).moves == 1
