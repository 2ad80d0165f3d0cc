"""queue speed: each day's waiting count, the calling-order and last-calls indexes

Each queue day keeps how many of its tickets wait (``queue_days.waiting``, filled here from
the tickets), so events and boards read one row instead of counting a long day.

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
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("queue_days", schema=None) as batch_op:
        batch_op.add_column(sa.Column("waiting", sa.Integer(), server_default="0", nullable=False))
    op.execute(
        "UPDATE queue_days SET waiting = (SELECT count(*) FROM tickets"
        " WHERE tickets.queue_day_id = queue_days.id AND tickets.status = 'waiting')"
    )
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
    with op.batch_alter_table("queue_days", schema=None) as batch_op:
        batch_op.drop_column("waiting")
