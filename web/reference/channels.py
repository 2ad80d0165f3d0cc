"""Who may read the reference data's channels."""

from __future__ import annotations

from sqlalchemy.orm import Session

from clinic.reference.directory import CLINIC, DEPARTMENT, DOCTOR, ROOM
from clinic.reference.patients import PATIENT
from clinic.reference.price_list import SERVICE
from web.ws.access import can, channel_rule

# The channels the reference data's events go to: a screen following another name
# (``reference:service``) would hear of no change.
CHANNELS = {kind.channel for kind in (CLINIC, DEPARTMENT, ROOM, DOCTOR, SERVICE, PATIENT)}


@channel_rule("reference")
def _reference(identity, channel: str, session: Session) -> bool:
    if channel not in CHANNELS:
        return False
    if channel == PATIENT.channel:
        return can(identity, "patients.read")
    return can(identity, "reference.read")
