"""The price list page and its import form."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from clinic.reference.catalogue import catalogue_page
from clinic.text import whole_number
from web import db
from web.i18n import current_language
from web.pages import allowed
from web.permissions import requires

bp = Blueprint("reference_pages", __name__)

PRICE_LIST_PAGE_SIZE = 500
IMPORT_URL = "/api/v1/services/import"
IMPORT_PERMISSION = "reference.import"


def _page_number() -> int:
    raw = request.args.get("page", "1")
    page = whole_number(raw, most_digits=6)
    return page if page and page <= 100_000 else 1


def _query() -> str:
    return request.args.get("q", "").strip()[:100]


def _catalogue():
    page = _page_number()
    return catalogue_page(
        db.session(),
        language=current_language(),
        offset=(page - 1) * PRICE_LIST_PAGE_SIZE,
        limit=PRICE_LIST_PAGE_SIZE,
        q=_query(),
    )


@bp.get("/services")
@requires("reference.read")
def price_list():
    """The price list with the import form and its live progress."""
    return render_template(
        "price_list.html",
        catalogue=_catalogue(),
        page=_page_number(),
        q=_query(),
        import_url=IMPORT_URL,
        may_import=allowed(IMPORT_PERMISSION),
    )


@bp.get("/services/table")
@requires("reference.read")
def price_list_table():
    """Only the price list's table: the page swaps it in after an import, without a reload."""
    return render_template(
        "_price_table.html", catalogue=_catalogue(), page=_page_number(), q=_query()
    )
