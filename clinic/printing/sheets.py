"""The documents printed on office paper (A4 or A5 PDFs): the invoice and the visit slip."""

from __future__ import annotations

from sqlalchemy.orm import Session

from clinic.payments.invoices import get_invoice, payments_of
from clinic.payments.views import line_as_dict, payment_as_dict
from clinic.printing import documents, pdfs
from clinic.printing.facts import clinic_requisites, local_time
from clinic.printing.intake import receipt_data
from clinic.reference.models import Department, Doctor, Patient, Room
from clinic.settings import Settings
from clinic.visits.visits import get_visit

LANGUAGES = ("ru", "uz")


def invoice_pdf(session: Session, settings: Settings, invoice_id: int, page: str) -> bytes:
    """The invoice with its lines, codes, VAT and totals, paid or not, and what became of it:
    cancelled, given back, or what remains due."""
    invoice = get_invoice(session, invoice_id)
    data = {
        "invoice_id": invoice.id,
        "number": invoice.number or str(invoice.id),
        "discount": invoice.discount,
        "total": invoice.total,
        "paid_amount": invoice.paid_amount,
        "lines": [line_as_dict(line) for line in invoice.lines],
        "payments": [payment_as_dict(p) for p in payments_of(session, invoice.id)],
        "requested_by": invoice.paid_by or "",
    }
    values = {
        **receipt_data(session, settings, data),
        "status": invoice.status,
        "refunded_amount": invoice.refunded_amount,
    }
    if invoice.paid_at is None:
        # Dated when it was made: the same invoice printed twice says the same.
        values["paid_at"] = local_time(invoice.created_at, settings)
    return pdfs.render(documents.invoice(values, LANGUAGES), page)


def visit_slip_pdf(session: Session, settings: Settings, visit_id: int, page: str) -> bytes:
    """The visit slip: patient, doctor, department, room and time of the visit."""
    visit = get_visit(session, visit_id)
    department = session.get(Department, visit.department_id)
    room = session.get(Room, visit.room_id) if visit.room_id else None
    values = {
        "clinic": clinic_requisites(session),
        "number": str(visit.id),
        "patient": session.get(Patient, visit.patient_id).full_name,
        "doctor": session.get(Doctor, visit.doctor_id).full_name,
        "department": " / ".join(getattr(department, f"name_{language}") for language in LANGUAGES),
        "room": room.number if room else None,
        "starts_at": local_time(visit.starts_at, settings),
    }
    return pdfs.render(documents.visit_slip(values, LANGUAGES), page)
