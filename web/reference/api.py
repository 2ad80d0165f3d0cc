"""Reference data: the clinic profile, departments, rooms, doctors, services and patients.

Every kind has the same six endpoints (list, create, read, partial update, deactivate,
activate); nothing is ever deleted, so history that points at an entity stays whole.
Reading needs ``reference.read`` (patients: ``patients.read``), changing ``reference.edit``
(patients: ``patients.edit``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from flask import url_for
from marshmallow import Schema

from clinic.reference import directory as reference
from clinic.reference import patients, price_list
from clinic.reference.models import ClinicProfile
from web import db
from web.api.blueprint import Blueprint
from web.api.schemas import ProblemSchema, page_of
from web.auth.audit import note_change
from web.errors import PROBLEM_TYPE
from web.permissions import requires
from web.reference import schemas

blp = Blueprint(
    "reference",
    __name__,
    url_prefix="/api/v1",
    description="Reference data: clinic, departments, rooms, doctors, services, patients",
)


def _problems(*statuses: int):
    """Document the problem-details answers of an operation."""
    descriptions = {
        404: "No such entity.",
        409: "A unique value (code, number, document) is taken, a concurrent change won, or "
        "(`room_in_use`) an active queue calls into the room, or (`department_in_use`, "
        "`doctor_in_use`) the department or the doctor has active queues (a department, "
        "also active doctors or visits booked ahead), or (`doctor_with_patients`) a doctor "
        "given another room, or another department, still has a patient called to him or "
        "with him.",
        415: "The body is not JSON.",
        422: "Invalid input; `errors` names each field.",
    }

    def decorate(view):
        for status in statuses:
            view = blp.alt_response(
                status,
                schema=ProblemSchema,
                description=descriptions[status],
                content_type=PROBLEM_TYPE,
            )(view)
        return view

    return decorate


def _clinic_today():
    return datetime.now(db.runtime().settings.tz).date()


@dataclass(frozen=True)
class Resource:
    """One kind of reference entity and the service functions that edit it."""

    singular: str
    plural: str
    read: str
    edit: str
    body: type[Schema]
    patch: type[Schema]
    out: type[Schema]
    page: type[Schema]
    query: type[Schema]
    as_dict: Callable
    list_: Callable
    get: Callable
    create: Callable
    update: Callable
    deactivate: Callable
    activate: Callable
    # Deactivating it may be refused (409): the room or the department of an active queue.
    deactivate_conflicts: bool = False
    # Activating it may be refused (409): a doctor of a department switched off.
    activate_conflicts: bool = False
    # What a create answers beyond the entity (its schema, and the extra fields' values).
    created_out: type[Schema] | None = None
    created_extra: Callable | None = None


def _state(r: Resource, entity, *, flush: bool = False) -> dict:
    """What the audit row keeps of an entity before and after a change: as the API shows it,
    read back from the database after the change (some are written by statements of their
    own), its timestamps left out."""
    if flush:
        session = db.session()
        session.flush()
        session.refresh(entity)
    return {k: v for k, v in r.as_dict(entity).items() if k not in ("created_at", "updated_at")}


def _locked(r: Resource, session, entity_id):
    """The entity as committed now, its row locked until this request commits: another
    desk's change to it, being saved at this moment, is waited for and is in what it was
    before this one (its audit row says only what this request changed)."""
    entity = r.get(session, entity_id)
    session.refresh(entity, with_for_update=True)
    return entity


def _register(r: Resource) -> None:
    """Add the six endpoints of ``r`` to the blueprint."""
    collection = f"/{r.plural}"
    item = f"/{r.plural}/<int:{r.singular}_id>"
    id_arg = f"{r.singular}_id"

    @blp.route(collection, methods=["GET"], endpoint=f"list_{r.plural}")
    @requires(r.read)
    @blp.arguments(r.query, location="query", as_kwargs=True)
    @blp.response(200, r.page)
    @_problems(422)
    @blp.doc(
        summary=f"List {r.plural}",
        description=f"One page of {r.plural}, in a stable order. `q` matches every word "
        "given, typed in Cyrillic or Latin, in any letter case.",
    )
    def list_items(page: int, page_size: int, **filters):
        items, total = r.list_(db.session(), page=page, page_size=page_size, **filters)
        return page_of([r.as_dict(i) for i in items], total=total, page=page, page_size=page_size)

    @blp.route(collection, methods=["POST"], endpoint=f"create_{r.singular}")
    @requires(r.edit)
    @blp.arguments(r.body)
    @blp.response(201, r.created_out or r.out, headers={"Location": {"schema": {"type": "string"}}})
    @_problems(409, 415, 422)
    @blp.doc(summary=f"Create a {r.singular}", description="Answers 201 with its Location.")
    def create_item(data: dict):
        session = db.session()
        entity = r.create(session, data)
        answer = r.as_dict(entity)
        if r.created_extra is not None:
            answer.update(r.created_extra(session, entity))
        session.commit()
        location = url_for(f"{blp.name}.get_{r.singular}", **{id_arg: entity.id})
        return answer, 201, {"Location": location}

    @blp.route(item, methods=["GET"], endpoint=f"get_{r.singular}")
    @requires(r.read)
    @blp.response(200, r.out)
    @_problems(404)
    @blp.doc(summary=f"One {r.singular}")
    def get_item(**ids):
        return r.as_dict(r.get(db.session(), ids[id_arg]))

    @blp.route(item, methods=["PATCH"], endpoint=f"update_{r.singular}")
    @requires(r.edit)
    @blp.arguments(r.patch)
    @blp.response(200, r.out)
    @_problems(404, 409, 415, 422)
    @blp.doc(
        summary=f"Change a {r.singular}",
        description="Only the fields sent change; sending none changes nothing.",
    )
    def update_item(data: dict, **ids):
        session = db.session()
        before = _state(r, _locked(r, session, ids[id_arg]))
        entity = r.update(session, ids[id_arg], data)
        note_change(before, _state(r, entity, flush=True))  # the audit row: was and is
        session.commit()
        return r.as_dict(entity)

    def state_endpoint(action: str, change: Callable, description: str, *problems: int):
        @blp.route(f"{item}/{action}", methods=["POST"], endpoint=f"{action}_{r.singular}")
        @requires(r.edit)
        @blp.response(200, r.out)
        @_problems(404, *problems)
        @blp.doc(summary=f"{action.capitalize()} a {r.singular}", description=description)
        def set_state(**ids):
            session = db.session()
            before = _state(r, _locked(r, session, ids[id_arg]))
            entity = change(session, ids[id_arg])
            note_change(before, _state(r, entity, flush=True))
            session.commit()
            return r.as_dict(entity)

    state_endpoint(
        "deactivate",
        r.deactivate,
        "Hidden from new choices; kept for history. Repeating it changes nothing.",
        *((409,) if r.deactivate_conflicts else ()),
    )
    state_endpoint(
        "activate",
        r.activate,
        "Offered again. Repeating it changes nothing.",
        *((409,) if r.activate_conflicts else ()),
    )


_register(
    Resource(
        "department",
        "departments",
        "reference.read",
        "reference.edit",
        schemas.DepartmentIn,
        schemas.DepartmentPatch,
        schemas.DepartmentOut,
        schemas.DepartmentPage,
        schemas.DepartmentQuery,
        reference.department_as_dict,
        reference.list_departments,
        reference.get_department,
        reference.create_department,
        reference.update_department,
        reference.deactivate_department,
        reference.activate_department,
        deactivate_conflicts=True,
    )
)
_register(
    Resource(
        "room",
        "rooms",
        "reference.read",
        "reference.edit",
        schemas.RoomIn,
        schemas.RoomPatch,
        schemas.RoomOut,
        schemas.RoomPage,
        schemas.RoomQuery,
        reference.room_as_dict,
        reference.list_rooms,
        reference.get_room,
        reference.create_room,
        reference.update_room,
        reference.deactivate_room,
        reference.activate_room,
        deactivate_conflicts=True,
    )
)
_register(
    Resource(
        "doctor",
        "doctors",
        "reference.read",
        "reference.edit",
        schemas.DoctorIn,
        schemas.DoctorPatch,
        schemas.DoctorOut,
        schemas.DoctorPage,
        schemas.DoctorQuery,
        reference.doctor_as_dict,
        reference.list_doctors,
        reference.get_doctor,
        reference.create_doctor,
        reference.update_doctor,
        reference.deactivate_doctor,
        reference.activate_doctor,
        deactivate_conflicts=True,
        activate_conflicts=True,
    )
)
_register(
    Resource(
        "service",
        "services",
        "reference.read",
        "reference.edit",
        schemas.ServiceIn,
        schemas.ServicePatch,
        schemas.ServiceOut,
        schemas.ServicePage,
        schemas.ServiceQuery,
        price_list.service_as_dict,
        price_list.list_services,
        price_list.get_service,
        price_list.create_service,
        price_list.update_service,
        price_list.deactivate_service,
        price_list.activate_service,
    )
)
_register(
    Resource(
        "patient",
        "patients",
        "patients.read",
        "patients.edit",
        schemas.PatientIn,
        schemas.PatientPatch,
        schemas.PatientOut,
        schemas.PatientPage,
        schemas.PatientQuery,
        patients.patient_as_dict,
        patients.list_patients,
        patients.get_patient,
        lambda session, data: patients.create_patient(session, data, today=_clinic_today()),
        lambda session, patient_id, data: patients.update_patient(
            session, patient_id, data, today=_clinic_today()
        ),
        patients.deactivate_patient,
        patients.activate_patient,
        created_out=schemas.PatientCreated,
        created_extra=lambda session, patient: {
            "possible_duplicates": [
                patients.patient_as_dict(p) for p in patients.possible_duplicates(session, patient)
            ]
        },
    )
)


@blp.route("/clinic", methods=["GET"], endpoint="get_clinic")
@requires("reference.read")
@blp.response(200, schemas.ClinicOut)
@_problems(404)
def get_clinic():
    """The clinic's legal details, as printed on receipts (404 until first saved)."""
    return reference.clinic_as_dict(reference.get_clinic_profile(db.session()))


@blp.route("/clinic", methods=["PUT"], endpoint="put_clinic")
@requires("reference.edit")
@blp.arguments(schemas.ClinicIn)
@blp.response(200, schemas.ClinicOut)
@_problems(409, 415, 422)
def put_clinic(data: dict):
    """Save the clinic's legal name, address, taxpayer number (STIR/INN: 9 digits, or a
    14-digit PINFL) and phone. Fields left out are saved empty."""
    session = db.session()
    saved = session.get(ClinicProfile, 1, with_for_update=True)  # (see _locked)
    before = _clinic_state(saved) if saved is not None else {}
    profile = reference.update_clinic_profile(session, data)
    note_change(before, _clinic_state(profile))  # the audit row: the details as they were
    session.commit()
    return reference.clinic_as_dict(profile)


def _clinic_state(profile) -> dict:
    return {k: v for k, v in reference.clinic_as_dict(profile).items() if k != "updated_at"}
