"""Reference data's events: ``<kind>.<action>`` on ``reference:<plural>``, carrying the
entity as its API shows it (staff channels only: patients' channel needs patients.read)."""

from __future__ import annotations

from clinic.events.catalogue import EventType, NoneType, declare

OPT_INT, OPT_STR = (int, NoneType), (str, NoneType)

ENTITY = {"id": int, "active": bool, "created_at": OPT_STR, "updated_at": OPT_STR}
NAMES = {"name_ru": str, "name_uz": str, "name_en": str}
SHAPES = {
    "clinic": {
        "legal_name": str,
        "address": str,
        "taxpayer_number": str,
        "phone": str,
        "updated_at": OPT_STR,
    },
    "department": {**ENTITY, "code": str, "ticket_prefix": str, **NAMES},
    "room": {**ENTITY, "number": str, "name": str, "department_id": OPT_INT},
    "doctor": {
        **ENTITY,
        "full_name": str,
        "department_id": int,
        "room_id": OPT_INT,
        "specialty": OPT_STR,
    },
    "service": {
        **ENTITY,
        "code": str,
        **NAMES,
        "price": int,
        "duration_minutes": int,
        "ikpu_code": str,
        "package_code": str,
        "units": OPT_INT,
        "vat_percent": int,
        "department_id": OPT_INT,
    },
    "patient": {
        **ENTITY,
        "full_name": str,
        "sex": OPT_STR,
        "phone": OPT_STR,
        "email": OPT_STR,
        "document_number": OPT_STR,
        "notes": OPT_STR,
        "birth_date": OPT_STR,
    },
}
ACTIONS = ("created", "updated", "activated", "deactivated")
CHANGES = {
    (kind, action): EventType(f"{kind}.{action}", {"reference": shape})
    for kind, shape in SHAPES.items()
    for action in (("updated",) if kind == "clinic" else ACTIONS)
}

declare(*CHANGES.values())


def change_event(kind: str, action: str) -> EventType:
    """The declared event of ``action`` on a ``kind`` of reference entity."""
    return CHANGES[(kind, action)]
