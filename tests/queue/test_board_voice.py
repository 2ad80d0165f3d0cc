"""What a board's voice says of a call's room: the room as its door shows it, each letter
beside its digits named in the voice's own language, the parts apart (clinic/queue/speech.py;
the board's script applies the same rule, tests/browser/test_queue_board.py)."""

from __future__ import annotations

import pytest

from clinic.queue.speech import spoken_room


@pytest.mark.parametrize(
    "room, language, said",
    [
        ("12", "ru", "12"),
        ("12", "uz", "12"),
        ("12А", "ru", "12 А"),  # a Cyrillic letter: its name in Russian
        ("12А", "uz", "12 a"),
        ("12А", "en", "12 A"),  # an English voice cannot read a Cyrillic letter at all
        ("101A", "ru", "101 А"),  # a Latin letter: a Russian voice says its Russian name
        ("101b", "ru", "101 Бэ"),
        ("101b", "uz", "101 be"),
        ("2-05", "ru", "2 05"),  # not "two minus five", nor a date
        ("3/1", "en", "3 1"),
        ("K-3", "ru", "Ка 3"),
        ("УЗИ", "ru", "УЗИ"),  # a word is read as a word, not spelt
        ("Lab-2", "en", "Lab 2"),
        ("12Б", "de", "12 Б"),  # a language without a table says the letter as it is
        ("", "ru", ""),
        ("-", "ru", "-"),
    ],
)
def test_the_call_reads_the_room_as_its_door_shows_it(room, language, said):
    assert spoken_room(room, language) == said
