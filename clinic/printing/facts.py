"""What the cashier's documents say of the clinic, its staff and an invoice's services,
read from the database when a document is made."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.accounts.models import User
from clinic.payments.models import Invoice
from clinic.queue.models import Ticket
from clinic.reference.models import ClinicProfile, Doctor, Service
from clinic.settings import Settings
from clinic.visits.models import Visit

TIME_FORMAT = "%d.%m.%Y %H:%M"


def clinic_requisites(session: Session) -> dict:
    profile = session.get(ClinicProfile, 1)
    if profile is None:
        return {"legal_name": "", "address": "", "taxpayer_number": ""}
    return {
        "legal_name": profile.legal_name,
        "address": profile.address,
        "taxpayer_number": profile.taxpayer_number,
    }


def local_time(value, settings: Settings) -> str:
    return value.astimezone(settings.tz).strftime(TIME_FORMAT)


def doctor_of(session: Session, invoice: Invoice | None) -> str | None:
    """The doctor the invoice pays for: its appointment's, else its ticket's queue's."""
    if invoice is None:
        return None
    visit = session.get(Visit, invoice.visit_id) if invoice.visit_id else None
    if visit is not None:
        return session.get(Doctor, visit.doctor_id).full_name
    ticket = session.get(Ticket, invoice.ticket_id) if invoice.ticket_id else None
    return ticket.queue.doctor.full_name if ticket and ticket.queue.doctor else None


def staff_name(session: Session, username: str) -> str:
    """How a document names a member of staff: the full name, else the user name (a
    provider's payment keeps the provider's)."""
    user = session.scalar(select(User).where(User.username == username)) if username else None
    return (user.full_name or user.username) if user is not None else username


def titled(session: Session, lines: list[dict]) -> list[dict]:
    """The lines, each with its service's names by language (``titles``) when it came without
    them: a receipt names the service in its printer's language."""
    ids = {line.get("service_id") for line in lines if not line.get("titles")} - {None}
    found = session.scalars(select(Service).where(Service.id.in_(ids))).all() if ids else []
    names = {s.id: {"ru": s.name_ru, "uz": s.name_uz, "en": s.name_en} for s in found}
    return [
        (
            line
            if line.get("titles") or line.get("service_id") not in names
            # The line's own title (Russian) stays its Russian name, as it was copied.
            else {**line, "titles": {**names[line["service_id"]], "ru": line["title"]}}
        )
        for line in lines
    ]
