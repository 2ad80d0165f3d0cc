"""The display board's screens: the board itself, pairing a screen with it, and the
administrator's page of boards and their screens.

A board's screen proves itself with a device cookie (``clinic_board``, HttpOnly), not with a
person's session: it is paired once and then runs until an administrator revokes it, however
long it stays idle (clinic/queue/screens.py). It is paired by a one-time code typed on the
screen (``/board/pair``, or ``/board/pair#CODE`` opened on it), by opening the board with a
display account's token (``/board/<id>?token=...``), or by signing in as a display and opening
the board; each way ends in a redirect to the board's clean address, with no secret in it.
"""

from __future__ import annotations

import hashlib
import json

from flask import (
    abort,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
)
from flask import session as http_session
from flask import url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from clinic.accounts import audit as audit_log
from clinic.errors import NotFound, ValidationFailed
from clinic.queue import admin as queue_admin
from clinic.queue import boards as queue_boards
from clinic.queue import screens, speech
from clinic.queue.models import Board
from clinic.settings import LANGUAGES
from web import db
from web.auth import csrf_exempt
from web.auth.audit import answer_status, request_id
from web.auth.identity import current_identity
from web.auth.limits import limiter
from web.auth.views import sign_out_session
from web.i18n import LANGUAGE_NAMES, current_language
from web.permissions import public, requires
from web.queue.cards import queue_name, queue_names
from web.queue.pages import bp
from web.refusals import common_refusals
from web.ws.access import SCREEN_COOKIE

# Browsers keep a cookie 400 days at most; each visit of the board renews it.
SCREEN_COOKIE_DAYS = 400
PAIR_LIMIT = "10 per minute;60 per hour"
# The voices a board may speak in, as speech synthesis names them.
SPEECH_LOCALES = {"ru": "ru-RU", "uz": "uz-UZ", "en": "en-US"}
NO_REFERRER = {"Referrer-Policy": "no-referrer"}


def screen_of_request():
    """The paired screen whose device cookie came with this request, or None."""
    if "board_screen" not in g:
        secret = request.cookies.get(SCREEN_COOKIE, "")
        g.board_screen = screens.screen_for_secret(db.session(), secret) if secret else None
    return g.board_screen


def _with_screen_cookie(response, secret: str):
    response.set_cookie(
        SCREEN_COOKIE,
        secret,
        max_age=SCREEN_COOKIE_DAYS * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=db.runtime().settings.is_production,
    )
    return response


def _audit_pairing(session, screen, how: str) -> None:
    identity = current_identity()
    audit_log.record(
        session,
        actor=identity.actor if identity else None,
        action=f"queue_pages.pair_screen.{how}",
        object_type="board_screens",
        object_id=str(screen.id),
        summary={"method": request.method, "path": request.path, "board_id": screen.board_id},
        status=303,
        ip=request.remote_addr or "",
        user_agent=request.headers.get("User-Agent", ""),
        request_id=request_id(),
    )


# -- the board ------------------------------------------------------------------------------


def _speech(languages: list[str]) -> dict:
    """The call-out in each of the board's voice languages, whatever the page's language,
    with the names of the letters a ticket's prefix may hold (clinic/queue/speech.py)."""
    texts = {}
    for language in languages:
        with force_locale(language):
            texts[language] = {
                "locale": SPEECH_LOCALES[language],
                "withRoom": _("Ticket {code}, room {room}"),
                "withoutRoom": _("Ticket {code}"),
                "letters": speech.letter_names(language),
            }
    return texts


def _board_config(session, board: Board) -> dict:
    language = board.language if board.language in LANGUAGES else LANGUAGES[0]
    voice = [v for v in board.voice_languages.split("+") if v in LANGUAGES]
    queues = queue_boards.board_queues(session, board)
    with force_locale(language):
        # One department's two queues told apart by their rooms, in the board's language.
        names = queue_names(queues, language)
    config = {
        "board": board.id,
        "name": queue_boards.board_title(board, language),
        "language": language,
        "chime": board.chime,
        "voice": voice,
        "speech": _speech(voice),
        "timezone": db.runtime().settings.timezone,
        "queues": [
            {
                "id": queue.id,
                "name": names[queue.id],
                "room": queue.room.number if queue.room else None,
            }
            for queue in queues
        ],
    }
    # What the page was drawn from: a screen whose page differs reloads itself.
    drawn = json.dumps(config, sort_keys=True, ensure_ascii=False).encode("utf-8")
    config["version"] = hashlib.sha256(drawn).hexdigest()[:16]
    return config


def _switched_off(board: Board):
    with force_locale(board.language if board.language in LANGUAGES else LANGUAGES[0]):
        page = render_template("queue/board_off.html", board=board)
    # The page asks again by itself every minute: a board switched on again comes back.
    return page, 503, {**NO_REFERRER, "Retry-After": "60"}


def _display_account(identity) -> bool:
    """An account that shows boards and reads no queue: the display's, which signs in only
    to pair a screen (a cashier's or a kiosk's reads no queue either, and shows no board)."""
    return identity.can("board.view") and not identity.can("queue.read")


def _end_pairing_session() -> None:
    """The display account's sign-in was only the way to pair the screen: it ends here, and
    the board goes on by its screen's own cookie alone. Otherwise it would live on the
    session past a revoke of the screen, or a board switched off, unseen by either."""
    sign_out_session()


@bp.get("/board/<int:board_id>")
@public
def board(board_id: int):
    """The hall's display: who is called now and to which room, the last calls and how
    many wait, live, with a chime and a spoken call-out, in the board's own language.

    Opened by its paired screen (the device cookie), or by a person allowed ``board.view``
    to look at it. A display account (its token in ``?token=``, or signed in) pairs the
    screen it uses and is sent to the board's clean address."""
    session = db.session()
    board = queue_boards.get_board(session, board_id)
    screen = screen_of_request()
    identity = current_identity()
    if screen is None or screen.board_id != board.id:
        if identity is None:
            if screen is not None:  # paired with another board: that one is its own
                return redirect(url_for("queue_pages.board", board_id=screen.board_id))
            if request.cookies.get(SCREEN_COOKIE):  # revoked: a person pairs it again
                return redirect(url_for("queue_pages.pair_page"))
            return redirect(url_for("auth.login_page", next=request.path))
        if not identity.can("board.view"):
            abort(403, description="your role does not allow board.view")
        if identity.via == "token" or not identity.can("queue.read"):
            # A display account: this screen becomes the board's own, for good.
            label = request.headers.get("User-Agent", "")[:100]
            screen, secret = screens.pair_directly(
                session,
                board,
                label=label,
                created_by=identity.username,
                account=(identity.user_id, identity.session_version),
            )
            _audit_pairing(session, screen, identity.via)
            session.commit()
            clean = redirect(url_for("queue_pages.board", board_id=board.id), code=303)
            if identity.via == "session":
                _end_pairing_session()
            return _with_screen_cookie(clean, secret)
    elif identity is not None and identity.via == "session" and _display_account(identity):
        # A display account signed in again on a screen already the board's own.
        _end_pairing_session()
    if not board.active:
        return _switched_off(board)
    config = _board_config(session, board)
    with force_locale(config["language"]):
        page = render_template(
            "queue/board.html",
            board=board,
            title=config["name"],
            queues=config["queues"],
            config={**config, "checkUrl": url_for("queue_pages.board_check", board_id=board.id)},
        )
    response = (page, 200, NO_REFERRER)
    if screen is not None:
        # Renewed at each visit: the browser's cookie limit never runs out on a board.
        return _with_screen_cookie(make_response(response), request.cookies[SCREEN_COOKIE])
    return response


@bp.get("/board/<int:board_id>/check")
@public
def board_check(board_id: int):
    """For the board's own script, after a reconnect and now and then: does its credential
    still work (401 when not), and is the page it shows still the board as configured now?"""
    session = db.session()
    board = queue_boards.get_board(session, board_id)
    screen = screen_of_request()
    identity = current_identity()
    if not (
        (screen is not None and screen.board_id == board.id)
        or (identity is not None and identity.can("board.view"))
    ):
        return jsonify({"credential": False, "pair_url": url_for("queue_pages.pair_page")}), 401
    version = _board_config(session, board)["version"] if board.active else ""
    return jsonify({"credential": True, "active": board.active, "version": version})


# -- pairing --------------------------------------------------------------------------------


@bp.get("/board/pair")
@public
def pair_page():
    """The screen's side of pairing: type the code the administrator was shown."""
    return render_template("queue/pair.html", failed=False), 200, NO_REFERRER


@bp.post("/board/pair")
@public
@csrf_exempt  # the one-time code is the credential; a screen's form may stand for days
@limiter.limit(PAIR_LIMIT)
def pair_screen():
    session = db.session()
    paired = screens.redeem_code(session, request.form.get("pairing_code", ""))
    if paired is None:
        session.rollback()
        return render_template("queue/pair.html", failed=True), 400, NO_REFERRER
    screen, secret = paired
    answer_status(303)  # the audit row carries the status this answer has
    session.commit()
    clean = redirect(url_for("queue_pages.board", board_id=screen.board_id), code=303)
    return _with_screen_cookie(clean, secret)


# -- the administrator's page ---------------------------------------------------------------


def _clinic_time(value) -> str:
    """When a screen was paired or last seen, on the clinic's clock (the API says it in UTC)."""
    if value is None:
        return "—"
    return value.astimezone(db.runtime().settings.tz).strftime("%d.%m.%Y %H:%M")


def _screen_row(screen) -> dict:
    return {
        **screens.screen_as_dict(screen),
        "paired": _clinic_time(screen.paired_at),
        "last_seen": _clinic_time(screen.last_seen_at),
    }


def _boards_page(session, pairing: dict | None = None):
    language = current_language()
    queues = {queue.id: queue for queue in queue_admin.list_queues(session, active_only=False)}
    rows = []
    for board in queue_boards.list_boards(session):
        rows.append(
            {
                "board": board,
                "title": queue_boards.board_title(board, language),
                "queues": [
                    queue_name(queues[i], language) for i in board.queue_ids or [] if i in queues
                ],
                "language": LANGUAGE_NAMES.get(board.language, board.language),
                "voices": [
                    LANGUAGE_NAMES.get(voice, voice) for voice in board.voice_languages.split("+")
                ],
                "screens": [_screen_row(s) for s in screens.list_screens(session, board.id)],
            }
        )
    return render_template("queue/boards.html", boards=rows, pairing=pairing)


# The session's key for a pairing code just made, until the page redirected to shows it.
PAIRING_KEY = "queue_pages.pairing"


@bp.get("/admin/boards")
@requires("queue.manage")
def boards_page():
    """Every board with its queues and languages: open it, pair a screen, revoke one.

    A pairing code just made is shown once, here, where its form redirected: taken out of
    the (server-side) session as it is shown, so a reload shows it no more."""
    session = db.session()
    made = http_session.pop(PAIRING_KEY, None)
    board = session.get(Board, made["board_id"]) if made else None
    if board is None:
        return _boards_page(session)
    pairing = {
        "board": queue_boards.board_title(board, current_language()),
        "code": made["code"],
        "url": url_for("queue_pages.pair_page", _external=True),
        "minutes": int(screens.PAIRING_VALID.total_seconds() // 60),
    }
    return _boards_page(session, pairing), 200, {"Cache-Control": "no-store"}


@bp.post("/admin/boards/<int:board_id>/screens")
@requires("queue.manage")
def start_pairing_form(board_id: int):
    """A one-time code for a new screen of the board, shown once on the page this form
    redirects to (never in an address, so in no log). Post/redirect/get: reloading that page
    sends no second form, which would make a second code while the first, never typed,
    stayed valid."""
    session = db.session()
    board = queue_boards.get_board(session, board_id)
    try:
        screen, code = screens.start_pairing(
            session,
            board,
            label=request.form.get("label", ""),
            created_by=current_identity().username,
        )
    except ValidationFailed as refused:
        # Said on the page, in its language; nothing was made.
        session.rollback()
        answer_status(422)
        flash(common_refusals()[refused.code], "error")
        return _boards_page(session), 422, {"Cache-Control": "no-store"}
    answer_status(303)
    session.commit()
    http_session[PAIRING_KEY] = {"board_id": board.id, "code": code}
    return redirect(url_for("queue_pages.boards_page"), code=303)


@bp.post("/admin/boards/screens/<int:screen_id>/revoke")
@requires("queue.manage")
def revoke_screen_form(screen_id: int):
    session = db.session()
    try:
        screen = screens.get_screen(session, screen_id)
    except NotFound:
        abort(404)
    screens.revoke_screen(session, screen)
    session.commit()
    flash(_("The screen has been revoked: it shows its board no more."))
    return redirect(url_for("queue_pages.boards_page"))
