"""The doors payment providers knock on: Payme, Click and Standard Webhooks.

Registration: ``web/payments/__init__.py`` registers :data:`blp` (with the patient's checkout,
web/payments/checkout.py), the same views by other methods (web/payments/other_methods.py)
and the staff API around them (web/payments/provider_admin.py).

Each endpoint is public (providers sign their calls; they have no user) and speaks its
provider's protocol (``web.auth.own_protocol``): CSRF-exempt (no ambient credential: a
signature or the Payme key, not a cookie, authorises the call), its ``Authorization`` header
never read as our bearer token, its bad input answered in the protocol rather than by the
input boundary. Each takes a small body only (413), from the provider's networks when an
allow-list is configured (403), at a rate limit per address (429). Payme's protocol has no
HTTP errors, so Payme hears those in it, with HTTP 200: an address off its allow-list -32504
(no privilege), a call past the rate limit -32400 (a system error, which Payme retries), a
body too large -32600. Past those, Payme answers
everything as JSON-RPC with HTTP 200 (a wrong key -32504, a body that is not JSON or names a
key twice -32700, other unreadable bodies -32600), Click with its ``error`` field (a body
that is not a form lacks every field, one giving a field twice is no one request: -8),
webhooks with 400/401/415/422; no input makes any of them answer 500.

Every call, with our answer, goes to the provider log (raw, append-only). The request's
session is the one the audit log watches, so each call also leaves its one audit row (the
provider as anonymous actor), in the same transaction as the change it made.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time

from flask import abort, current_app, g, jsonify, make_response, request
from werkzeug.exceptions import RequestEntityTooLarge

from clinic.db import dispatch_after_commit
from clinic.payments import click, payme, payme_key
from clinic.payments import webhooks as hooks
from clinic.payments.invoices import PAYMENTS_QUEUE
from clinic.payments.payme_errors import (
    INTERNAL,
    INVALID_REQUEST,
    NOT_POST,
    UNAUTHORIZED,
    PaymeError,
)
from clinic.payments.providers import record_exchange
from web import db
from web.api.blueprint import Blueprint
from web.api.schemas import ProblemSchema
from web.auth import own_protocol
from web.auth.audit import answer_status, request_id
from web.auth.limits import limiter
from web.errors import problem
from web.payments import payme_request
from web.payments.schemas import CLICK_ANSWER, PAYME_ANSWER, WEBHOOK_ANSWER
from web.permissions import public

log = logging.getLogger(__name__)

blp = Blueprint(
    "payment_providers",
    __name__,
    url_prefix="/payments",
    description="Payment provider endpoints (Payme Merchant API, Click SHOP API, Standard "
    "Webhooks). Called by the providers, not by staff; see docs/payments.md.",
)

BODY_LIMIT = 64 * 1024
CLOCK_KEY = "clinic.payments.clock"
APPLY_WEBHOOK_TASK = "payments.apply_webhook_event"
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
# Payme's protocol page declares its requests as ``text/json; charset=UTF-8``; the sandbox and
# most clients send ``application/json``. Both are JSON, and so is a body declaring no type.


def _settings():
    return db.runtime().settings


def now_ms() -> int:
    """Milliseconds since the epoch, from the app's clock (tests install their own)."""
    clock = current_app.extensions.get(CLOCK_KEY)
    return int(clock()) if clock else int(time.time() * 1000)


def _rate() -> str:
    return _settings().provider_rate_limit


def _rate_key() -> str:
    return f"{_settings().redis_prefix}:providers:{request.remote_addr or ''}"


def _guard(provider: str, enabled: str, content_type: str | None) -> bytes:
    """The checks every provider call passes first; returns the raw body."""
    settings = _settings()
    if enabled not in settings.payment_providers:
        abort(404)
    networks = settings.provider_allowed_ips.get(provider)
    if networks:
        try:
            address = ipaddress.ip_address(request.remote_addr or "")
        except ValueError:
            address = None
        if address is None or not any(address in network for network in networks):
            log.warning("%s call from %s refused by the allow-list", provider, address)
            if provider == "payme":
                abort(payme_request.refused_unread(PaymeError(UNAUTHORIZED), BODY_LIMIT))
            abort(problem(403, "Forbidden", f"this address may not call the {provider} endpoint"))
    if request.content_length is not None and request.content_length > BODY_LIMIT:
        raise RequestEntityTooLarge(f"The body is larger than {BODY_LIMIT} bytes.")
    if content_type is not None and request.mimetype not in (content_type, ""):
        abort(problem(415, "Unsupported Media Type", f"Send the body as {content_type}."))
    request.max_content_length = BODY_LIMIT  # also bounds a chunked body of unknown length
    body = request.get_data(cache=True)
    if len(body) > BODY_LIMIT:
        # A chunked body declares no length: the input boundary has read it already, up to
        # the app's upload limit, before this one could be set.
        raise RequestEntityTooLarge(f"The body is larger than {BODY_LIMIT} bytes.")
    return body


def _log(session, provider, method, body, answer, status, **subject) -> None:
    # The call's audit row, written at the commit that follows, says the status it was
    # answered with (by default a page's post would be a redirect).
    answer_status(status)
    record_exchange(
        session,
        provider=provider,
        method=method,
        request=body.decode("utf-8", errors="replace"),
        response=answer,
        http_status=status,
        ip=request.remote_addr or "",
        request_id=request_id(),
        **subject,
    )


def _finish(session, provider, method, body, answer: dict, *, code=None, **subject):
    """Commit the change with its log row; answer HTTP 200 JSON."""
    text = json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
    _log(session, provider, method, body, text, 200, error_code=code, **subject)
    session.commit()
    return current_app.response_class(text, status=200, mimetype="application/json")


def _discard(session) -> None:
    """Roll back everything the call wrote; the log row and the audit row are written after."""
    session.rollback()
    # An audit row written before (a savepoint's release writes it) went with the rollback:
    # the commit that follows must write it again.
    g.pop("audit_written", None)


def _failed(session, provider, method, body, answer: dict, *, code, **subject):
    """Something unexpected broke: nothing of the change stays; the call and our answer do."""
    _discard(session)
    text = json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
    try:
        _log(session, provider, method, body, text, 200, error_code=code, **subject)
        session.commit()
    except Exception:  # the log is best effort when the database itself is failing
        session.rollback()
        log.exception("could not log a failed %s call", provider)
    return current_app.response_class(text, status=200, mimetype="application/json")


# -- Payme ----------------------------------------------------------------------------------


def _no_automatic_options(view):
    """Flask answers OPTIONS by itself unless the view says otherwise (flask-smorest's route
    does not pass the option on): for Payme it is one more method that is not POST."""
    view.provide_automatic_options = False
    return view


def _payme_past_the_limit(_limit) -> object:
    log.warning("Payme call from %s refused by the rate limit", request.remote_addr)
    return payme_request.refused_unread(PaymeError(INTERNAL), BODY_LIMIT)


# Refusals heard before the provider's protocol (see _guard), for the OpenAPI document.
DISABLED = "The provider is not enabled here (``CLINIC_PAYMENT_PROVIDERS``)."
OFF_THE_ALLOW_LIST = "The calling address is off the provider's allow-list."


@blp.route("/payme", methods=["POST"])
@_no_automatic_options
@blp.doc(**PAYME_ANSWER)
@blp.alt_response(404, schema=ProblemSchema, description=DISABLED)
@public
@own_protocol
@limiter.limit(_rate, key_func=_rate_key, on_breach=_payme_past_the_limit)
def payme_endpoint():
    """Payme Merchant API (JSON-RPC 2.0, HTTP Basic ``Paycom:<PAYME_KEY>``, or
    ``<PAYME_TEST_KEY>`` in test mode).

    Methods: CheckPerformTransaction, CreateTransaction, PerformTransaction,
    CancelTransaction, CheckTransaction, GetStatement, SetFiscalData and ChangePassword.
    Every answer is HTTP 200 with the request ``id``; errors carry ru/uz/en messages."""
    session = db.session()
    if request.method != "POST":
        _guard("payme", "payme", None)
        error = PaymeError(NOT_POST)
        return _finish(
            session, "payme", "", b"", payme_request.answer(None, error=error), code=error.code
        )
    # Payme's protocol answers everything with HTTP 200 and JSON-RPC: a body declared as
    # something other than JSON is an invalid request (one declaring nothing is read as JSON).
    try:
        body = _guard("payme", "payme", None)
    except RequestEntityTooLarge:
        # Not read, and answered in the protocol, which has no HTTP errors.
        error = PaymeError(INVALID_REQUEST, "body")
        return _finish(
            session, "payme", "", b"", payme_request.answer(None, error=error), code=error.code
        )
    doc, rpc_id, refused = payme_request.read(body)
    body = payme_request.loggable(doc, body)
    if refused is not None:
        answer = payme_request.answer(rpc_id, error=refused)
        return _finish(session, "payme", "", body, answer, code=refused.code)
    method = doc.get("method") if isinstance(doc, dict) else None
    params = doc.get("params") if isinstance(doc, dict) else None
    invoice_id, payme_id = payme.subject_of(params)
    subject = {"invoice_id": invoice_id, "provider_ref": payme_id}
    method_name = method[:64] if isinstance(method, str) else ""
    try:
        if not isinstance(doc, dict) or rpc_id is None:
            raise PaymeError(INVALID_REQUEST, "id")
        configured, sandbox = _settings().payme_key_in_use, _settings().payme_test_mode
        key = payme_key.key_in_force(session, configured, sandbox=sandbox)
        if not payme_key.signed(payme_request.credentials() or b"", key):
            raise PaymeError(UNAUTHORIZED)
        result = payme.call(session, method, params, now_ms(), key=configured, sandbox=sandbox)
        answer, code = payme_request.answer(rpc_id, result=result), None
    except PaymeError as error:
        # Some refusals change state on the way (an expired transaction is cancelled); those
        # marked ``discard`` keep nothing of the call.
        if error.discard:
            _discard(session)
        answer, code = payme_request.answer(rpc_id, error=error), error.code
    except Exception:
        log.exception("Payme %s failed", method_name)
        return _payme_failed(session, rpc_id, method_name, body, subject)
    try:
        _name_the_invoice(session, subject)
        return _finish(session, "payme", method_name, body, answer, code=code, **subject)
    except Exception:  # the commit itself failed: nothing of the call stays
        log.exception("Payme %s could not commit", method_name)
        return _payme_failed(session, rpc_id, method_name, body, subject)


def _name_the_invoice(session, subject: dict) -> None:
    """Perform, Cancel and the rest name only the transaction: the log names its invoice too
    (read from the session when the call has loaded the transaction)."""
    if subject["invoice_id"] is None and subject["provider_ref"] is not None:
        subject["invoice_id"] = payme.invoice_of_transaction(session, subject["provider_ref"])


def _payme_failed(session, rpc_id, method_name: str, body: bytes, subject: dict):
    session.rollback()
    try:
        _name_the_invoice(session, subject)
    except Exception:  # the log is best effort when the database itself is failing
        log.exception("could not read the invoice of a failed Payme call")
    error = PaymeError(INTERNAL)
    answer = payme_request.answer(rpc_id, error=error)
    return _failed(session, "payme", method_name, body, answer, code=error.code, **subject)


# -- Click ----------------------------------------------------------------------------------


def _click_config() -> click.ClickConfig:
    settings = _settings()
    return click.ClickConfig(
        service_id=settings.click_service_id, secret_key=settings.click_secret_key
    )


def _click(action: str, run):
    # Every answer of the call names our id of it, null when there is none (as the refusals
    # of click.prepare and click.complete do): Click reads the same fields from each.
    ours = {("merchant_prepare_id" if action == "prepare" else "merchant_confirm_id"): None}
    body = b""
    try:
        body = _guard("click", "click", None)
        # Click answers everything with its ``error`` field: a body that is not a form has
        # none of the fields (-8), and neither has a call by another method than the POST
        # Click makes, whatever its body holds (a signed form sent by PUT pays nothing).
        form = request.form if request.mimetype in FORMS and request.method == "POST" else None
    except RequestEntityTooLarge:
        # Too large to read, or a form of more parts than the parser reads (werkzeug's
        # max_form_parts): a request without the fields (-8), answered in the protocol.
        answer = click.answer({}, click.BAD_REQUEST, **ours)
        return _finish(db.session(), "click", action, body, answer, code=click.BAD_REQUEST)
    fields = form.to_dict(flat=True) if form is not None else {}
    invoice_id, ref = click.subject_of(fields)
    subject = {"invoice_id": invoice_id, "provider_ref": ref}
    session = db.session()
    if form is not None and any(len(values) > 1 for values in form.listvalues()):
        # A field given twice (two amounts) is no one request: an error in it (-8).
        answer = click.answer(fields, click.BAD_REQUEST, **ours)
        return _finish(session, "click", action, body, answer, code=click.BAD_REQUEST, **subject)
    try:
        answer = run(session, fields, _click_config())
        # A failing commit lands below too: nothing of the call stays, Click hears -7.
        return _finish(session, "click", action, body, answer, code=answer["error"], **subject)
    except Exception:
        log.exception("Click %s failed", action)
        answer = click.answer(fields, click.UPDATE_FAILED, **ours)
        return _failed(session, "click", action, body, answer, code=click.UPDATE_FAILED, **subject)


@blp.route("/click/prepare", methods=["POST"])
@blp.doc(**CLICK_ANSWER)
@blp.alt_response(403, schema=ProblemSchema, description=OFF_THE_ALLOW_LIST)
@blp.alt_response(404, schema=ProblemSchema, description=DISABLED)
@public
@own_protocol
@limiter.limit(_rate, key_func=_rate_key)
def click_prepare():
    """Click SHOP API, Prepare (``action=0``), form-encoded; answers JSON with ``error``."""
    return _click("prepare", click.prepare)


@blp.route("/click/complete", methods=["POST"])
@blp.doc(**CLICK_ANSWER)
@blp.alt_response(403, schema=ProblemSchema, description=OFF_THE_ALLOW_LIST)
@blp.alt_response(404, schema=ProblemSchema, description=DISABLED)
@public
@own_protocol
@limiter.limit(_rate, key_func=_rate_key)
def click_complete():
    """Click SHOP API, Complete (``action=1``), form-encoded; answers JSON with ``error``."""
    return _click("complete", click.complete)


# -- Standard Webhooks ----------------------------------------------------------------------


@blp.route("/webhooks/<string:provider>", methods=["POST"])
@blp.doc(**WEBHOOK_ANSWER)
@blp.alt_response(400, schema=ProblemSchema, description="Its headers cannot be read.")
@blp.alt_response(401, schema=ProblemSchema, description="The signature or timestamp is wrong.")
@blp.alt_response(403, schema=ProblemSchema, description=OFF_THE_ALLOW_LIST)
@blp.alt_response(
    404, schema=ProblemSchema, description="Webhooks are not enabled, or the sender is unknown."
)
@blp.alt_response(
    413, schema=ProblemSchema, description=f"The body is larger than {BODY_LIMIT} bytes."
)
@blp.alt_response(415, schema=ProblemSchema, description="The body is not application/json.")
@blp.alt_response(422, schema=ProblemSchema, description="A payment event it cannot read.")
@public
@own_protocol
@limiter.limit(_rate, key_func=_rate_key)
def webhook(provider: str):
    """A Standard Webhooks delivery from a card acquirer or aggregator named in
    ``CLINIC_WEBHOOK_SECRETS``. Stored once per ``webhook-id`` and applied by a task; the
    answer comes at once (200 new or repeated, also for a type the clinic does not apply,
    400/401 bad headers or signature, 422 a payment event it cannot read)."""
    provider = provider.lower()
    secret = _settings().webhook_secrets.get(provider)
    if secret is None:
        abort(404)
    body = _guard(provider, "webhooks", "application/json")
    session = db.session()
    webhook_id = (request.headers.get("webhook-id") or "")[:255] or None
    try:
        hooks.verify(secret, body, request.headers)
    except hooks.Rejected as exc:
        return _refuse(session, provider, body, exc, webhook_id)
    event = hooks.store(session, provider, webhook_id, body)
    # A webhook-id names one message: a repeat is answered as its first delivery was, from
    # the body kept then, whatever this delivery's body says.
    first = body if event is not None else hooks.kept_body(session, provider, webhook_id)
    try:
        fields = hooks.parse_body(first if first is not None else body)
    except hooks.NotApplied as exc:
        return _acknowledge(session, provider, body, exc, webhook_id, repeated=event is None)
    except hooks.Rejected as exc:
        return _refuse(session, provider, body, exc, webhook_id)
    if event is not None:
        dispatch_after_commit(session, APPLY_WEBHOOK_TASK, queue=PAYMENTS_QUEUE, event_id=event.id)
    answer = {"received": True, "repeated": event is None}
    text = json.dumps(answer)
    _log(
        session,
        provider,
        fields["type"],
        body,
        text,
        200,
        invoice_id=fields["invoice_id"],
        provider_ref=webhook_id,
    )
    session.commit()
    return make_response(jsonify(answer), 200)


def _acknowledge(session, provider: str, body: bytes, exc: hooks.NotApplied, webhook_id, *,
                 repeated: bool):  # fmt: skip
    """A signed event of a type the clinic does not apply: received, kept, nothing done."""
    answer = {"received": True, "repeated": repeated, "ignored": True}
    _log(session, provider, exc.kind, body, json.dumps(answer), 200, provider_ref=webhook_id)
    session.commit()
    return make_response(jsonify(answer), 200)


def _refuse(session, provider: str, body: bytes, exc: hooks.Rejected, webhook_id):
    response = problem(
        exc.status, "Webhook refused", exc.detail, {exc.field or "body": [exc.detail]}
    )
    _log(
        session,
        provider,
        "webhook",
        body,
        response.get_data(as_text=True),
        exc.status,
        provider_ref=webhook_id,
    )
    session.commit()
    return response
