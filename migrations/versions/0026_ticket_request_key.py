"""ticket request keys: the kiosk's or the joining phone's idempotency key, unique

A touch at the kiosk or a join from a phone whose answer the network lost is sent again with
the same key, and answered with the ticket the first made instead of a second one. Tickets
issued before have no key.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 05:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def _calling_order_index() -> None:
    """SQLite's batch mode rebuilds the table with its indexes, and the calling order's (0008)
    comes back without the DESC of its priority: call next would sort the day's waiting
    tickets on every call. Made again as it was."""
    if op.get_bind().dialect.name != "sqlite":
        return
    op.drop_index("ix_tickets_calling_order", table_name="tickets")
    op.create_index(
        "ix_tickets_calling_order",
        "tickets",
        ["queue_day_id", "status", sa.desc("priority"), "queued_at", "id"],
        unique=False,
    )


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_key", sa.String(length=180), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_tickets_request_key"), ["request_key"])
    _calling_order_index()


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_tickets_request_key"), type_="unique")
        batch_op.drop_column("request_key")
    _calling_order_index()
