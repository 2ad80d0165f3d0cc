"""Checkout links and their QR codes: a patient pays an invoice from a phone.

Payme: ``https://checkout.paycom.uz/`` + base64(``m=<merchant>;ac.invoice_id=<id>;a=<tiyin>``),
with ``;l=<ru|uz|en>`` when the links are shown to the patient in a language (his ticket's page):
Payme's page then speaks it.
Click: ``https://my.click.uz/services/pay`` with the service, merchant, amount in soums and
the invoice id as ``transaction_param`` (Click sends it back as ``merchant_trans_id``).
"""

from __future__ import annotations

import base64
import io
from urllib.parse import urlencode

import segno
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.errors import Conflict, NotFound
from clinic.payments.invoices import amount_due
from clinic.payments.models import Invoice, InvoiceStatus
from clinic.payments.payme import ACCOUNT_FIELD
from clinic.queue.models import Ticket
from clinic.queue.tickets import ticket_by_token

PAYME_CHECKOUT = "https://checkout.paycom.uz/"
CLICK_CHECKOUT = "https://my.click.uz/services/pay"


# The languages Payme's checkout speaks (its ``l`` parameter).
PAYME_LANGUAGES = ("ru", "uz", "en")


def payme_url(merchant_id: str, invoice_id: int, amount: int, language: str | None = None) -> str:
    params = f"m={merchant_id};ac.{ACCOUNT_FIELD}={invoice_id};a={amount}"
    if language in PAYME_LANGUAGES:
        params += f";l={language}"
    return PAYME_CHECKOUT + base64.b64encode(params.encode()).decode()


def click_url(service_id: str, merchant_id: str, invoice_id: int, amount: int) -> str:
    soums = f"{amount // 100}.{amount % 100:02d}"
    query = urlencode(
        {
            "service_id": service_id,
            "merchant_id": merchant_id,
            "amount": soums,
            "transaction_param": str(invoice_id),
        }
    )
    return f"{CLICK_CHECKOUT}?{query}"


def qr_svg(url: str) -> str:
    """The URL as an SVG QR code (error correction M), scaled for a phone to read off a
    screen or a receipt."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=4, xmldecl=False)
    return out.getvalue().decode()


def qr_data_uri(url: str) -> str:
    """The URL's QR code (as :func:`qr_svg`) as a ``data:image/svg+xml`` address."""
    return segno.make(url, error="m").svg_data_uri(scale=4)


def open_invoice_of_ticket(session: Session, token: str) -> Invoice:
    """The open invoice of the ticket whose secret link is ``token`` (the patient's page), or
    of a ticket he was sent on from (the page follows him to the onward ticket; the invoice
    of the first visit stays on the first ticket), the newest first; NotFound when there is
    none, so the page learns nothing else about the ticket."""
    ticket = ticket_by_token(session, token)
    invoice = None
    if ticket is not None:
        chain, ticket_id = [], ticket.id
        while ticket_id is not None and ticket_id not in chain:
            chain.append(ticket_id)
            ticket_id = session.scalar(
                select(Ticket.transferred_from_id).where(Ticket.id == ticket_id)
            )
        invoice = session.scalar(
            select(Invoice)
            .where(Invoice.ticket_id.in_(chain), Invoice.status == InvoiceStatus.OPEN)
            .order_by(Invoice.id.desc())
            .limit(1)
        )
    if invoice is None:
        raise NotFound("nothing to pay for this ticket")
    return invoice


def checkout_links(
    invoice: Invoice, settings, *, with_qr: bool = True, language: str | None = None
) -> dict:
    """The links (and QR codes) of every configured provider for what is due on the invoice;
    ``language``: the patient's, which Payme's page is then shown in.

    Raises Conflict when nothing is due (paid, cancelled) or no provider is configured.
    """
    due = amount_due(invoice)
    if due <= 0:
        raise Conflict(f"nothing is due on invoice {invoice.number}", code="nothing_due")
    links = {}
    if "payme" in settings.payment_providers and settings.payme_merchant_id:
        links["payme"] = {"url": payme_url(settings.payme_merchant_id, invoice.id, due, language)}
    # Click's payment page needs both the service's and the merchant's id in the link.
    click_ids = settings.click_service_id and settings.click_merchant_id
    if "click" in settings.payment_providers and click_ids:
        links["click"] = {
            "url": click_url(settings.click_service_id, settings.click_merchant_id, invoice.id, due)
        }
    if not links:
        raise Conflict("no online payment provider is configured", code="no_provider")
    if with_qr:
        for link in links.values():
            link["qr_svg"] = qr_svg(link["url"])
            # The same code as an image address, for an <img> (the pages' CSP allows data:).
            link["qr_data_uri"] = qr_data_uri(link["url"])
    return {"invoice_id": invoice.id, "amount": due, "links": links}
