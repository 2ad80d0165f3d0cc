"""Every state-changing request leaves exactly one audit row, in the transaction of the change.

Two listeners watch the request's database session: one notes which rows the request
creates or changes, and one adds the audit row just before the commit, so the change and
its record commit together, with the status the request answers once its change is in: the
endpoint's declared success status (flask-smorest's ``@blp.response``), or the one the view
names with :func:`answer_status` when it has several (201 or 200, 200 or 204); a page's form
that changed something redirects (302). The row is append-only, so the status is known
before the commit, not read from the response. A request that changes nothing (refused,
invalid) is recorded after the response, with its status.
"""

from __future__ import annotations

import logging
import re
import uuid
from functools import lru_cache

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from clinic.accounts import audit
from clinic.accounts.models import AuditEntry
from clinic.base import Base
from clinic.db import written
from clinic.events.models import EventChannel, OutboxEvent
from clinic.jobs.models import JobFile
from web.auth.identity import current_identity
from web.db import session
from web.gunicorn_conf import redact_secrets
from web.permissions import view_attribute

log = logging.getLogger(__name__)

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Rows written as a side effect of any change; never "the object" of a request.
INFRASTRUCTURE = (AuditEntry, OutboxEvent, EventChannel, JobFile)
# Rows that are part of another object (a user's roles, a ticket's or a visit's history): a
# request writing one changed that object, by the table and the column naming it.
PART_OF = {
    "user_roles": ("users", "user_id"),
    "ticket_events": ("tickets", "ticket_id"),
    "visit_events": ("visits", "visit_id"),
}


def request_id() -> str:
    found = g.get("request_id")  # asked several times a request: one look-up each
    if found is None:
        given = request.headers.get("X-Request-ID", "")
        found = g.request_id = given if REQUEST_ID_RE.match(given) else uuid.uuid4().hex
    return found


def mark_audited() -> None:
    """The view wrote its own audit row (sign-in does): the generic one is not needed."""
    g.audit_written = True


def answer_status(status: int) -> None:
    """The success status this request will answer, for a view with more than one (call it
    before committing the change)."""
    g.audit_status = status


def _committed_status() -> int | None:
    if g.get("audit_status"):
        return g.audit_status
    apidoc = view_attribute(current_app, request.endpoint, "_apidoc") or {}
    declared = apidoc.get("success_status_codes") or []
    if declared:
        return int(declared[0])
    # A page's form posts, changes and redirects to a page (post/redirect/get).
    return None if request.path.startswith("/api/") else 302


def note_change(before: dict, after: dict) -> None:
    """The changed object's values before and after this request's change (call it before
    committing): its audit row keeps those that differ, under ``summary.changes``, so a
    reader sees what the object was, not only what the request sent."""
    changes = audit.changes_between(before, after)
    if changes:
        g.audit_changes = changes
    else:
        g.pop("audit_changes", None)


def names_object(kind: str, key) -> None:
    """The object this request is about, named by the view before it may refuse: a refusal
    changes no row, and its audit row should still name the user or token it was about (as
    the row of a change does), not the page's blueprint."""
    g.audit_object = (kind, str(key))


AUDIT_OBJECT_ATTRIBUTE = "_clinic_audit_object"


def audit_object(kind: str, argument: str | None = None):
    """Declare what an endpoint's requests are about: the table, and the address's argument
    holding the row's id (none for a form that makes a new one). A request refused before
    its view runs (no permission, a bad CSRF token) is audited under that object all the
    same, where :func:`names_object`, called by the view, would come too late."""

    def decorate(view):
        setattr(view, AUDIT_OBJECT_ATTRIBUTE, (kind, argument))
        return view

    return decorate


def _nul_free(text: str) -> str:
    return text.replace("\x00", "\ufffd")


def refused(code: str, detail: str) -> None:
    """A page's form refused what it was asked and answers with a redirect all the same
    (post/redirect/get): its audit row says why, since its status cannot."""
    g.audit_refused = {"code": code, "detail": detail[:200]}


def _summary() -> dict:
    summary = {"method": request.method, "path": redact_secrets(request.path)[:200]}
    if g.get("token_id"):
        # Its owner is the actor; which of his tokens acted tells a leaked token's doings
        # from his own (the id, never the token).
        summary["token_id"] = g.token_id
    if g.get("audit_refused"):
        summary["refused"] = g.audit_refused
    if g.get("audit_changes"):
        summary["changes"] = g.audit_changes
    try:
        if request.is_json:
            body = request.get_json(silent=True)
            summary["data"] = body if isinstance(body, dict) else {"body": body}
        else:
            # Storable text only: a form of an endpoint that answers bad input in its own
            # protocol (web.auth.own_protocol) may carry a NUL character (a form decodes
            # with replacement, so it carries no lone surrogate).
            # Every value of a repeated field (the roles ticked on a form), one as itself.
            data = {
                _nul_free(k): [_nul_free(v) for v in vs] if len(vs) > 1 else _nul_free(vs[0])
                for k, vs in request.form.lists()
            }
            if request.files:
                data["files"] = [f.filename for f in request.files.values()]
            summary["data"] = data
    except HTTPException as exc:  # a body too large or malformed to read: say so
        summary["data"] = {"unreadable": exc.name}
    return summary


def _names_table(argument: str, table: str) -> bool:
    """Whether an address's argument names a row of ``table``: ``ticket_id`` a ticket,
    ``token_id`` an API token (``api_tokens``), ``screen_id`` a board's screen."""
    plural = argument.removesuffix("_id") + "s"
    return argument.endswith("_id") and (table == plural or table.endswith("_" + plural))


def _addressed(touched: list) -> tuple[str, str] | None:
    """The row the request's address names, when the request changed it: finishing ticket 2
    is about ticket 2, though the return it sends the patient on writes a new ticket first
    (a ticket's or a user's own history row stands for it, as in :data:`PART_OF`)."""
    args = request.view_args or {}
    declared = view_attribute(current_app, request.endpoint, AUDIT_OBJECT_ATTRIBUTE)
    if declared is not None and declared[1] in args:
        kind, argument = declared
        named = (kind, str(args[argument]))
        return named if named in touched else None
    for argument, value in reversed(args.items()):  # the innermost names the object
        for kind, key in touched:
            if key == str(value) and _names_table(argument, kind):
                return kind, key
    return None


def _object_of(touched: list) -> tuple[str, str]:
    addressed = _addressed(touched)
    if addressed is not None:
        return addressed
    # Else the first row written: the ticket a queue's call-next called, the user a form made.
    for kind, key in touched:
        return kind, key
    if g.get("audit_object"):
        return g.audit_object
    args = request.view_args or {}
    declared = view_attribute(current_app, request.endpoint, AUDIT_OBJECT_ATTRIBUTE)
    if declared is not None:
        kind, argument = declared
        return kind, (str(args.get(argument, "")) if argument else "")
    for name, value in args.items():
        if name != "token":  # a secret in the address (an unsubscribe link) is no object id
            # A refused change wrote nothing: the table its argument names (``invoice_id``:
            # invoices), not its blueprint's name, which may be another table's ("payments").
            return (_table_named_by(name) or request.blueprint or ""), str(value)
    return (request.blueprint or ""), ""


@lru_cache(maxsize=None)
def _table_named_by(argument: str) -> str | None:
    """The one table an address's argument names (``invoice_id``: invoices), or None."""
    found = [table for table in Base.metadata.tables if _names_table(argument, table)]
    return found[0] if len(found) == 1 else None


def _write(db: Session, *, status: int | None, touched: list) -> None:
    identity = current_identity()
    object_type, object_id = _object_of(touched)
    audit.record(
        db,
        actor=identity.actor if identity else None,
        # No endpoint (a 404, a 405): the path is the action, masked as the summary's is.
        action=request.endpoint or redact_secrets(request.path)[:100],
        object_type=object_type,
        object_id=object_id,
        summary=_summary(),
        status=status,
        ip=request.remote_addr or "",
        user_agent=request.headers.get("User-Agent", ""),
        request_id=request_id(),
        with_commit=True,
    )
    g.audit_written = True


# In a request's session (unsafe requests only): the rows it has created or changed so far.
TOUCHED_KEY = "clinic.audit_touched"


def watch_session(db: Session) -> None:
    """Have the audit listeners watch the request's session (unsafe requests only)."""
    if request.method in UNSAFE:
        db.info[TOUCHED_KEY] = []


# Listening on every session and acting on the watched ones: a listener attached to each
# request's session would cost more to attach than the request spends in it.
@event.listens_for(Session, "after_flush")
def _note(session: Session, _context) -> None:
    touched = session.info.get(TOUCHED_KEY)
    if touched is None:
        return
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, INFRASTRUCTURE):
            continue
        entry = _entry_of(obj)
        if entry is not None and entry not in touched:
            touched.append(entry)


def _entry_of(obj) -> tuple[str, str] | None:
    table = obj.__table__.name
    if table in PART_OF:
        whole, column = PART_OF[table]
        owner = getattr(obj, column, None)
        return (whole, str(owner)) if owner is not None else None
    key = inspect(obj).mapper.primary_key_from_instance(obj)
    if key and all(part is not None for part in key):
        return table, ":".join(str(part) for part in key)
    return None


# Set while the audit row written before a commit is not committed yet.
UNCOMMITTED_KEY = "clinic.audit_uncommitted"


@event.listens_for(Session, "before_commit")
def _record(session: Session) -> None:
    touched = session.info.get(TOUCHED_KEY)
    if touched is None or g.get("audit_written"):
        return
    if session.in_nested_transaction():
        # A savepoint released (a change written inside one, so that a refusal at the flush
        # leaves the transaction usable) commits nothing yet: the row waits for the commit,
        # and so has everything the request changed and noted by then.
        return
    named = [entry for entry in written(session) if entry not in touched]
    _write(session, status=_committed_status(), touched=named + touched)
    session.info[UNCOMMITTED_KEY] = True


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(UNCOMMITTED_KEY, None)


@event.listens_for(Session, "after_rollback")
def _undone(session: Session) -> None:
    # The commit failed (a refusal decided by the server at the COMMIT): its audit row went
    # with it, so the request's answer is recorded after the response, as a refusal is.
    if session.info.pop(UNCOMMITTED_KEY, False) and has_request_context():
        g.pop("audit_written", None)


def init_app(app: Flask) -> None:
    app.extensions.setdefault("clinic.session_hooks", []).append(watch_session)

    @app.before_request
    def _assign_request_id():
        request_id()

    @app.after_request
    def _record_unchanged(response):
        response.headers["X-Request-ID"] = request_id()
        if request.method in UNSAFE and not g.get("audit_written"):
            # Nothing was committed: record the attempt and its answer on its own.
            db = session()
            try:
                db.rollback()
                _write(db, status=response.status_code, touched=[])
                db.commit()
            except Exception:  # never turn the answer into a 500; the log says what was lost
                db.rollback()
                log.exception("could not write the audit row of request %s", request_id())
        return response
