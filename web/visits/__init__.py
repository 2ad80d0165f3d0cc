"""Appointments in the web: the JSON API, the calendar pages and who may read the channels."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from web.pages import NavLink, add_navigation
from web.visits import channels  # noqa: F401 - registers the calendars' channel rules
from web.visits import schedules_api  # noqa: F401 - adds the schedules' API to the visits'
from web.visits.api import blp as api_blueprint
from web.visits.pages import bp as pages_blueprint


def init_app(app, api) -> None:
    api.register_blueprint(api_blueprint)
    app.register_blueprint(pages_blueprint)
    add_navigation(app, NavLink("visits_pages.calendar", _l("Appointments")))
