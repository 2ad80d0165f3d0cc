"""The API of boards and their screens: list, make and change boards; list a board's screens,
start pairing one, revoke one (the same as the boards page, for scripts). See
web/queue/boards.py for the screen's side."""

from __future__ import annotations

from flask import url_for

from clinic.queue import boards as queue_boards
from clinic.queue import screens
from web import db
from web.api.schemas import ProblemSchema
from web.auth.identity import current_identity
from web.permissions import requires
from web.queue import schemas
from web.queue.api import blp

# -- boards ---------------------------------------------------------------------------------


@blp.route("/boards")
@requires("board.view")
@blp.response(200, schemas.BoardOut(many=True))
def list_boards():
    return [queue_boards.board_as_dict(b) for b in queue_boards.list_boards(db.session())]


@blp.route("/boards", methods=["POST"])
@requires("queue.manage")
@blp.arguments(schemas.BoardIn)
@blp.response(201, schemas.BoardOut)
@blp.alt_response(422, schema=ProblemSchema)
def create_board(data):
    session = db.session()
    board = queue_boards.create_board(session, data)
    session.commit()
    return queue_boards.board_as_dict(board)


@blp.route("/boards/<int:board_id>", methods=["PATCH"])
@requires("queue.manage")
@blp.arguments(schemas.BoardPatch)
@blp.response(200, schemas.BoardOut)
@blp.alt_response(404, schema=ProblemSchema)
@blp.alt_response(422, schema=ProblemSchema)
def update_board(data, board_id: int):
    session = db.session()
    board = queue_boards.update_board(session, queue_boards.get_board(session, board_id), data)
    session.commit()
    return queue_boards.board_as_dict(board)


# -- screens --------------------------------------------------------------------------------


@blp.route("/boards/<int:board_id>/screens")
@requires("queue.manage")
@blp.response(200, schemas.ScreenOut(many=True))
@blp.alt_response(404, schema=ProblemSchema)
def list_screens(board_id: int):
    """The board's screens, paired or waiting for their code (revoked ones left out)."""
    session = db.session()
    board = queue_boards.get_board(session, board_id)
    return [screens.screen_as_dict(s) for s in screens.list_screens(session, board.id)]


@blp.route("/boards/<int:board_id>/screens", methods=["POST"])
@requires("queue.manage")
@blp.arguments(schemas.ScreenIn)
@blp.response(201, schemas.PairingOut)
@blp.alt_response(404, schema=ProblemSchema)
def start_pairing(data, board_id: int):
    """A one-time pairing code for a new screen of the board, valid for 15 minutes: type it
    at ``pair_url`` on the screen (or open ``pair_url#<code>`` there). Shown only here."""
    session = db.session()
    board = queue_boards.get_board(session, board_id)
    screen, code = screens.start_pairing(
        session, board, label=data["label"], created_by=current_identity().username
    )
    session.commit()
    pair_url = url_for("queue_pages.pair_page", _external=True)
    return {**screens.screen_as_dict(screen), "code": code, "pair_url": pair_url}


@blp.route("/screens/<int:screen_id>/revoke", methods=["POST"])
@requires("queue.manage")
@blp.response(200, schemas.ScreenOut)
@blp.alt_response(404, schema=ProblemSchema)
def revoke_screen(screen_id: int):
    """The screen shows its board no more; its open socket closes within half a minute."""
    session = db.session()
    screen = screens.get_screen(session, screen_id)
    screens.revoke_screen(session, screen)
    session.commit()
    return screens.screen_as_dict(screen)
