"""Reading the price list for display: one page of services, named in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clinic.reference.editing import filter_by_text
from clinic.reference.models import Service
from clinic.reference.price_list import IKPU_RE
from clinic.settings import LANGUAGES


@dataclass(frozen=True)
class CatalogueEntry:
    id: int
    code: str
    name: str
    price: int  # tiyin
    duration_minutes: int
    active: bool
    # Both fiscal codes set: without them Payme prints no fiscal receipt of an invoice
    # naming the service (clinic.payments.fiscal leaves the detail out).
    fiscal_codes: bool


@dataclass(frozen=True)
class CataloguePage:
    entries: list[CatalogueEntry]
    total: int
    offset: int
    limit: int


def _name_column(language: str):
    return {"ru": Service.name_ru, "uz": Service.name_uz, "en": Service.name_en}[language]


def catalogue_page(
    session: Session, *, language: str, offset: int = 0, limit: int = 500, q: str | None = None
) -> CataloguePage:
    """Services ordered active first, then by their name in ``language`` (then code), with
    the total count, so a page can say how many there are beyond the ones it shows. ``q``:
    only services whose code or a name holds every word, in either script."""
    if language not in LANGUAGES:
        raise ValueError(f"not an interface language: {language!r}")
    name = _name_column(language)
    rows = session.execute(
        filter_by_text(
            select(
                Service.id,
                Service.code,
                name,
                Service.price,
                Service.duration_minutes,
                Service.active,
                Service.ikpu_code,
                Service.package_code,
            ),
            Service.search_text,
            q,
        )
        .order_by(Service.active.desc(), func.lower(name), Service.code)
        .offset(max(offset, 0))
        .limit(max(limit, 1))
    ).all()
    total = session.scalar(filter_by_text(select(func.count(Service.id)), Service.search_text, q))
    total = total or 0
    entries = [
        CatalogueEntry(*row[:6], fiscal_codes=bool(IKPU_RE.match(row[6]) and row[7]))
        for row in rows
    ]
    return CataloguePage(entries=entries, total=total, offset=max(offset, 0), limit=limit)
