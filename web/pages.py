"""Server-rendered pages."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for

from .permissions import public

bp = Blueprint("pages", __name__)


@bp.get("/")
@public
def index():
    return redirect(url_for("pages.price_list"))


@bp.get("/services")
@public
def price_list():
    return "price list"
