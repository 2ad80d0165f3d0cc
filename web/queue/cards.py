"""The queues as the screens list them: each queue's name in the page's language and its card
(code, prefix, room, people waiting, online window), for the desk, the kiosk, the doctor's
screen and online joining."""

from __future__ import annotations

from flask_babel import gettext as _

from clinic.base import clock_text
from clinic.queue import admin as queue_admin
from clinic.queue import tickets as q
from clinic.queue.models import Queue
from web import db


def queue_name(queue: Queue, language: str) -> str:
    """The queue as people know it: its department, and the doctor for a doctor's queue."""
    department = getattr(queue.department, f"name_{language}") or queue.department.name_ru
    return f"{department} · {queue.doctor.full_name}" if queue.doctor else department


def queue_names(queues: list[Queue], language: str) -> dict[int, str]:
    """Each queue's name for a list to choose from: where two would read alike (one
    department's two queues), each also says its room, or else its code."""
    names = {queue.id: queue_name(queue, language) for queue in queues}
    seen: dict[str, int] = {}
    for name in names.values():
        seen[name] = seen.get(name, 0) + 1
    for queue in queues:
        if seen[names[queue.id]] > 1:
            where = _("room {room}").format(room=queue.room.number) if queue.room else queue.code
            names[queue.id] = f"{names[queue.id]} · {where}"
    return names


def queue_card(session, queue: Queue, language: str, names: dict | None = None) -> dict:
    return {
        "id": queue.id,
        "code": queue.code,
        "prefix": queue.prefix,
        "name": (names or {}).get(queue.id) or queue_name(queue, language),
        "room": queue.room.number if queue.room else None,
        "waiting": q.waiting_today(session, queue.id, tz=db.runtime().settings.tz),
        # A window open until midnight ends at 24:00, as the queue's settings say it.
        "online_from": clock_text(queue.online_from),
        "online_until": clock_text(queue.online_until),
    }


def listed_queue_cards(session, language: str) -> tuple[list[Queue], list[dict]]:
    """The queues a screen lists (clinic.queue.admin.list_queues) and their cards, named so
    that no two read alike."""
    listed = queue_admin.list_queues(session)
    names = queue_names(listed, language)
    return listed, [queue_card(session, queue, language, names) for queue in listed]
