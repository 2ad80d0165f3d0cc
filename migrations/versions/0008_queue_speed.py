"""queue speed: the calling-order index and the board's last-calls index

Call next and a patient's position read the day's waiting tickets in calling order (priority
first, then queue time, then id) from one index; the board reads the day's newest calls from
another. The calling-order index replaces ``ix_tickets_waiting_order``, whose columns it
starts with.

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-01 21:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_tickets_calling_order",
        "tickets",
        ["queue_day_id", "status", sa.desc("priority"), "queued_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_tickets_day_called_at", "tickets", ["queue_day_id", "called_at"], unique=False
    )
    op.drop_index("ix_tickets_waiting_order", table_name="tickets")


def downgrade() -> None:
    op.create_index(
        "ix_tickets_waiting_order",
        "tickets",
        ["queue_day_id", "status", "priority", "queued_at"],
        unique=False,
    )
    op.drop_index("ix_tickets_day_called_at", table_name="tickets")
    op.drop_index("ix_tickets_calling_order", table_name="tickets")
