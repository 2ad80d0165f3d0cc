"""Printing in the web: the printer registry (API and page), print jobs (status, retry,
reprint, PDF) and who may read the printing channels."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from web.pages import NavLink, add_navigation
from web.printing import channels  # noqa: F401 - registers the printing channel rules
from web.printing.api import blp as api_blueprint
from web.printing.pages import bp as pages_blueprint
from web.printing.pages import print_status_config


def init_app(app, api) -> None:
    api.register_blueprint(api_blueprint)
    app.register_blueprint(pages_blueprint)
    add_navigation(app, NavLink("printing_pages.printers", _l("Printers")))
    # Desk pages show their print jobs: {{ print_status_config()|tojson }} in a template.
    app.context_processor(lambda: {"print_status_config": print_status_config})
