"""Reports in the web: the report form and its result, downloads, subscriptions, the
manager's live dashboard, and the public unsubscribe link of report e-mails."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from web.pages import NavLink, add_navigation
from web.reports.api import blp as api_blueprint
from web.reports.pages import bp as pages_blueprint


def init_app(app, api) -> None:
    api.register_blueprint(api_blueprint)
    app.register_blueprint(pages_blueprint)
    add_navigation(app, NavLink("reports_pages.dashboard", _l("Dashboard")))
    add_navigation(app, NavLink("reports_pages.reports", _l("Reports")))
