"""The services a doctor offers, as the clinic's administration sets them.

A doctor with a list (``doctor_services``) offers what it names; a doctor with none offers
his department's services and those of no department (``clinic.visits.slots``). Setting the
list replaces it whole; an empty list goes back to the department's. Free slots, bookings
and moves read the list as it is at that moment; a visit already booked keeps its services.
"""

from __future__ import annotations

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from clinic.errors import ValidationFailed
from clinic.reference.models import Service
from clinic.visits import doctors
from clinic.visits.models import DoctorService

MAX_SERVICES = 500


def offered(session: Session, doctor_id: int) -> dict:
    """``{doctor_id, listed, service_ids}``: ``listed`` tells whether the doctor has a list of
    his own; without one, ``service_ids`` are the active services he offers by department."""
    doctor = doctors.get_doctor(session, doctor_id)
    listed = list(
        session.scalars(
            select(DoctorService.service_id)
            .where(DoctorService.doctor_id == doctor.id)
            .order_by(DoctorService.service_id)
        )
    )
    if listed:
        return {"doctor_id": doctor.id, "listed": True, "service_ids": listed}
    by_department = session.scalars(
        select(Service.id)
        .where(
            Service.active.is_(True),
            or_(Service.department_id.is_(None), Service.department_id == doctor.department_id),
        )
        .order_by(Service.id)
    )
    return {"doctor_id": doctor.id, "listed": False, "service_ids": list(by_department)}


def set_offered(session: Session, doctor_id: int, service_ids: list[int]) -> dict:
    """Replace the doctor's list with ``service_ids`` (each an active service, once); an
    empty list removes it. His calendars hear it (``schedule.changed``, ``what``:
    ``services``): the free slots they offer for a service may have changed."""
    doctor = doctors.get_doctor(session, doctor_id)
    # Bookings of him under way finish first, and those after read the new list.
    doctors.lock_for_change(session, doctor.id)
    wanted = list(dict.fromkeys(service_ids))
    if len(wanted) != len(service_ids):
        raise ValidationFailed(
            "a service is named twice", errors={"service_ids": ["each service once"]}
        )
    active = set(
        session.scalars(select(Service.id).where(Service.id.in_(wanted), Service.active.is_(True)))
    )
    unknown = [i for i in wanted if i not in active]
    if unknown:
        names = ", ".join(str(i) for i in unknown)
        raise ValidationFailed(
            f"no active service {names}", errors={"service_ids": [f"no active service {names}"]}
        )
    session.execute(delete(DoctorService).where(DoctorService.doctor_id == doctor.id))
    session.add_all(DoctorService(doctor_id=doctor.id, service_id=i) for i in wanted)
    session.flush()
    doctors.announce_change(session, doctor, "services")
    return offered(session, doctor.id)
