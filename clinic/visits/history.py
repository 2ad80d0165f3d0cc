"""A visit's history: one row for each thing that happened to it, who did it and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from clinic.visits.models import Visit, VisitEvent


def record_history(
    session: Session,
    visit: Visit,
    action: str,
    before: str | None,
    actor: str,
    now: datetime,
    data: dict | None = None,
) -> None:
    session.add(
        VisitEvent(
            visit_id=visit.id,
            at=now,
            action=action,
            from_status=before,
            to_status=visit.status,
            actor=(actor or "")[:64],
            data=data,
        )
    )
