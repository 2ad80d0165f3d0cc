"""Languages: Russian, Uzbek (Latin) and English; chosen by ?lang=, the signed-in person's own
choice, a cookie, or the browser."""

from __future__ import annotations

import os
from dataclasses import replace
from urllib.parse import urlencode

from flask import Flask, g, request
from flask_babel import Babel, get_locale
from flask_babel import gettext as _

from clinic.accounts import users
from clinic.money import format_money
from clinic.settings import LANGUAGES
from clinic.visits.events import VisitStatus

COOKIE = "lang"
TRANSLATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "translations")

# Each language named in itself, as the switch shows it.
LANGUAGE_NAMES = {"ru": "Русский", "uz": "O'zbekcha", "en": "English"}
# The value of <html lang>: Uzbek pages are written in the Latin script.
HTML_LANG = {"ru": "ru", "uz": "uz-Latn", "en": "en"}


def select_locale() -> str:
    from web.auth.identity import current_identity
    from web.db import runtime

    identity = current_identity()
    # The language asked for, else the signed-in person's own (chosen at any computer), else
    # this computer's. A language the clinic does not speak (?lang=de) is ignored.
    chosen = (
        request.args.get("lang"),
        identity.language if identity is not None else None,
        request.cookies.get(COOKIE),
    )
    for asked in chosen:
        if asked in LANGUAGES:
            return asked
    return request.accept_languages.best_match(LANGUAGES) or runtime().settings.default_language


# A view where a visitor's ``?lang=`` (sent with ``visitor=1``) is for that page only: the
# kiosk, where each patient touches the language he reads and the next one finds the kiosk's
# own. It is remembered neither as the account's language nor in the computer's cookie. A
# plain ``?lang=`` there is the kiosk's own language, remembered as on any page.
FOR_VISITORS = "_clinic_language_for_visitors"
VISITOR = "visitor"


def for_visitors(view):
    """Declare that the view takes a visitor's language (see :data:`FOR_VISITORS`)."""
    setattr(view, FOR_VISITORS, True)
    return view


def visitors_language() -> str | None:
    """The language a visitor chose for this page, on a view that takes one, else None."""
    from flask import current_app

    from web.permissions import view_attribute

    asked = request.args.get("lang")
    if asked not in LANGUAGES or request.args.get(VISITOR) != "1":
        return None
    return asked if view_attribute(current_app, request.endpoint, FOR_VISITORS) else None


def _remembered() -> bool:
    """Whether this request's ``?lang=`` is the person's own choice, to keep (for his account
    and in the computer's cookie): not a visitor's at the kiosk, nor a page's script reading
    its page again in the background to redraw part of it (browsers mark such a read
    ``Sec-Fetch-Mode: cors`` or ``same-origin``, a person's own step ``navigate``)."""
    mode = request.headers.get("Sec-Fetch-Mode")
    if mode is not None and mode != "navigate":
        return False
    return visitors_language() is None


def remember_users_choice() -> None:
    """``before_request``: a signed-in person's ``?lang=`` becomes his own language, the
    language of his pages at any computer he signs in at."""
    from web import db
    from web.auth.identity import current_identity

    asked = request.args.get("lang")
    if asked is None or request.method not in ("GET", "HEAD"):
        # A form sent to an address with ?lang= is answered in that language; the choice is
        # kept when a page is opened (the language links), not as a change's side effect:
        # committed before the change's view runs, it would take the change's audit row.
        return
    identity = current_identity()
    if asked not in LANGUAGES or identity is None or identity.via != "session":
        return
    if not _remembered():
        return
    if identity.language == asked:
        return
    session = db.session()
    users.set_language(session, identity.user_id, asked)
    session.commit()
    g.identity = replace(identity, language=asked)


def current_language() -> str:
    """The language of the page being rendered (one of :data:`LANGUAGES`)."""
    locale = get_locale()
    language = locale.language if locale is not None else None
    return language if language in LANGUAGES else LANGUAGES[0]


def language_links() -> list[dict]:
    """The language switch: this same page with ``?lang=`` for each language, as a link of
    its query alone (the browser keeps the page's own path). Written with the path, an
    address such as ``/\\evil.example/`` (the clinic's own 404 page) would make the links
    lead off the site: browsers read ``/\\host`` as ``//host``."""
    current = current_language()
    links = []
    for code in LANGUAGES:
        args = request.args.to_dict(flat=False)
        args["lang"] = [code]
        links.append(
            {
                "code": code,
                "name": LANGUAGE_NAMES[code],
                "url": f"?{urlencode(args, doseq=True)}",
                "current": code == current,
            }
        )
    return links


def money_filter(tiyin: int) -> str:
    """Jinja ``|money``: integer tiyin as sums in the page's language."""
    return format_money(tiyin, current_language())


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, default_translation_directories=TRANSLATIONS)
    app.jinja_env.filters["money"] = money_filter

    @app.context_processor
    def _language_context():
        language = current_language()
        return {
            "current_language": language,
            "html_lang": HTML_LANG[language],
            "language_links": language_links,
        }

    @app.after_request
    def _remember_language(response):
        asked = request.args.get("lang")
        if asked in LANGUAGES and _remembered():
            response.set_cookie(COOKIE, asked, max_age=365 * 24 * 3600, samesite="Lax")
        return response


def visit_status_names() -> dict[str, str]:
    """A visit's statuses as the page's language names them (the calendar, the dashboard)."""
    return {
        VisitStatus.SCHEDULED: _("Scheduled"),
        VisitStatus.ARRIVED: _("Arrived"),
        VisitStatus.IN_PROGRESS: _("In progress"),
        VisitStatus.COMPLETED: _("Completed"),
        VisitStatus.NO_SHOW: _("No-show"),
        VisitStatus.CANCELLED: _("Cancelled"),
    }


def patient_search_texts() -> dict[str, str]:
    """What a page's search of patients says of its list (the desk's, the booking form's):
    nobody found, or more found than listed (``{shown}`` of ``{total}``)."""
    return {
        "noPatients": _("Nobody found. Check the spelling or register the patient."),
        "morePatients": _(
            "{shown} of {total} found are shown: add the first name or the phone to find "
            "the one you need."
        ),
    }
