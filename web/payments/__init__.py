"""Payments in the web: invoices and the cashier's desk (API and page), who may read the
payments channels, and the providers' endpoints."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from web.pages import NavLink, add_navigation
from web.payments import channels  # noqa: F401 - registers the payments channel rules
from web.payments import checkout  # noqa: F401 - adds the patient's checkout to the providers'
from web.payments import provider_admin, providers
from web.payments.api import blp as api_blueprint
from web.payments.other_methods import other_methods
from web.payments.pages import bp as pages_blueprint
from web.payments.pages import ticket_checkout


def init_app(app, api) -> None:
    api.register_blueprint(api_blueprint)
    app.register_blueprint(pages_blueprint)
    # The provider endpoints (the patient's checkout among them), the same views by other
    # methods, and the staff API around them.
    api.register_blueprint(providers.blp)
    app.register_blueprint(other_methods)
    api.register_blueprint(provider_admin.blp)
    add_navigation(
        app,
        NavLink("payments_pages.desk", _l("Cashier's desk")),
        # A manager's large refunds at a cashier's desk (the desk itself needs payments.take).
        NavLink("payments_pages.refunds", _l("Refunds"), starts_the_day=False),
    )
    # The patient's ticket page (web/queue) shows what is to be paid online through this.
    app.add_template_global(ticket_checkout, "ticket_checkout")
