"""The electronic queue in the web: its JSON API, its pages and who may read its channels."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from clinic.queue import reference_checks  # noqa: F401 - registers the directory's checks
from web.pages import NavLink, add_navigation
from web.queue import boards  # noqa: F401 - adds the board's pages to the queue's
from web.queue import channels  # noqa: F401 - registers the queue's channel rules
from web.queue import kiosk  # noqa: F401 - adds the kiosk's page and API to the queue's
from web.queue import screens_api  # noqa: F401 - adds the boards' API to the queue's
from web.queue.api import blp as api_blueprint
from web.queue.pages import bp as pages_blueprint


def init_app(app, api) -> None:
    api.register_blueprint(api_blueprint)
    app.register_blueprint(pages_blueprint)
    add_navigation(
        app,
        NavLink("queue_pages.desk", _l("Reception desk")),
        NavLink("queue_pages.doctor", _l("Doctor's screen")),
        NavLink("queue_pages.kiosk", _l("Kiosk")),
        NavLink("queue_pages.boards_page", _l("Boards")),
    )
