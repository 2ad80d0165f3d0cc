"""The provider endpoints answered by any other method than the POST their protocol makes."""

from __future__ import annotations

from flask import Blueprint as FlaskBlueprint

from web.payments.providers import click_complete, click_prepare, payme_endpoint

# Payme's protocol answers any other method with its -32300 error (HTTP 200, JSON-RPC), and
# Click answers everything with its ``error`` field: a request by another method carries none
# of the form's fields (-8). Those methods are served by the same views but left out of the
# OpenAPI document, which describes the one call each provider makes (POST) and its answers.
OTHER_METHODS = ["GET", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
other_methods = FlaskBlueprint("payment_providers_other_methods", __name__, url_prefix="/payments")
for _path, _view in (
    ("/payme", payme_endpoint),
    ("/click/prepare", click_prepare),
    ("/click/complete", click_complete),
):
    other_methods.add_url_rule(
        _path,
        f"{_view.__name__}_other_methods",
        _view,
        methods=OTHER_METHODS,
        provide_automatic_options=False,
    )
