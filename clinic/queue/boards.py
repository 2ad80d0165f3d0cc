"""Configuring display boards: the queues each shows, in which order, its voice and its
names; a board switched off or narrowed reaches its screens' sockets once committed."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.accounts.access import board_access_changed
from clinic.base import is_id
from clinic.errors import NotFound, ValidationFailed
from clinic.queue import limits
from clinic.queue.models import Board, Queue

VOICE_LANGUAGES = set(limits.VOICE_LANGUAGES)


def board_as_dict(board: Board) -> dict:
    return {
        "id": board.id,
        "name": board.name,
        "queue_ids": list(board.queue_ids or []),
        "voice_languages": board.voice_languages.split("+"),
        "chime": board.chime,
        "active": board.active,
        "language": board.language,
        "titles": dict(board.titles or {}),
    }


def board_title(board: Board, language: str) -> str:
    """The board's name in ``language``, or its name when none is given in that language."""
    return (board.titles or {}).get(language) or board.name


def _board_values(session: Session, data: dict, current: Board | None) -> dict:
    errors, values = {}, {}
    if "name" in data:
        values["name"] = str(data["name"]).strip()[: limits.BOARD_NAME_MAX]
        if not values["name"]:
            errors["name"] = ["required"]
    if "queue_ids" in data:
        ids = list(dict.fromkeys(data["queue_ids"] or []))
        found = {i: session.get(Queue, i) for i in ids if is_id(i)}
        unknown = [i for i in ids if found.get(i) is None]
        # A switched-off queue calls nobody: a board takes on none (one switched off while on
        # the board stays there, for its return).
        kept = set(current.queue_ids or []) if current is not None else set()
        off = [i for i in ids if i not in unknown and not found[i].active and i not in kept]
        if unknown:
            errors["queue_ids"] = [f"no such queues: {', '.join(map(str, unknown))}"]
        elif off:
            errors["queue_ids"] = [f"switched off: {', '.join(map(str, off))}"]
        elif not 1 <= len(ids) <= limits.BOARD_QUEUES_MAX:
            errors["queue_ids"] = [f"from 1 to {limits.BOARD_QUEUES_MAX} queues"]
        values["queue_ids"] = ids
    if "voice_languages" in data:
        languages = list(dict.fromkeys(data["voice_languages"] or []))
        if not languages or set(languages) - VOICE_LANGUAGES:
            errors["voice_languages"] = ["one or more of ru, uz, en"]
        values["voice_languages"] = "+".join(languages)
    if "language" in data:
        if data["language"] not in VOICE_LANGUAGES:
            errors["language"] = ["one of ru, uz, en"]
        values["language"] = data["language"]
    if "titles" in data:
        titles = data["titles"] or {}
        if not isinstance(titles, dict) or set(titles) - VOICE_LANGUAGES:
            errors["titles"] = ["names keyed by ru, uz, en"]
        else:
            names = {k: str(v).strip()[: limits.BOARD_NAME_MAX] for k, v in titles.items()}
            values["titles"] = {k: v for k, v in names.items() if v}
    for flag in ("chime", "active"):
        if flag in data:
            values[flag] = bool(data[flag])
    if errors:
        raise ValidationFailed("the board settings are not valid", errors=errors)
    return values


def create_board(session: Session, data: dict) -> Board:
    if "name" not in data or "queue_ids" not in data:
        raise ValidationFailed(
            "required", errors={f: ["required"] for f in ("name", "queue_ids") if f not in data}
        )
    board = Board(**_board_values(session, data, None))
    session.add(board)
    session.flush()
    return board


def update_board(session: Session, board: Board, data: dict) -> Board:
    """Change a board's settings; a board switched off or given other queues reaches the
    sockets of its screens once committed (they close, or leave the queues no longer shown)."""
    values = _board_values(session, data, board)
    narrowed = ("active" in values and not values["active"]) or (
        "queue_ids" in values and set(board.queue_ids or []) - set(values["queue_ids"])
    )
    for key, value in values.items():
        setattr(board, key, value)
    session.flush()
    if narrowed:
        board_access_changed(session, board.id)
    return board


def get_board(session: Session, board_id: int) -> Board:
    board = session.get(Board, board_id) if is_id(board_id) else None
    if board is None:
        raise NotFound(f"board {board_id} does not exist")
    return board


def board_queues(session: Session, board: Board) -> list[Queue]:
    """The queues a board shows, in the board's order (queues deleted since are skipped)."""
    ids = [i for i in board.queue_ids or [] if is_id(i)]
    found = {queue.id: queue for queue in session.scalars(select(Queue).where(Queue.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def list_boards(session: Session) -> list[Board]:
    return list(session.scalars(select(Board).order_by(Board.id)))
