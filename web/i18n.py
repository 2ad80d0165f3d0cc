"""Languages: Russian, Uzbek (Latin) and English; chosen by ?lang=, a cookie, or the browser."""

from __future__ import annotations

from flask import Flask, request
from flask_babel import Babel

from clinic.settings import LANGUAGES

COOKIE = "lang"


def select_locale() -> str:
    from .db import runtime

    asked = request.args.get("lang") or request.cookies.get(COOKIE)
    if asked in LANGUAGES:
        return asked
    return request.accept_languages.best_match(LANGUAGES) or runtime().settings.default_language


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, default_translation_directories="translations")

    @app.after_request
    def _remember_language(response):
        asked = request.args.get("lang")
        if asked in LANGUAGES:
            response.set_cookie(COOKIE, asked, max_age=365 * 24 * 3600, samesite="Lax")
        return response
