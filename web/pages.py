"""Server-rendered pages, and the navigation every page shows."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from clinic.services import queue_admin
from clinic.services.catalogue import catalogue_page

from . import db, permissions
from .i18n import current_language
from .permissions import PUBLIC, declared_permission, public, requires

bp = Blueprint("pages", __name__)

PRICE_LIST_PAGE_SIZE = 500
IMPORT_URL = "/api/v1/services/import"
IMPORT_PERMISSION = "reference.import"


@dataclass(frozen=True)
class NavLink:
    endpoint: str
    label: object  # a lazy translation, rendered in the page's language


# The layout's navigation, in order. A module with pages adds its link here; links whose
# endpoint is not registered in the running app are left out.
NAVIGATION: list[NavLink] = [
    NavLink("pages.price_list", _l("Price list")),
    NavLink("queue_pages.desk", _l("Reception desk")),
    NavLink("queue_pages.doctor", _l("Doctor's screen")),
    NavLink("queue_pages.kiosk", _l("Kiosk")),
    NavLink("admin.users_page", _l("Users")),
    NavLink("admin.all_tokens_page", _l("All tokens")),
    NavLink("admin.my_tokens_page", _l("My tokens")),
    NavLink("admin.audit_page", _l("Audit log")),
]


def allowed(permission: str | None) -> bool:
    """Whether whoever is asking holds ``permission``, for showing links and forms.

    Without sign-in installed everything is open; with it, the signed-in identity must hold
    the permission. Only what is shown depends on this: every endpoint checks again.
    """
    if permission == PUBLIC:
        return True
    identity = g.get("identity")
    if identity is None:
        return "clinic.policy" not in current_app.extensions
    if permission == getattr(permissions, "SIGNED_IN", None):
        return True
    return permission is not None and identity.can(permission)


def may_open(endpoint: str) -> bool:
    """Whether the navigation offers ``endpoint`` to whoever is asking."""
    return allowed(declared_permission(current_app, endpoint))


def _url_if_registered(endpoint: str) -> str | None:
    return url_for(endpoint) if endpoint in current_app.view_functions else None


@bp.app_context_processor
def _layout_context():
    def navigation() -> list[dict]:
        return [
            {
                "url": url_for(link.endpoint),
                "label": link.label,
                "current": request.endpoint == link.endpoint,
            }
            for link in NAVIGATION
            if link.endpoint in current_app.view_functions and may_open(link.endpoint)
        ]

    def account() -> dict | None:
        """The signed-in person for the top bar, or None."""
        identity = g.get("identity")
        if identity is None:
            return None
        return {
            "name": getattr(identity, "full_name", "") or getattr(identity, "username", ""),
            "logout_url": _url_if_registered("auth.logout"),
            "password_url": _url_if_registered("auth.password_page"),
        }

    return {"navigation": navigation, "account": account, "allowed": allowed}


@bp.get("/")
@public
def index():
    """Each person starts on the first page their role opens; a display on its board."""
    identity = g.get("identity")
    if identity is None:
        return redirect(url_for("auth.login_page"))
    if identity.can("board.view") and not identity.can("queue.read"):
        boards = queue_admin.list_boards(db.session())
        if boards:
            return redirect(url_for("queue_pages.board", board_id=boards[0].id))
    for link in NAVIGATION:
        if link.endpoint in current_app.view_functions and may_open(link.endpoint):
            return redirect(url_for(link.endpoint))
    return redirect(url_for("auth.password_page"))


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) <= 100_000 else 1


def _catalogue():
    page = _page_number()
    return catalogue_page(
        db.session(),
        language=current_language(),
        offset=(page - 1) * PRICE_LIST_PAGE_SIZE,
        limit=PRICE_LIST_PAGE_SIZE,
    )


@bp.get("/services")
@requires("reference.read")
def price_list():
    """The price list with the import form and its live progress."""
    return render_template(
        "price_list.html",
        catalogue=_catalogue(),
        page=_page_number(),
        import_url=IMPORT_URL,
        may_import=allowed(IMPORT_PERMISSION),
    )


@bp.get("/services/table")
@requires("reference.read")
def price_list_table():
    """Only the price list's table: the page swaps it in after an import, without a reload."""
    return render_template("_price_table.html", catalogue=_catalogue(), page=_page_number())
