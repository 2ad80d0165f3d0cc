"""The patient's own checkout: Payme and Click links for his ticket's open invoice, on the
provider endpoints' blueprint (``/payments/checkout/<token>``), public to the holder of the
ticket's secret."""

from __future__ import annotations

from clinic.payments import links
from web import db
from web.api.schemas import ProblemSchema
from web.auth.limits import limiter
from web.i18n import current_language
from web.payments.providers import _rate_key, _settings, blp
from web.payments.schemas import TicketCheckout
from web.permissions import public


@blp.route("/checkout/<string:token>")
@public
@limiter.limit("60 per minute", key_func=_rate_key)
@blp.response(200, TicketCheckout)
@blp.alt_response(
    409,
    schema=ProblemSchema,
    description="Nothing can be paid online: nothing is left due on the open invoice "
    "(``nothing_due``), or no provider is set up (``no_provider``), its code in ``code``.",
)
def patient_checkout(token: str):
    """For the patient's own ticket page (its secret token): Payme and Click links, with QR
    codes, for the ticket's open invoice. 404 when the ticket has no open invoice."""
    session = db.session()
    invoice = links.open_invoice_of_ticket(session, token)
    found = links.checkout_links(invoice, _settings(), language=current_language())
    return {**found, "number": invoice.number}
