"""The catalogue of event types: every recorded event is declared, has its declared shape,
and a public channel (a board, a patient's ticket) never carries a personal field."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import select

from clinic.events import catalogue, record_event
from clinic.events.catalogue import EventMismatch, EventType
from clinic.models import OutboxEvent
from clinic.queue import admin as queue_admin
from clinic.queue import joining
from clinic.reference import directory as reference


def test_an_event_nobody_declared_fails_loudly_and_records_nothing(runtime):
    with pytest.raises(EventMismatch, match="unknown event type"):
        with runtime.db.transaction() as s:
            record_event(s, "job:x", "job.exploded", {"id": "x"})
    with runtime.db.session() as s:
        assert s.scalars(select(OutboxEvent)).all() == []


def test_an_event_of_another_shape_is_refused(runtime):
    board_view = {
        "ticket_id": 1,
        "code": "K-001",
        "queue_id": 1,
        "room": None,
        "status": "called",
        "recalls": 0,
        "called_at": None,
        "waiting": 0,
        "day": "2026-03-02",
    }
    with runtime.db.transaction() as s:
        record_event(s, "board:1", "ticket.called", board_view)
        with pytest.raises(EventMismatch, match="unexpected \\['phone'\\]"):
            record_event(s, "board:1", "ticket.called", {**board_view, "phone": "+998901234567"})
        with pytest.raises(EventMismatch, match="recalls"):
            record_event(s, "board:1", "ticket.called", {**board_view, "recalls": "0"})
        with pytest.raises(EventMismatch, match="not declared for printing"):
            record_event(s, "printing:tickets", "ticket.called", board_view)


def test_every_module_declares_its_events_in_its_own_package():
    names = {event.name for event in catalogue.all_types()}
    assert {"ticket.called", "queue.day_closed", "ticket.print_requested"} <= names
    assert {"job.queued", "job.progress", "job.failed"} <= names
    assert {"service.created", "patient.updated", "clinic.updated"} <= names


def test_no_public_channel_carries_a_name_or_a_phone():
    public = catalogue.public_kinds()
    assert {"board", "ticket"} <= public
    for event in catalogue.all_types():
        for kind, shape in event.shapes.items():
            if kind in public:
                assert shape is not None and not catalogue.PERSONAL_FIELDS & set(shape), event


def test_declaring_a_personal_field_on_a_public_channel_is_refused():
    with pytest.raises(ValueError, match="phone"):
        catalogue.declare(EventType("test.leak", {"board": {"code": str, "phone": str}}))
    with pytest.raises(EventMismatch):
        catalogue.event_type("test.leak")


def test_a_ticket_event_gives_each_audience_the_fields_of_its_shape(runtime):
    with runtime.db.transaction() as s:
        department = reference.create_department(
            s,
            {
                "code": "ent",
                "ticket_prefix": "L",
                "name_ru": "ЛОР",
                "name_uz": "LOR",
                "name_en": "ENT",
            },
        )
        queue = queue_admin.create_queue(
            s,
            {
                "code": "ent",
                "department_id": department.id,
                "online_from": time(0, 0),
                "online_until": time(23, 59, 59, 999999),
                "closes_at": time(23, 59, 59, 999999),
                "online_daily_limit": 5,
            },
        )
        ticket = joining.join_online(s, queue.id, "90 123 45 67", tz=runtime.settings.tz)
        ids = queue.id, ticket.id
    with runtime.db.session() as s:
        rows = s.scalars(select(OutboxEvent).where(OutboxEvent.type == "ticket.issued")).all()
    data = {row.channel.split(":")[0]: row.data for row in rows}
    assert data["queue"]["phone"] == "+998901234567"
    assert set(data["board"]) == set(catalogue.event_type("ticket.issued").shapes["board"])
    assert "phone" not in data["board"] and "phone" not in data["ticket"]
    assert {row.channel for row in rows} == {
        f"queue:{ids[0]}",
        f"board:{ids[0]}",
        f"ticket:{ids[1]}",
    }
