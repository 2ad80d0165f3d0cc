"""tickets: an index on transferred_from_id

A patient's page follows him to the ticket a transfer (or a return after that service)
opened from his: looked up by this index, not by reading every ticket.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 14:00:00
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_tickets_transferred_from_id", "tickets", ["transferred_from_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_transferred_from_id", table_name="tickets")
