"""Who may read the calendars' channels: staff with ``visits.read``; a doctor, his own."""

from __future__ import annotations

from sqlalchemy.orm import Session

from clinic.channels import int_key
from web.ws.access import can, channel_rule


def _own_only(identity) -> bool:
    return identity.doctor_id is not None and not identity.can("visits.book")


@channel_rule("visits_doctor")
def _doctor_calendar(identity, channel: str, session: Session) -> bool:
    if not can(identity, "visits.read") or int_key(channel) is None:
        return False
    return not _own_only(identity) or int_key(channel) == identity.doctor_id


@channel_rule("visits_department")
def _department_calendar(identity, channel: str, session: Session) -> bool:
    return can(identity, "visits.read") and int_key(channel) is not None and not _own_only(identity)
