"""Accounts in the web: the signed-in user's own account and tokens, users and roles, the
audit log, and the administrator's pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from web.accounts import audit_page  # noqa: F401 - its page is on the pages' blueprint
from web.accounts.account import blp as account_blueprint
from web.accounts.audit_log import blp as audit_blueprint
from web.accounts.pages import bp as pages_blueprint
from web.accounts.users import blp as users_blueprint
from web.pages import NavLink, add_navigation


def init_app(app, api) -> None:
    for blueprint in (account_blueprint, users_blueprint, audit_blueprint):
        api.register_blueprint(blueprint)
    app.register_blueprint(pages_blueprint)
    add_navigation(
        app,
        NavLink("admin.users_page", _l("Users")),
        NavLink("admin.all_tokens_page", _l("All tokens")),
        NavLink("admin.my_tokens_page", _l("My tokens")),
        NavLink("admin.audit_page", _l("Audit log")),
    )
