"""The audit rows of a price-list import: one for each object a batch creates or changes,
written together in the batch's transaction (so a batch redone after a crash writes them
once), each in the shape of the row of the same change made through the API.

A row names the user who uploaded the file as its actor, the import's job
(``summary.job_id``), the sheet and row of the file, and what the object was before and is
after (``summary.changes``: each field that changed, ``before`` null for an object the
import created), its fields as the API shows them. Its action is
``imports.price_list.<create|update>_<kind>`` (``reference.update_service`` is the API's),
and it has no HTTP status, address or request id: no request made it.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic.accounts import audit
from clinic.accounts.models import User

ACTION = "imports.price_list"
# The fields an audit row leaves out of an object's state, as the API's rows do.
TIMESTAMPS = ("created_at", "updated_at")


def uploader(session: Session, username: str | None) -> audit.Actor | None:
    """The actor of an import's rows: the user who uploaded its file, with his roles."""
    if not username:
        return None
    user = session.scalar(select(User).where(User.username == username))
    if user is None:  # (a user is never deleted; kept by name all the same)
        return audit.Actor(None, username)
    return audit.Actor(user.id, user.username, tuple(user.roles))


def state(as_dict: dict) -> dict:
    """An object's state as an audit row keeps it (its API form, timestamps left out)."""
    return {k: v for k, v in as_dict.items() if k not in TIMESTAMPS}


class Trail:
    """The audit rows of one batch, noted as its rows are imported."""

    def __init__(self, actor: audit.Actor | None, job_id: str) -> None:
        self.actor, self.job_id = actor, job_id
        self.rows: list[dict] = []
        self.where: tuple[str, int] | None = None

    def at(self, sheet: str, number: int) -> None:
        """The row of the file the changes noted next come from."""
        self.where = (sheet, number)

    def note(self, kind: str, table: str, before: dict | None, after: dict) -> bool:
        """An object of ``kind`` ("service") in ``table`` created (``before`` None) or
        changed, each state as the API shows it; whether it was (nothing is noted for an
        object left as it was: its timestamps are not a change)."""
        after = state(after)
        if before is None:
            changes = {field: {"before": None, "after": v} for field, v in after.items()}
        else:
            changes = audit.changes_between(state(before), after)
        if not changes:
            return False
        summary: dict = {"job_id": self.job_id}
        if self.where is not None:
            summary["sheet"], summary["row"] = self.where
        summary["changes"] = changes
        verb = "create" if before is None else "update"
        self.rows.append(
            dict(
                actor=self.actor,
                action=f"{ACTION}.{verb}_{kind}",
                object_type=table,
                object_id=str(after["id"]),
                summary=summary,
            )
        )
        return True

    @contextmanager
    def row(self, sheet: str, number: int) -> Iterator[None]:
        """The changes noted within come from this row of the file; an exception (the row's
        savepoint rolled back) forgets them."""
        self.at(sheet, number)
        noted = len(self.rows)
        try:
            yield
        except BaseException:
            del self.rows[noted:]
            raise

    def write(self, session: Session) -> None:
        """Write the batch's rows (one statement; none when the batch changed nothing)."""
        audit.record_many(session, self.rows)
        self.rows = []
