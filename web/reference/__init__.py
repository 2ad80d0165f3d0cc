"""Reference data in the web: departments, rooms, doctors, the price list and its import,
patients."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from web.pages import NavLink, add_navigation
from web.reference import channels  # noqa: F401 - registers the reference channel rules
from web.reference.api import blp as api_blueprint
from web.reference.imports import blp as imports_blueprint
from web.reference.pages import bp as pages_blueprint


def init_app(app, api) -> None:
    api.register_blueprint(api_blueprint)
    api.register_blueprint(imports_blueprint)
    app.register_blueprint(pages_blueprint)
    add_navigation(app, NavLink("reference_pages.price_list", _l("Price list")))
