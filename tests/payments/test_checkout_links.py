"""Checkout links and QR codes for Payme and Click, for what is due on an invoice."""

from __future__ import annotations

import base64
import html
from urllib.parse import parse_qs, urlsplit

from clinic.payments import invoices, links
from tests.payments import provider_support as support
from tests.payments.fixtures import issue_ticket, make_invoice, make_patient, make_queue

# The provider settings (keys and secrets).
settings = support.settings

PRICE = 12_345_67


def test_an_open_invoice_gets_payme_and_click_links_with_qr_codes(runtime, client_as):
    invoice_id = make_invoice(runtime, (PRICE,))
    response = client_as("cashier").get(f"/api/v1/payments/invoices/{invoice_id}/checkout")
    assert response.status_code == 200
    body = response.get_json()
    assert body["amount"] == PRICE
    payme_url = body["links"]["payme"]["url"]
    assert payme_url.startswith("https://checkout.paycom.uz/")
    decoded = base64.b64decode(payme_url.rsplit("/", 1)[1]).decode()
    assert decoded == f"m={support.PAYME_MERCHANT_ID};ac.invoice_id={invoice_id};a={PRICE}"
    click = urlsplit(body["links"]["click"]["url"])
    assert parse_qs(click.query) == {
        "service_id": [support.CLICK_SERVICE_ID],
        "merchant_id": [support.CLICK_MERCHANT_ID],
        "amount": ["12345.67"],
        "transaction_param": [str(invoice_id)],
    }
    for link in body["links"].values():
        assert link["qr_svg"].startswith("<svg") and "</svg>" in link["qr_svg"]


def test_a_paid_invoice_has_no_links_and_registrars_may_not_ask(runtime, client_as):
    invoice_id = make_invoice(runtime, (PRICE,))
    with runtime.db.transaction() as s:
        invoice = invoices.get_invoice(s, invoice_id)
        invoices.record_payment(s, invoice, method="cash", amount=PRICE, actor="cashier")
    url = f"/api/v1/payments/invoices/{invoice_id}/checkout"
    assert client_as("cashier").get(url).status_code == 409
    assert client_as("registrar").get(url).status_code == 403
    assert client_as("cashier").get("/api/v1/payments/invoices/999999/checkout").status_code == 404


def test_the_patients_ticket_link_shows_what_to_pay_and_nothing_else(runtime, anon_client):
    with runtime.db.transaction() as s:
        queue_id = make_queue(s)
        patient_id = make_patient(s)
        ticket = issue_ticket(s, queue_id, patient_id)
        token, ticket_id = ticket.token, ticket.id
    assert anon_client.get(f"/payments/checkout/{token}").status_code == 404
    invoice_id = make_invoice(runtime, (PRICE,), ticket_id=ticket_id, patient_id=patient_id)
    body = anon_client.get(f"/payments/checkout/{token}").get_json()
    assert body["invoice_id"] == invoice_id and body["amount"] == PRICE
    assert set(body["links"]) == {"payme", "click"}
    assert anon_client.get("/payments/checkout/" + "x" * 30).status_code == 404
    with runtime.db.transaction() as s:
        invoice = invoices.get_invoice(s, invoice_id)
        invoices.record_payment(s, invoice, method="cash", amount=PRICE, actor="cashier")
    assert anon_client.get(f"/payments/checkout/{token}").status_code == 404


def test_openapi_documents_the_provider_endpoints_and_the_staff_api(anon_client):
    paths = anon_client.get("/api/openapi.json").get_json()["paths"]
    for path in (
        "/payments/payme",
        "/payments/click/prepare",
        "/payments/click/complete",
        "/payments/webhooks/{provider}",
        "/api/v1/payments/provider-log",
        "/api/v1/payments/reconciliations",
        "/api/v1/payments/invoices/{invoice_id}/checkout",
        "/payments/checkout/{token}",
    ):
        assert path in paths, path


def _checkout_section(page: str) -> str:
    start = page.find('id="patient-checkout"')
    return html.unescape(page[start : page.find("</section>", start)]) if start >= 0 else ""


def test_the_patients_ticket_page_shows_payme_and_click_links_with_qr_images_while_due(
    runtime, anon_client
):
    with runtime.db.transaction() as s:
        queue_id = make_queue(s)
        patient_id = make_patient(s)
        ticket = issue_ticket(s, queue_id, patient_id)
        token, ticket_id = ticket.token, ticket.id
    page = anon_client.get(f"/t/{token}?lang=ru")
    assert page.status_code == 200 and _checkout_section(page.get_data(as_text=True)) == ""
    invoice_id = make_invoice(runtime, (PRICE,), ticket_id=ticket_id, patient_id=patient_id)
    section = _checkout_section(anon_client.get(f"/t/{token}?lang=ru").get_data(as_text=True))
    expected = anon_client.get(f"/payments/checkout/{token}").get_json()["links"]
    for name in ("payme", "click"):
        assert f'href="{expected[name]["url"]}"' in section, name
        # The QR image is the code of that very link.
        assert f'src="{links.qr_data_uri(expected[name]["url"])}"' in section, name
    assert "12 345,67 сум" in section
    # The live page asks there whether something is still due once the ticket is paid.
    assert f'data-checkout-url="/payments/checkout/{token}"' in section
    with runtime.db.transaction() as s:
        invoice = invoices.get_invoice(s, invoice_id)
        invoices.record_payment(s, invoice, method="cash", amount=PRICE, actor="cashier")
    page = anon_client.get(f"/t/{token}").get_data(as_text=True)
    assert _checkout_section(page) == "" and "checkout.paycom.uz" not in page


def test_the_desk_offers_the_checkout_links_of_an_open_invoice(runtime, client_as):
    cashier = client_as("cashier")
    page = cashier.get("/payments/desk?lang=en").get_data(as_text=True)
    assert "Pay by phone" in page and "css/payments.css" in page
    invoice_id = make_invoice(runtime, (PRICE,))
    # The desk's button reads this address (its config's invoices API + /<id>/checkout).
    body = cashier.get(f"/api/v1/payments/invoices/{invoice_id}/checkout").get_json()
    for link in body["links"].values():
        assert link["qr_data_uri"] == links.qr_data_uri(link["url"])
        assert link["qr_data_uri"].startswith("data:image/svg+xml")


def test_click_without_its_merchant_id_offers_no_link_its_page_would_refuse(runtime):
    from dataclasses import replace

    invoice_id = make_invoice(runtime, (PRICE,))
    with runtime.db.transaction() as s:
        invoice = invoices.get_invoice(s, invoice_id)
        no_merchant = replace(runtime.settings, click_merchant_id="")
        assert set(links.checkout_links(invoice, no_merchant, with_qr=False)["links"]) == {"payme"}


def test_the_patients_page_after_a_transfer_still_offers_the_open_invoice_of_his_first_ticket(
    runtime, anon_client
):
    from sqlalchemy import update

    from clinic.models import Ticket

    with runtime.db.transaction() as s:
        patient_id = make_patient(s)
        first = issue_ticket(s, make_queue(s), patient_id)
        onward = issue_ticket(s, make_queue(s), patient_id)
        # Sent on to the laboratory: his page follows him to the onward ticket.
        s.execute(update(Ticket).where(Ticket.id == onward.id).values(transferred_from_id=first.id))
        first_id, token = first.id, onward.token
    invoice_id = make_invoice(runtime, (PRICE,), ticket_id=first_id, patient_id=patient_id)
    body = anon_client.get(f"/payments/checkout/{token}").get_json()
    assert (body["invoice_id"], body["amount"]) == (invoice_id, PRICE)


def _payme_params(url: str) -> dict:
    decoded = base64.b64decode(url.rsplit("/", 1)[1]).decode()
    return dict(part.split("=", 1) for part in decoded.split(";"))


def test_payme_opens_in_the_language_of_the_patients_page(runtime, client_as, app):
    """Payme's checkout takes its language in ``l`` (ru, uz, en): the patient reading his
    ticket's page in Uzbek pays on an Uzbek Payme page, not on one in Payme's default."""
    with runtime.db.transaction() as s:
        patient_id = make_patient(s)
        ticket = issue_ticket(s, make_queue(s), patient_id)
        token, ticket_id = ticket.token, ticket.id
    make_invoice(runtime, (PRICE,), ticket_id=ticket_id, patient_id=patient_id)
    for language in ("uz", "ru", "en"):
        phone = app.test_client()
        section = _checkout_section(phone.get(f"/t/{token}?lang={language}").get_data(as_text=True))
        payme = section.split('href="https://checkout.paycom.uz/', 1)[1].split('"', 1)[0]
        params = _payme_params("https://checkout.paycom.uz/" + payme)
        assert params["l"] == language
        assert params["a"] == str(PRICE) and params["m"] == support.PAYME_MERCHANT_ID
        # The page's script reads the same links, in the language the page chose (its cookie).
        body = phone.get(f"/payments/checkout/{token}").get_json()
        assert _payme_params(body["links"]["payme"]["url"])["l"] == language
    # A phone set to Uzbek, opening the ticket's QR code without ?lang=.
    body = (
        app.test_client()
        .get(f"/payments/checkout/{token}", headers={"Accept-Language": "uz-UZ,uz;q=0.9"})
        .get_json()
    )
    assert _payme_params(body["links"]["payme"]["url"])["l"] == "uz"
