"""Who may read the reference data's channels."""

from __future__ import annotations

from sqlalchemy.orm import Session

from web.ws.access import can, channel_rule


@channel_rule("reference")
def _reference(identity, channel: str, session: Session) -> bool:
    if channel == "reference:patients":
        return can(identity, "patients.read")
    return can(identity, "reference.read")
