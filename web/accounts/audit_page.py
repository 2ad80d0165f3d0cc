"""The audit log's page (``/admin/audit``, audit.read): its filter, pages and CSV link. On
the administrator's pages' blueprint."""

from __future__ import annotations

import json
from datetime import datetime, time

from flask import abort, render_template, request, url_for
from flask_babel import gettext as _

from clinic.accounts import audit
from web import db
from web.accounts.pages import _int_or_none, bp
from web.auth.identity import current_identity
from web.permissions import requires

AUDIT_PAGE_SIZE = 100
AUDIT_MAX_PAGE = 100_000
# The filters typed as text (its days, since and until, are read as days).
AUDIT_TEXT_FILTERS = ("username", "action", "object_type", "object_id")


def _day(value: str | None, *, end: bool = False) -> datetime | None:
    """A date typed in the filter, as the start (or end) of that day in clinic time; none
    when the field is left empty. A day that does not exist (2026-02-30) is refused rather
    than dropped, which would show every day as if the filter were not there."""
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        abort(
            400,
            description=_("No such day: %(day)s. A day is written as YYYY-MM-DD.", day=value),
        )
    tz = db.runtime().settings.tz
    return datetime.combine(day, time.max if end else time.min, tzinfo=tz)


def _as_json(value) -> str:
    """A row's summary as its reader sees it on the page: what was sent, what changed and
    why a refusal was refused (masked as in the API for a reader who may not read patients)."""
    return json.dumps(value, ensure_ascii=False, indent=1)


@bp.get("/admin/audit")
@requires("audit.read")
def audit_page():
    args = request.args
    # The offset is bounded, and a page past the last is read as the last (below).
    page = min(_int_or_none(args.get("page")) or 1, AUDIT_MAX_PAGE)
    since, until = _day(args.get("since")), _day(args.get("until"), end=True)
    if since is not None and until is not None and until < since:
        # As the API refuses it: an empty page would read as "nothing happened", and its CSV
        # link would answer the API's refusal.
        abort(
            400,
            description=_(
                "The day in “%(until)s” is before the day in “%(since)s”: the period ends "
                "before it starts.",
                until=_("To"),
                since=_("From"),
            ),
        )
    f = audit.AuditFilter(
        username=(args.get("username") or None),
        action=(args.get("action") or None),
        object_type=(args.get("object_type") or None),
        object_id=(args.get("object_id") or None),
        since=since,
        until=until,
    )
    session = db.session()
    rows, total = audit.search(session, f, page=page, page_size=AUDIT_PAGE_SIZE)
    pages = max(1, -(-total // AUDIT_PAGE_SIZE))
    if page > pages:
        # Past the last page (a link kept while the filter matched more, a number typed in):
        # the last page, labelled as such, rather than an empty one under a count of entries.
        page = pages
        rows, total = audit.search(session, f, page=page, page_size=AUDIT_PAGE_SIZE)
        pages = max(1, -(-total // AUDIT_PAGE_SIZE))
    # The filter as typed, its days written YYYY-MM-DD: the CSV link exports what the page
    # shows, the export reading the days in clinic time as the page does (a moment written
    # out would carry that day's offset of the zone, such as Tashkent's +04:37:11 before
    # 1924, which no instant is written with).
    typed = {k: v for k, v in args.items() if k in AUDIT_TEXT_FILTERS and v}
    typed.update(
        {k: v.date().isoformat() for k, v in (("since", f.since), ("until", f.until)) if v}
    )
    tz = db.runtime().settings.tz
    personal = audit.reads_personal_data(current_identity())
    return render_template(
        "admin/audit.html",
        # The other pages of the same filter.
        prev_url=url_for("admin.audit_page", **typed, page=page - 1) if page > 1 else None,
        next_url=url_for("admin.audit_page", **typed, page=page + 1) if page < pages else None,
        # Read by the clinic's staff: the clinic's wall-clock time, the zone named on the page.
        entries=[
            {
                **audit.entry_as_dict(r, personal=personal),
                "at_clinic": f"{r.at.astimezone(tz):%Y-%m-%d %H:%M:%S}",
            }
            for r in rows
        ],
        as_json=_as_json,
        zone=tz.key,
        total=total,
        page=page,
        pages=pages,
        filters=args,
        csv_url=url_for("audit.export_entries", **typed),
    )
