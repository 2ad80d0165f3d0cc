"""The cashier's screen: the clinic day's invoices live, taking payment, refunds, reprint
requests and the shift. It works through the JSON API (web/payments/api.py) and follows the
``payments:desk`` channel; this view renders the first state and the texts in the page's
language."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for
from flask_babel import gettext as _

from clinic.errors import Conflict, NotFound
from clinic.money import format_money, money_style
from clinic.payments import links, shifts
from clinic.payments.refunds import ABOVE_PAYMENT, REASON_REQUIRED, REASON_TOO_LONG
from web import db
from web.auth.identity import current_identity
from web.i18n import HTML_LANG, current_language
from web.permissions import requires
from web.refusals import common_refusals

bp = Blueprint("payments_pages", __name__)


def _texts() -> dict:
    return {
        "statuses": {
            "open": _("To pay"),
            "paid": _("Paid"),
            "partly_refunded": _("Partly refunded"),
            "refunded": _("Refunded"),
            "cancelled": _("Cancelled"),
        },
        "due": _("Due {amount}"),
        # A discounted invoice's total: what it was before, less how much, and why.
        "discount": _("Discount {amount} off {subtotal}"),
        # A paid invoice part given back: how much, and how much may still be given back.
        "givenBack": _("Given back {amount}"),
        "leftToGiveBack": _("Left to give back {amount}"),
        # An open invoice part paid (cash now, the rest by card).
        "paidSoFar": _("Paid so far {amount}"),
        "partPaid": _("{amount} of invoice {number} taken; still due {due}."),
        # The amount a payment takes: all that is due unless the cashier types less.
        "amount": _("Amount to pay (sum)"),
        "amountAboveDue": _("The amount to pay is more than is due: at most {amount}."),
        "amountNotTiyin": _(
            "Type the amount to pay as a sum in whole tiyin, such as 150,000 or 150,000.50."
        ),
        "amountZero": _("The amount to pay must be more than zero."),
        "pay": _("Take payment"),
        "cash": _("Cash"),
        "card": _("Card"),
        "tendered": _("Cash handed over"),
        "tenderedNotSum": _("Type the cash handed over as a sum, such as 150 000."),
        "change": _("Change due: {amount}"),
        "paid": _("Invoice {number} paid."),
        "refund": _("Refund"),
        "refundAmount": _("Amount to refund (sum)"),
        "refundNotTiyin": _(
            "Type the amount to refund as a sum in whole tiyin, such as 150,000 or 150,000.50."
        ),
        "refundZero": _("The amount to refund must be more than zero."),
        "refundReason": _("Reason"),
        # Part paid in cash and part by card: the patient says how he gets it back.
        "refundAs": _("Give back as"),
        "refundAsPaid": _("As paid last"),
        "refunded": _("Refund of {amount} recorded."),
        "reprint": _("Reprint receipt"),
        "reprinted": _("Receipt {number} sent to the printer."),
        "noShift": _("Open your shift to take payments."),
        "shiftOpen": _("Shift open since {time}; cash in the drawer {amount}."),
        "shiftClosed": _(
            "Shift closed: expected {expected}, counted {counted}, difference {diff}."
        ),
        "nothing": _("No invoices today."),
        # A patient who left unseen (his ticket cancelled, or he did not come), his money kept:
        # said on his row beside the refund, and its reason typed in for the cashier.
        "unseen": {
            "cancelled": _("Not seen: ticket cancelled — give the money back"),
            "no_show": _("Not seen: did not come — give the money back"),
            "appointment_cancelled": _("Appointment cancelled — give the money back"),
            "appointment_missed": _("Appointment missed — give the money back"),
        },
        "unseenAmount": _("To give back {amount}"),
        # Of it, paid through Payme (or a card webhook sender): only that provider gives it
        # back, and its refund reaches the invoice by itself.
        "unseenAtProvider": _("Refund {amount} through {provider} in its cabinet"),
        "unseenReason": {
            "cancelled": _("Not seen: ticket cancelled"),
            "no_show": _("Not seen: did not come"),
            "appointment_cancelled": _("Appointment cancelled"),
            "appointment_missed": _("Appointment missed"),
        },
        "unseenCount": _("Patients not seen, money to give back: {count} ({amount} in all)."),
        # An invoice of any day found by its number joins the list (to refund or reprint).
        "found": _("Invoice {number} is on the list."),
        "notFound": _("No invoice is numbered {number}."),
        "network": _("The server could not be reached. Check the connection and try again."),
        # A payment or refund sent whose answer never came: it may have been taken all the same
        # (the row then shows it, and the page says so); pressing again at once may not be right.
        "payLost": _(
            "The answer was lost: the payment may have gone through. Check the row before"
            " taking money again."
        ),
        "refundLost": _(
            "The answer was lost: the refund may have gone through. Check the row before"
            " giving money back again."
        ),
        "signedOut": _("Your session has ended. Sign in again."),
        "forbidden": _("Your role does not allow this."),
        "failed": _("The action failed: {detail}"),
        "phone": _("Pay by phone"),
        "phoneHint": _("The patient scans a code with the phone's camera or opens the link."),
        "payWith": _("Pay with {provider}"),
        "qrOf": _("QR code to pay with {provider}"),
        # An invoice held by an online payment the patient has not confirmed.
        "heldBy": _("Being paid with {provider} since {time}"),
        "release": _("Cancel online payment"),
        "confirmRelease": _(
            "The patient has not confirmed the {provider} payment of invoice {number} (started"
            " {time}). Cancel it and take the payment at the desk?"
        ),
        "released": _("The {provider} payment of invoice {number} is cancelled."),
        # An open invoice nothing was paid of, cancelled (the patient changed his mind).
        "cancel": _("Cancel the invoice"),
        "confirmCancel": _(
            "Cancel invoice {number} for {amount} ({services})? The patient's bill is then"
            " gone: to take his money, a new invoice is made."
        ),
        "cancelled": _("Invoice {number} is cancelled."),
        # A cancel's refusals in its own words (a payment's say the invoice cannot be paid).
        "cancelRefusals": {
            "not_open": _("This invoice is no longer open (paid or cancelled meanwhile)."),
            "lines_frozen": _(
                "Part of this invoice is paid, or being paid: it cannot be cancelled. Give"
                " the part paid back first."
            ),
        },
        # The desk's refusals by their code (clinic/payments), so the cashier reads them in
        # the page's language instead of the API's English detail.
        "refusals": {**common_refusals(), **refusal_texts()},
        # A refusal without a code, by why the field it names is refused (the reasons' codes
        # the API gives beside its English words), else by the field.
        "reasons": {
            ABOVE_PAYMENT: _(
                "Check the amount to refund: at most what one payment of the invoice has left."
            ),
            REASON_REQUIRED: _("Give the reason for the refund."),
            REASON_TOO_LONG: _("The reason for the refund is too long: at most 500 characters."),
        },
        "fields": {
            "tendered": _("Less cash was handed over than is due."),
            "amount": _("Check the amount to refund."),
            "reason": _("Give the reason for the refund."),
            "method": _("Nothing paid that way is left to give back on this invoice."),
            "opening_cash": _("Type the cash in the drawer as a sum, such as 500 000."),
            "counted_cash": _("Type the cash counted as a sum, such as 500 000."),
            "note": _("The note is too long: at most 1000 characters."),
        },
        "newInvoice": _new_invoice_texts(),
        # A payment's own words for a field the API refuses (the invoice changed meanwhile).
        "payFields": {
            "amount": _("Check the amount to pay: more than zero and at most what is still due."),
        },
    }


def _new_invoice_texts() -> dict:
    """The new invoice form's words (web/static/js/cashier-invoice.js)."""
    return {
        "choose": _("Choose"),
        "noPatients": _(
            "Nobody found. Check the spelling, or send the patient to reception to register."
        ),
        "noTicket": _("No ticket"),
        # A ticket whose invoice is paid already: offered all the same (a second invoice).
        "paid": _("paid"),
        "add": _("Add"),
        "noServices": _("No service of the price list matches."),
        "quantity": _("Quantity"),
        "remove": _("Remove"),
        "total": _("Total: {amount}"),
        "choosePatient": _("Find and choose the patient first."),
        "addService": _("Add at least one service."),
        "created": _("Invoice {number} for {amount} is on the list."),
        # A refusal of the invoices API by the field it names, said next to that field.
        "fields": {
            "patient_id": _("This patient's record is deactivated. Find the patient again."),
            "ticket_id": _("This ticket is not this patient's to pay for. Choose another or none."),
            "lines": _("An invoice holds 1 to 100 services, and a total one payment can take."),
            "lines.service_id": _("This service is no longer on the price list: remove it."),
            "lines.quantity": _("The quantity is a whole number from 1 to 1000."),
        },
    }


def refusal_texts() -> dict:
    """The payments module's refusals at the desk, by their code, in the page's language."""
    return {
        "no_open_shift": _("Open your shift first."),
        "shift_open": _("Your shift is already open."),
        "nothing_due": _("Nothing is due on this invoice."),
        "already_paid": _("This invoice is already paid."),
        "not_open": _("This invoice can no longer be paid."),
        "not_paid": _("This invoice is not paid."),
        "held": _("This invoice is being paid elsewhere right now."),
        "not_held": _("No online payment holds this invoice any more."),
        "hold_changed": _("Another online payment holds this invoice now. Look again."),
        "not_releasable": _("This payment cannot be cancelled at the desk."),
        "changed": _("The invoice has just changed. Try again."),
        "approval_required": _("A refund this large needs a manager's approval."),
        "not_enough_cash": _("The drawer does not hold enough cash for this refund."),
        "refund_at_provider": _("This payment is refunded by its payment system, not at the desk."),
        "not_your_shift": _("Only a manager gives cash back from another cashier's drawer."),
        "ref_used": _("This payment or refund was already recorded for another invoice."),
        "no_provider": _("No online payment system is set up: take the payment at the desk."),
    }


@bp.get("/payments/desk")
@requires("payments.take")
def desk():
    """The cashier's desk."""
    session = db.session()
    shift = shifts.current_shift(session, current_identity().user_id)
    return render_template(
        "payments/desk.html",
        refunds_only=False,
        note_max=shifts.NOTE_MAX,
        config={
            **_desk_config(_texts()),
            # The cancel asks for payments.take, as this page does.
            "mayCancel": current_identity().can("payments.take"),
            "noteMax": shifts.NOTE_MAX,
            "shiftApi": url_for("payments.current_shift"),
            "openShiftApi": url_for("payments.open_shift"),
            "closeShiftApi": url_for("payments.close_shift"),
            "hasShift": shift is not None,
            # The new invoice form: the patient, his tickets of today, the price list.
            "patientsApi": url_for("reference.list_patients"),
            "servicesApi": url_for("reference.list_services"),
            "patientTicketsApi": url_for("payments.patients_tickets", patient_id=0).replace(
                "/0/", "/{id}/"
            ),
        },
    )


@bp.get("/payments/refunds")
@requires("payments.refund_large")
def refunds():
    """The desk in its refunds-only form, for a manager called to a cashier's desk: he keeps
    no drawer and takes no payments, and gives a refund of any size, in cash from the drawer
    of an open shift he chooses or to the card."""
    return render_template(
        "payments/desk.html",
        refunds_only=True,
        config={
            **_desk_config(_refund_texts()),
            "refundsOnly": True,
            # The cancel asks for payments.take: an administrator's, not a manager's.
            "mayCancel": current_identity().can("payments.take"),
            "openShiftsApi": url_for("payments.open_shifts"),
        },
    )


def _desk_config(texts: dict) -> dict:
    """What both forms of the desk page read: the invoices, the channel, how money and time
    are written in the page's language and the clinic's zone."""
    language = current_language()
    return {
        "texts": texts,
        "money": money_style(language),
        "locale": HTML_LANG[language],
        "timezone": db.runtime().settings.timezone,
        "channel": "payments:desk",
        "language": language,
        # Also ``<api>/<id>/checkout``: Payme and Click links with their QR codes.
        "api": url_for("payments.list_invoices"),
    }


def _refund_texts() -> dict:
    """The desk's words, and the refunds-only form's own: the drawer a cash refund comes out
    of (web/static/js/cashier-drawers.js)."""
    texts = _texts()
    texts["refusals"]["no_open_shift"] = _("Choose the drawer the cash is given back from.")
    texts["fields"]["shift_id"] = _("That drawer's shift is closed now. Choose an open drawer.")
    texts["drawer"] = _("Cash from the drawer")
    texts["chooseDrawer"] = _("Choose the drawer")
    # An open shift in the drawer list: its cashier, its number and the cash it holds.
    texts["drawerOf"] = _("{name}, shift {number}: {amount}")
    texts["noDrawers"] = _("No shift is open: cash can be given back only to the card.")
    return texts


PROVIDER_NAMES = {"payme": "Payme", "click": "Click"}


def ticket_checkout(token: str) -> dict | None:
    """For the patient's ticket page (a template global): the Payme and Click links, each
    with its QR code, for the ticket's open invoice; None when nothing is to be paid online
    (no open invoice, nothing due, no provider configured)."""
    session = db.session()
    try:
        invoice = links.open_invoice_of_ticket(session, token)
        found = links.checkout_links(invoice, db.runtime().settings, language=current_language())
    except (NotFound, Conflict):
        return None
    return {
        "number": invoice.number,
        "due": found["amount"],
        "amount": format_money(found["amount"], current_language()),
        "links": [
            {"provider": PROVIDER_NAMES[name], "url": link["url"], "qr": link["qr_data_uri"]}
            for name, link in found["links"].items()
        ],
    }
