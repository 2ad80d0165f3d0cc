"""Server-rendered pages, and the navigation every page shows."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app, g, redirect, request, url_for

from clinic.queue import boards as queue_boards
from web import db, permissions
from web.permissions import PUBLIC, declared_permission, public

bp = Blueprint("pages", __name__)


@dataclass(frozen=True)
class NavLink:
    endpoint: str
    label: object  # a lazy translation, rendered in the page's language
    # False: a page one goes to when called for (a manager's refunds at a cashier's desk),
    # never where one's day starts.
    starts_the_day: bool = True


NAVIGATION_KEY = "clinic.navigation"


def add_navigation(app, *links: NavLink) -> None:
    """Add a module's pages to the layout's navigation, in module order. The first link a
    person may open is also where the start page sends them."""
    app.extensions.setdefault(NAVIGATION_KEY, []).extend(links)


def navigation_links() -> list[NavLink]:
    return [
        link
        for link in current_app.extensions.get(NAVIGATION_KEY, [])
        if link.endpoint in current_app.view_functions and may_open(link.endpoint)
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
            for link in navigation_links()
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
        # A board switched off shows nothing: the first one working (boards are never
        # deleted, only switched off).
        boards = [b for b in queue_boards.list_boards(db.session()) if b.active]
        if boards:
            return redirect(url_for("queue_pages.board", board_id=boards[0].id))
    for link in navigation_links():
        if link.starts_the_day:
            return redirect(url_for(link.endpoint))
    return redirect(url_for("auth.password_page"))
