"""privileged priority: the stored priorities renumbered, privileged between normal and returned

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 10:40:00

Privileged patients (veterans, people with disabilities, pregnant women, a parent with a small
child) are called after the urgent ones and those who come back, before the walk-ins. A
ticket's priority is stored as a number, higher called first: normal 0, privileged 1,
returned 2, urgent 3 from this revision (returned was 1 and urgent 2 before). Nothing else
stores the number: the ticket's history and its events name the priority, and the calling
order's index orders by the column, whatever its values. Going down, a privileged ticket
becomes a normal one (the old schema knows no privilege), called by its queue time among
the walk-ins.
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# The numbers as each side of this revision stores them.
BEFORE = {"normal": 0, "returned": 1, "urgent": 2}
AFTER = {"normal": 0, "privileged": 1, "returned": 2, "urgent": 3}


def _renumber(mapping: dict[int, int]) -> None:
    """One statement, so a ticket is renumbered once whatever the order of the rows."""
    cases = " ".join(f"WHEN {old} THEN {new}" for old, new in sorted(mapping.items()))
    changed = ", ".join(str(old) for old, new in sorted(mapping.items()) if old != new)
    op.execute(
        f"UPDATE tickets SET priority = CASE priority {cases} ELSE priority END "  # nosec B608
        f"WHERE priority IN ({changed})"
    )


def upgrade() -> None:
    _renumber({BEFORE[name]: AFTER[name] for name in BEFORE})


def downgrade() -> None:
    down = {AFTER[name]: BEFORE[name] for name in BEFORE}
    down[AFTER["privileged"]] = BEFORE["normal"]
    _renumber(down)
