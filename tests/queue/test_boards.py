"""Display boards' settings (clinic/queue/boards.py): refused field by field, renamed and
pointed at other queues, only queues that are switched on taken on, one setting changed at a
time, and the board's language and names in each language checked."""

from __future__ import annotations

import pytest

from clinic.errors import ValidationFailed
from clinic.queue import admin as queue_admin
from clinic.queue import boards as queue_boards
from tests.queue.test_queue_edges import department, refused_fields


def test_a_new_board_needs_a_name_and_its_queues(db):
    assert refused_fields(lambda: queue_boards.create_board(db, {"name": "Hall"})) == {
        "queue_ids": ["required"]
    }


def test_board_settings_are_refused_field_by_field(db):
    dep = department(db)
    queue = queue_admin.create_queue(db, {"code": "hall", "department_id": dep.id})
    errors = refused_fields(
        lambda: queue_boards.create_board(
            db, {"name": "  ", "queue_ids": [], "voice_languages": ["ru", "fr"]}
        )
    )
    assert errors == {
        "name": ["required"],
        "queue_ids": [errors["queue_ids"][0]],
        "voice_languages": ["one or more of ru, uz, en"],
    }
    assert errors["queue_ids"][0].startswith("from 1 to")
    assert "voice_languages" in refused_fields(
        lambda: queue_boards.create_board(
            db, {"name": "Hall", "queue_ids": [queue.id], "voice_languages": []}
        )
    )


def test_a_board_is_renamed_and_pointed_at_other_queues(db):
    dep = department(db)
    one = queue_admin.create_queue(db, {"code": "one", "department_id": dep.id})
    two = queue_admin.create_queue(db, {"code": "two", "department_id": dep.id, "prefix": "W"})
    board = queue_boards.create_board(db, {"name": "Hall", "queue_ids": [one.id]})
    queue_boards.update_board(
        db, board, {"name": "Upstairs", "queue_ids": [two.id, one.id, two.id], "chime": 0}
    )
    shown = queue_boards.board_as_dict(queue_boards.get_board(db, board.id))
    assert shown["name"] == "Upstairs" and shown["queue_ids"] == [two.id, one.id]
    assert shown["chime"] is False
    assert [x.code for x in queue_boards.board_queues(db, board)] == ["two", "one"]


def test_a_board_takes_on_only_queues_that_are_switched_on(db):
    """A switched-off queue calls nobody: put on a hall's board it would show a queue the
    patients cannot join. One switched off while on the board stays there, for its return."""
    dep = department(db)
    on = queue_admin.create_queue(db, {"code": "on", "department_id": dep.id})
    off = queue_admin.create_queue(
        db, {"code": "off", "department_id": dep.id, "prefix": "O", "active": False}
    )
    assert refused_fields(
        lambda: queue_boards.create_board(db, {"name": "Hall", "queue_ids": [on.id, off.id]})
    ) == {"queue_ids": [f"switched off: {off.id}"]}
    board = queue_boards.create_board(db, {"name": "Hall", "queue_ids": [on.id]})
    assert refused_fields(
        lambda: queue_boards.update_board(db, board, {"queue_ids": [on.id, off.id]})
    ) == {"queue_ids": [f"switched off: {off.id}"]}
    assert board.queue_ids == [on.id]
    queue_admin.update_queue(db, on, {"active": False})
    queue_boards.update_board(db, board, {"queue_ids": [on.id], "name": "Upstairs"})
    assert board.queue_ids == [on.id] and board.name == "Upstairs"


def test_a_board_changes_one_setting_and_keeps_the_others(db):
    dep = department(db)
    queue = queue_admin.create_queue(db, {"code": "one", "department_id": dep.id})
    board = queue_boards.create_board(db, {"name": "Hall", "queue_ids": [queue.id]})
    queue_boards.update_board(db, board, {"voice_languages": ["uz", "en"]})
    shown = queue_boards.board_as_dict(board)
    assert shown["voice_languages"] == ["uz", "en"]
    assert shown["name"] == "Hall" and shown["queue_ids"] == [queue.id]


def test_a_boards_language_and_names_are_checked(db):
    queue = queue_admin.create_queue(db, {"code": "hall", "department_id": department(db).id})
    board = queue_boards.create_board(db, {"name": "Hall", "queue_ids": [queue.id]})
    for bad in ({"language": "de"}, {"titles": {"de": "Halle"}}, {"titles": ["Zal"]}):
        with pytest.raises(ValidationFailed) as refused:
            queue_boards.update_board(db, board, bad)
        assert set(refused.value.errors) == set(bad)
    queue_boards.update_board(db, board, {"language": "uz", "titles": {"uz": " Zal ", "en": ""}})
    assert queue_boards.board_as_dict(board)["titles"] == {"uz": "Zal"}
    assert queue_boards.board_title(board, "uz") == "Zal"
    assert queue_boards.board_title(board, "ru") == "Hall"
    queue_boards.update_board(db, board, {"titles": None})
    assert queue_boards.board_as_dict(board)["titles"] == {}
