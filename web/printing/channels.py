"""Who may read the printing channels: a scope's print jobs under the printing access rule
(clinic/printing/access.py), the printers' states the administrators."""

from __future__ import annotations

from sqlalchemy.orm import Session

from clinic.channels import channel_key
from clinic.printing import snapshots  # noqa: F401 - registers the printing snapshots
from clinic.printing.access import may_follow
from web.auth.identity import Identity
from web.ws.access import can, channel_rule


@channel_rule("print_jobs")
def _print_jobs(identity, channel: str, session: Session) -> bool:
    return isinstance(identity, Identity) and may_follow(identity.staff, channel_key(channel))


@channel_rule("printers")
def _printers(identity, channel: str, session: Session) -> bool:
    return can(identity, "printing.manage")
